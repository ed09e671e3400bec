/**
 * A loopback npm registry that knows exactly the package versions of a package-lock.json, for installing the
 * packed tarball without the network. npm's cache (filled by `npm ci`) holds the tarballs but not the registry's
 * metadata (packuments), which `npm install <tarball>`, `npx -y <tarball>` and `npm install -D typescript` need to
 * resolve version ranges. This server answers those metadata requests from the lockfile; the tarballs then come
 * from the cache by integrity. A tarball request reaching it means a cache miss: it answers 404 and records it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

interface LockEntry {
  name?: string;
  version?: string;
  integrity?: string;
  link?: boolean;
  license?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, unknown>;
  bin?: Record<string, string>;
  engines?: Record<string, string>;
  os?: string[];
  cpu?: string[];
  libc?: string[];
  hasInstallScript?: boolean;
}

export interface LockfileRegistry {
  url: string;
  /** Requests it could not answer (a tarball not in the cache, a package not in the lockfile). */
  misses: string[];
  close(): Promise<void>;
}

const MANIFEST_FIELDS = [
  'license', 'dependencies', 'optionalDependencies', 'peerDependencies', 'peerDependenciesMeta', 'bin', 'engines',
  'os', 'cpu', 'libc', 'hasInstallScript',
] as const;

/** Packuments (abbreviated metadata documents) of every registry package in the lockfile, by name. */
export function packumentsFromLock(lock: { packages: Record<string, LockEntry> }, url: string): Map<string, unknown> {
  const byName = new Map<string, Map<string, Record<string, unknown>>>();
  for (const [path, e] of Object.entries(lock.packages)) {
    const at = path.lastIndexOf('node_modules/');
    if (at < 0 || e.link || !e.version || !e.integrity) continue;
    const name = e.name ?? path.slice(at + 'node_modules/'.length);
    const manifest: Record<string, unknown> = { name, version: e.version };
    for (const f of MANIFEST_FIELDS) if (e[f] !== undefined) manifest[f] = e[f];
    manifest.dist = { integrity: e.integrity, tarball: `${url}/${name}/-/${name.split('/').pop()}-${e.version}.tgz` };
    if (!byName.has(name)) byName.set(name, new Map());
    byName.get(name)!.set(e.version, manifest);
  }
  const out = new Map<string, unknown>();
  for (const [name, versions] of byName) {
    const latest = [...versions.keys()].sort(compareVersions).at(-1)!;
    out.set(name, { name, 'dist-tags': { latest }, versions: Object.fromEntries(versions), modified: new Date(0).toISOString() });
  }
  return out;
}

export async function startLockfileRegistry(lock: { packages: Record<string, LockEntry> }): Promise<LockfileRegistry> {
  let packuments = new Map<string, unknown>();
  const misses: string[] = [];
  const server: Server = createServer((req, res) => {
    const name = decodeURIComponent((req.url ?? '/').slice(1).split('?')[0]!);
    const doc = req.method === 'GET' ? packuments.get(name) : undefined;
    if (doc === undefined) {
      misses.push(`${req.method} ${req.url}`);
      res.writeHead(404, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end('{"error":"not in the lockfile or not cached"}');
      return;
    }
    // no-store: npm must not keep metadata of a registry that is gone after the test.
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(doc));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  packuments = packumentsFromLock(lock, url);
  return {
    url,
    misses,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** Orders `1.2.10` after `1.2.9`; a pre-release sorts before its release. */
function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const [main, pre] = v.split('-', 2) as [string, string | undefined];
    return { nums: main.split('.').map(Number), pre };
  };
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < 3; i++) if (x.nums[i] !== y.nums[i]) return (x.nums[i] ?? 0) - (y.nums[i] ?? 0);
  if (x.pre === y.pre) return 0;
  if (x.pre === undefined) return 1;
  if (y.pre === undefined) return -1;
  return x.pre < y.pre ? -1 : 1;
}
