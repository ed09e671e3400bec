import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The installed package's root (the folder with our package.json), from src/ under tsx or dist/src/. */
export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj) && JSON.parse(readFileSync(pj, 'utf8')).name === 'flink-ts') return (root = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot locate the flink-ts package root');
    dir = up;
  }
}

/** The embedded default configuration directory (`conf/` in the package). */
export function defaultConfDir(): string {
  return join(packageRoot(), 'conf');
}

/**
 * The user's flink-ts data directory, where the embedded configuration puts checkpoints, savepoints, logs and
 * (through the checkpoints) the catalog: $FLINK_TS_HOME, else $XDG_DATA_HOME/flink-ts, else
 * ~/.local/share/flink-ts. Never inside the package, so an install under node_modules stays read-only and an
 * upgrade or reinstall keeps every snapshot and the catalog.
 */
export function userDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.FLINK_TS_HOME) return resolve(env.FLINK_TS_HOME);
  // The XDG spec says a relative XDG_DATA_HOME is invalid and to be ignored.
  const xdg = env.XDG_DATA_HOME;
  return xdg && isAbsolute(xdg) ? join(xdg, 'flink-ts') : join(homedir(), '.local', 'share', 'flink-ts');
}

/** True when this module runs from TypeScript sources (tests under tsx) rather than the compiled dist/. */
export function runningFromSources(): boolean {
  return import.meta.url.endsWith('.ts');
}
