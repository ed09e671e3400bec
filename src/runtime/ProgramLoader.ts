import { existsSync, statSync } from 'node:fs';
import { register } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FlinkError } from '../core/FlinkError.js';
import { runningFromSources } from '../core/paths.js';
import { setProgramContext, type JobExecutionResult } from '../api/ProgramContext.js';
import type { StreamGraph } from '../graph/StreamGraph.js';

let installed = false;
let loads = 0;

/**
 * Makes job files loadable in this thread: TypeScript through tsx (esbuild), and `import ... from
 * 'flink-ts'` resolved to this very package wherever the job file lives, so the program and the
 * engine share one API module.
 */
export async function installProgramLoaders(): Promise<void> {
  if (installed) return;
  installed = true;
  const apiUrl = new URL(runningFromSources() ? '../index.ts' : '../index.js', import.meta.url).href;
  // Job programs are ES modules (top-level await, import of 'flink-ts') wherever they live, even
  // outside a package with "type": "module".
  const hooks = `
    const api = ${JSON.stringify(apiUrl)};
    export async function resolve(specifier, context, next) {
      if (specifier === 'flink-ts') return next(api, context);
      const r = await next(specifier, context);
      if (r.url.startsWith('file:') && /\\.m?ts(\\?|$)/.test(r.url) && !r.url.includes('/node_modules/') && r.format !== 'module') {
        return { ...r, format: 'module' };
      }
      return r;
    }`;
  register(`data:text/javascript,${encodeURIComponent(hooks)}`);
  if (!runningFromSources()) {
    const tsx = await import('tsx/esm/api');
    tsx.register();
  }
}

export function checkJobFile(jobFile: string): string {
  const abs = resolve(jobFile);
  if (!existsSync(abs)) throw new FlinkError('not-found', `Job file does not exist: ${jobFile}`);
  if (!statSync(abs).isFile()) throw new FlinkError('invalid-argument', `Job file ${jobFile} is not a file`);
  if (!/\.(ts|mts|js|mjs)$/.test(abs)) throw new FlinkError('invalid-argument', `Job file ${jobFile} must be a .ts, .mts, .js or .mjs module`);
  return abs;
}

/**
 * Runs the program with `execute()` handled by `onExecute`. Resolves once the program has returned
 * (in capture mode: once execute() was reached). Errors of the program itself become one clear error.
 */
export async function runProgram(
  jobFile: string,
  programArgs: string[],
  config: Record<string, string>,
  mode: 'submit' | 'capture',
  onExecute: (graph: StreamGraph) => Promise<JobExecutionResult>,
): Promise<void> {
  const abs = checkJobFile(jobFile);
  await installProgramLoaders();
  let executed = false;
  let captured: () => void = () => {};
  const reachedExecute = new Promise<void>((r) => (captured = r));
  setProgramContext({
    mode,
    config,
    execute: (graph) => {
      executed = true;
      if (mode === 'capture') {
        void onExecute(graph);
        captured();
        return new Promise<never>(() => {}); // the program never gets past execute() in a worker
      }
      return onExecute(graph);
    },
  });
  process.argv = [process.argv[0], abs, ...programArgs];
  // A query string makes every load a fresh module instance (restarts, several jobs in one process).
  const url = `${pathToFileURL(abs).href}?load=${++loads}`;
  const running = import(url).then(
    () => {
      if (!executed) throw new FlinkError('invalid-argument', `The program ${jobFile} didn't contain a Flink job: it never called env.execute().`);
    },
    (e: unknown) => {
      if (e instanceof FlinkError) throw e;
      const err = e as Error;
      throw new FlinkError('invalid-argument', `The program ${jobFile} failed: ${err?.message ?? String(e)}`, { cause: e });
    },
  );
  if (mode === 'capture') await Promise.race([reachedExecute, running]);
  else await running;
}
