import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * mkdir -p without Node's `mkdirSync(dir, { recursive: true })`, which never returns for some paths (under
 * /proc it loops on ENOENT forever, Node 20): a savepoint target sent over REST must fail, not hang the
 * JobManager. Creates the missing directories from the deepest existing ancestor down; errors are mkdir's.
 */
export function mkdirs(dir: string): void {
  const missing: string[] = [];
  let d = resolve(dir);
  for (;;) {
    try {
      statSync(d);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      missing.push(d);
      const parent = dirname(d);
      if (parent === d) break;
      d = parent;
    }
  }
  for (const m of missing.reverse()) {
    try {
      mkdirSync(m);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e; // created meanwhile by someone else
    }
  }
}
