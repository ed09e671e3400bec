import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The dashboard page's files (web/ of the package, plus uPlot from node_modules), served by the JobManager's
 * REST endpoint at `/` as Flink's JobManager serves its web UI, and by `flink dashboard`. Everything is in the
 * package: the page loads nothing from elsewhere (the CSP says so to the browser too).
 */
export interface StaticFile {
  status: number;
  contentType: string;
  body: Buffer;
  headers: Record<string, string>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=UTF-8',
  '.js': 'text/javascript; charset=UTF-8',
  '.css': 'text/css; charset=UTF-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** What the page may load: only its own origin; uPlot sets inline styles on its elements. */
const HEADERS = {
  'Content-Security-Policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-cache',
};

/** web/ next to package.json: two levels up from src/web (tsx), three from dist/src/web (compiled). */
function findWebRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'web', 'index.html'))) return join(dir, 'web');
    dir = dirname(dir);
  }
  throw new Error('flink-ts: the dashboard files (web/index.html) are missing from the package');
}

const require = createRequire(import.meta.url);
const VENDOR: Record<string, () => string> = {
  'uPlot.iife.min.js': () => require.resolve('uplot/dist/uPlot.iife.min.js'),
  'uPlot.min.css': () => require.resolve('uplot/dist/uPlot.min.css'),
};

export class StaticAssets {
  private readonly root = findWebRoot();
  private readonly cache = new Map<string, Buffer>();

  /** Whether a GET of this path is one of the page's files (`/`, `/index.html`, `/web/…`). */
  static isAssetPath(path: string): boolean {
    return path === '/' || path === '/index.html' || path.startsWith('/web/');
  }

  /** The file for a request path, or a 404 file; never reads outside web/ (or the vendored uPlot files). */
  get(path: string): StaticFile {
    const file = this.resolve(path);
    const ext = file ? extname(file) : '';
    if (!file || !TYPES[ext]) return notFound(path);
    let body = this.cache.get(file);
    if (!body) {
      try {
        body = readFileSync(file);
      } catch {
        return notFound(path);
      }
      this.cache.set(file, body);
    }
    return { status: 200, contentType: TYPES[ext]!, body, headers: { ...HEADERS } };
  }

  private resolve(path: string): string | undefined {
    if (path === '/' || path === '/index.html') return join(this.root, 'index.html');
    const rel = path.slice('/web/'.length);
    if (rel.startsWith('vendor/')) {
      const v = VENDOR[rel.slice('vendor/'.length)];
      return v ? v() : undefined;
    }
    const file = resolve(this.root, rel);
    return file.startsWith(this.root + sep) ? file : undefined;
  }
}

function notFound(path: string): StaticFile {
  return {
    status: 404,
    contentType: 'application/json; charset=UTF-8',
    body: Buffer.from(JSON.stringify({ errors: [`Not found: ${path}`] })),
    headers: { 'X-Content-Type-Options': 'nosniff' },
  };
}
