import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
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

/** True when this module runs from TypeScript sources (tests under tsx) rather than the compiled dist/. */
export function runningFromSources(): boolean {
  return import.meta.url.endsWith('.ts');
}
