import { build, type Plugin } from 'esbuild';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FlinkError } from '../core/FlinkError.js';
import { runningFromSources } from '../core/paths.js';

/**
 * The job as one ES module for the Flink runner's Node.js worker (esbuild): the job file, its imports and flink-ts
 * itself. Run with FLINK_TS_WORKER_SOCKET set, the bundle is a worker (src/flink/worker/FlinkWorker.ts) that
 * rebuilds the job's StreamGraph and runs its operators; without, it is the job as `node job.js` would run it.
 * Native packages the worker never needs (the embedded state backend's LMDB, the catalog's SQLite) are left out:
 * a use of them in the worker fails with a clear message.
 */
const LEFT_OUT = /^(lmdb|better-sqlite3)$/;

const leaveOutNative: Plugin = {
  name: 'flink-ts-leave-out-native',
  setup(b) {
    b.onResolve({ filter: LEFT_OUT }, (a) => ({ path: a.path, namespace: 'flink-ts-left-out' }));
    b.onLoad({ filter: /.*/, namespace: 'flink-ts-left-out' }, (a) => ({
      contents: `module.exports = new Proxy({}, { get(_, p) { if (p === '__esModule') return false; throw new Error(${JSON.stringify(`${a.path} is not available in the Flink runner's Node.js worker`)}); } });`,
      loader: 'js',
    }));
  },
};

export async function bundleJob(file: string): Promise<Buffer> {
  const jobFile = resolve(file);
  const here = dirname(fileURLToPath(import.meta.url));
  const ext = runningFromSources() ? '.ts' : '.js';
  const api = join(here, '..', `index${ext}`);
  const worker = join(here, 'worker', `FlinkWorker${ext}`);
  const entry = [
    `import { runFlinkWorker } from ${JSON.stringify(worker)};`,
    `if (process.env.FLINK_TS_WORKER_SOCKET) await runFlinkWorker(() => import(${JSON.stringify(jobFile)}), import.meta.url.split('?')[0]);`,
    `else await import(${JSON.stringify(jobFile)});`,
  ].join('\n');
  try {
    const r = await build({
      stdin: { contents: entry, resolveDir: dirname(jobFile), loader: 'js', sourcefile: 'flink-ts-runner-entry.js' },
      bundle: true, platform: 'node', format: 'esm', target: 'node20', write: false, logLevel: 'silent',
      alias: { 'flink-ts': api },
      plugins: [leaveOutNative],
      // CommonJS dependencies call require(): give the ES module bundle one.
      banner: { js: "import { createRequire as __flinkTsCreateRequire } from 'node:module'; const require = __flinkTsCreateRequire(import.meta.url);" },
    });
    return Buffer.from(r.outputFiles[0].contents);
  } catch (e) {
    const errors = (e as { errors?: Array<{ text: string; location?: { file: string; line: number } | null }> }).errors;
    const first = errors?.[0];
    const where = first?.location ? ` (${first.location.file}:${first.location.line})` : '';
    throw new FlinkError('invalid-argument', `Cannot bundle ${file} for the Flink cluster: ${first?.text ?? (e as Error).message}${where}`, { cause: e });
  }
}
