import { Worker } from 'node:worker_threads';
import { runningFromSources } from './paths.js';

/**
 * A worker thread running the module `name` (without extension) beside `base` (an import.meta.url): the
 * compiled .js, or from sources (tests under tsx) its .ts, with tsx registered in the new thread first.
 */
export function startWorker(base: string, name: string): Worker {
  if (!runningFromSources()) return new Worker(new URL(`./${name}.js`, base));
  const entry = new URL(`./${name}.ts`, base).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(boot, { eval: true });
}
