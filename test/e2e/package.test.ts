/**
 * The package as a user gets it: `npm pack` of a copy of the repository (its prepack builds dist/), installed
 * into an empty project, where a TypeScript and a JavaScript job import 'flink-ts' and run with `npx flink` /
 * `npx flink-ts` (no build on the user's side), `tsc --noEmit` type-checks a job against the installed
 * declarations, and a detached job is savepointed and cancelled with `npx -y <tarball> …` from a directory
 * outside any project (the cron case). Nothing sets a configuration directory: the embedded conf of the
 * installed package is used, with the locations under $FLINK_TS_HOME.
 *
 * No network: versions resolve through a loopback registry made from package-lock.json (lockfile-registry.ts)
 * and tarballs come from npm's cache; better-sqlite3 gets the binary the repository's `npm ci` built, through
 * prebuild-install's local prebuilds, as a user online gets a downloaded prebuilt (compiling it here takes
 * about 90 s of both cores).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, sep } from 'node:path';
import { execa } from 'execa';
import { ROOT, SAVEPOINT_DIR_NAME, committedLines, jobIdFrom, savepointPathFrom, sleep, waitFor, type CliResult } from './helpers.js';
import { startLockfileRegistry, type LockfileRegistry } from './lockfile-registry.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
/** Packages with install scripts; npm 11 asks for them to be approved (only better-sqlite3's is essential). */
const ALLOW_SCRIPTS = ['better-sqlite3', 'esbuild', 'lmdb', 'msgpackr-extract'];

let tmp: string;
let tarball: string;
let app: string;
let cron: string;
let data: string;
let registry: LockfileRegistry | undefined;
let npmEnv: Record<string, string | undefined>;
let npxCache: string;
let npxBefore = new Set<string>();
const detachedJobs: string[] = [];

function show(r: CliResult): string {
  return `exit ${r.exitCode}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

async function run(cmd: string, args: string[], cwd: string, timeoutMs = 60_000, env: Record<string, string> = {}): Promise<CliResult> {
  const r = await execa(cmd, args, { cwd, env: { ...npmEnv, ...env }, extendEnv: false, reject: false, timeout: timeoutMs, stdin: 'ignore' });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

/** Like `run`, asserting exit 0. */
async function ok(cmd: string, args: string[], cwd: string, timeoutMs?: number): Promise<CliResult> {
  const r = await run(cmd, args, cwd, timeoutMs);
  // Metadata 404s of other platforms' optional packages are normal; a tarball request means npm's cache lacks it.
  const uncached = registry?.misses.filter((m) => m.includes('/-/')) ?? [];
  assert.equal(r.exitCode, 0, `${cmd} ${args.join(' ')} in ${cwd}: ${show(r)}${uncached.length ? `\nnot in npm's cache: ${uncached.join(', ')}` : ''}`);
  return r;
}

/** The CLI as cron calls it: `npx -y <tarball> …` from a directory outside any project. */
function npxTarball(args: string[], timeoutMs?: number): Promise<CliResult> {
  // Outside a project, install scripts are approved per call (inside one: package.json's allowScripts).
  return run('npx', ['-y', `file:${tarball}`, ...args], cron, timeoutMs, { npm_config_allow_scripts: ALLOW_SCRIPTS.join(',') });
}

/** The environment of everything the user runs: no npm state of the outer `npm test`, the loopback registry. */
function userEnv(prebuilds: string): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) && !/^npm_config_cache$/i.test(k)) continue;
    if (['FLINK_CONF_DIR', 'XDG_DATA_HOME', 'FLINK_TS_HOME', 'FORCE_COLOR', 'NODE_OPTIONS'].includes(k)) continue;
    env[k] = v;
  }
  return {
    ...env,
    npm_config_registry: `${registry!.url}/`,
    npm_config_prefer_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    npm_config_better_sqlite3_local_prebuilds: prebuilds,
    FLINK_TS_HOME: data,
    NO_COLOR: '1',
  };
}

/** better-sqlite3's binary from the repository's install, as the prebuilt archive prebuild-install looks for. */
async function localPrebuild(dir: string): Promise<void> {
  const bs = JSON.parse(readFileSync(join(ROOT, 'node_modules', 'better-sqlite3', 'package.json'), 'utf8')) as { version: string };
  const glibc = (process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header.glibcVersionRuntime;
  const libc = process.platform === 'linux' && glibc === undefined ? 'musl' : '';
  const name = `better-sqlite3-v${bs.version}-node-v${process.versions.modules}-${process.platform}${libc}-${process.arch}.tar.gz`;
  const stage = join(dir, 'stage');
  mkdirSync(join(stage, 'build', 'Release'), { recursive: true });
  cpSync(join(ROOT, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'), join(stage, 'build', 'Release', 'better_sqlite3.node'));
  const r = await execa('tar', ['-czf', join(dir, name), '-C', stage, 'build'], { reject: false });
  assert.equal(r.exitCode, 0, `tar: ${r.stderr}`);
}

function lockedVersion(name: string): string {
  const v = lock.packages[`node_modules/${name}`]?.version;
  assert.ok(v, `${name} is in package-lock.json`);
  return v;
}

/** `flink list -a --json` through the tarball, the job's entry. */
async function listed(jobId: string): Promise<{ status: string; pid: number | null } | undefined> {
  const r = await npxTarball(['list', '-a', '--json']);
  assert.equal(r.exitCode, 0, show(r));
  return (JSON.parse(r.stdout) as Array<{ jobId: string; status: string; pid: number | null }>).find((j) => j.jobId === jobId);
}

const SEQUENCE_JOB_TS = `import { FileSink, ParameterTool, StreamExecutionEnvironment } from 'flink-ts';

const params = ParameterTool.fromArgs(process.argv.slice(2));
const env = StreamExecutionEnvironment.getExecutionEnvironment();
const n: number = params.getInt('n', 100);
env.fromSequence(1, n).map((x: number): string => \`doubled \${x * 2}\`)
  .sinkTo(FileSink.forRowFormat<string>(params.getRequired('output')).build());
await env.execute('doubles');
`;

const SEQUENCE_JOB_JS = `import { FileSink, ParameterTool, StreamExecutionEnvironment } from 'flink-ts';

const params = ParameterTool.fromArgs(process.argv.slice(2));
const env = StreamExecutionEnvironment.getExecutionEnvironment();
env.fromSequence(1, params.getInt('n', 100)).map((x) => \`tripled \${x * 3}\`)
  .sinkTo(FileSink.forRowFormat(params.getRequired('output')).build());
await env.execute('triples');
`;

/** Counts per key, slowly by default: a detached run of it is still going while the test savepoints it. */
const COUNTER_JOB_TS = `import {
  DataGeneratorSource, FileSink, KeyedProcessFunction, ParameterTool, RateLimiterStrategy, StreamExecutionEnvironment,
  ValueStateDescriptor, type Collector, type ValueState,
} from 'flink-ts';

class CountPerKey extends KeyedProcessFunction<number, number, string> {
  private count!: ValueState<number>;
  override open(): void {
    this.count = this.getRuntimeContext().getState(new ValueStateDescriptor<number>('count'));
  }
  processElement(value: number, ctx: KeyedProcessFunction.Context<number>, out: Collector<string>): void {
    const n = (this.count.value() ?? 0) + 1;
    this.count.update(n);
    out.collect(\`\${ctx.getCurrentKey()},\${n}\`);
  }
}

const params = ParameterTool.fromArgs(process.argv.slice(2));
const env = StreamExecutionEnvironment.getExecutionEnvironment();
env.enableCheckpointing(500);
env.fromSource(new DataGeneratorSource((i: number) => i, params.getInt('count', 1000), RateLimiterStrategy.perSecond(params.getInt('rate', 100))), undefined, 'numbers').uid('numbers')
  .keyBy((i: number) => i % 7)
  .process(new CountPerKey()).uid('count')
  .sinkTo(FileSink.forRowFormat<string>(params.getRequired('output')).build()).uid('sink');
await env.execute('counter');
`;

/** A job with a type error: tsc must reject it, or the type-check passing proves nothing. */
const BAD_JOB_TS = `import { StreamExecutionEnvironment } from 'flink-ts';

const env = StreamExecutionEnvironment.getExecutionEnvironment();
env.fromSequence(1, 3).map((s: string) => s.length);
await env.execute('bad');
`;

describe('the npm package, installed from its tarball (e2e)', { timeout: 600_000 }, () => {
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'flink-ts-package-'));
    app = join(tmp, 'app');
    cron = join(tmp, 'cron');
    data = join(tmp, 'data');
    for (const d of [app, cron, join(tmp, 'prebuilds')]) mkdirSync(d);
    registry = await startLockfileRegistry(lock as never);
    npmEnv = userEnv(join(tmp, 'prebuilds'));
    await localPrebuild(join(tmp, 'prebuilds'));
    npxCache = join((await ok('npm', ['config', 'get', 'cache'], tmp)).stdout.trim(), '_npx');
    npxBefore = new Set(existsSync(npxCache) ? readdirSync(npxCache) : []);

    // Pack a copy, so that prepack's clean build never removes the dist/ that other suites run from.
    const src = join(tmp, 'src');
    const skip = new Set(['node_modules', 'dist', '.git', 'tmp', 'log']);
    cpSync(ROOT, src, { recursive: true, filter: (p) => !(skip.has(basename(p)) && p === join(ROOT, basename(p))) && !p.endsWith('.tgz') });
    symlinkSync(join(ROOT, 'node_modules'), join(src, 'node_modules'), 'junction');
    await ok('npm', ['pack', '--pack-destination', tmp], src, 180_000);
    tarball = join(tmp, `${pkg.name}-${pkg.version}.tgz`);
    assert.ok(existsSync(tarball), `npm pack wrote ${tarball}`);
  });

  after(async () => {
    // Any detached cluster still up: cancel it, then make sure its process is gone.
    for (const jobId of detachedJobs) {
      const j = await listed(jobId).catch(() => undefined);
      if (j && !['FINISHED', 'CANCELED', 'FAILED'].includes(j.status)) {
        await npxTarball(['cancel', jobId], 20_000).catch(() => undefined);
        if (typeof j.pid === 'number') try { process.kill(j.pid, 'SIGKILL'); } catch { /* gone */ }
      }
    }
    await registry?.close();
    // npx installed the tarball into npm's cache (_npx/<hash>); those folders are ours to remove.
    for (const d of existsSync(npxCache) ? readdirSync(npxCache) : []) {
      if (npxBefore.has(d)) continue;
      const pj = join(npxCache, d, 'package.json');
      if (existsSync(pj) && readFileSync(pj, 'utf8').includes(basename(tmp))) rmSync(join(npxCache, d), { recursive: true, force: true });
    }
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('the tarball ships the build, the CLI, the conf, README and LICENSE, and no tests or benchmarks', async () => {
    const files = (await ok('tar', ['-tzf', tarball], tmp)).stdout.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
    for (const f of ['package.json', 'README.md', 'LICENSE', 'bin/flink.js', 'conf/flink-conf.yaml',
      'dist/src/index.js', 'dist/src/index.d.ts', 'dist/commands/index.js', 'web/index.html', 'web/js/app.js', 'web/style.css']) {
      assert.ok(files.includes(f), `${f} is in the tarball`);
    }
    // Everything prepack compiled (worker entries, lazily imported modules, declarations) is shipped.
    const built = readdirSync(join(tmp, 'src', 'dist'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.js') || f.endsWith('.d.ts')).map((f) => `dist/${f.split(sep).join('/')}`);
    assert.ok(built.length > 50, `prepack built dist/ (${built.length} files)`);
    assert.deepEqual(built.filter((f) => !files.includes(f)), [], 'compiled files missing from the tarball');
    const unwanted = files.filter((f) => /^(test|bench|docs|examples|src|commands)\//.test(f) || f.endsWith('.map') || f.endsWith('.tsbuildinfo'));
    assert.deepEqual(unwanted, []);
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    assert.deepEqual(manifest.bin, { flink: './bin/flink.js', 'flink-ts': './bin/flink.js' });
  });

  test('installs into an empty project offline, with both command names', async () => {
    // As `npm install-scripts approve …` leaves it.
    const allowScripts = Object.fromEntries(ALLOW_SCRIPTS.map((p) => [p, true]));
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'my-jobs', version: '1.0.0', private: true, type: 'module', allowScripts }, null, 2));
    await ok('npm', ['install', tarball], app, 240_000);
    await ok('npm', ['install', '--save-dev', `typescript@${lockedVersion('typescript')}`, `@types/node@${lockedVersion('@types/node')}`], app, 120_000);
    for (const bin of ['flink', 'flink-ts']) assert.ok(existsSync(join(app, 'node_modules', '.bin', bin)), `node_modules/.bin/${bin}`);
    const installed = join(app, 'node_modules', 'flink-ts');
    for (const d of ['test', 'bench', 'docs', 'examples']) assert.ok(!existsSync(join(installed, d)), `no ${d}/ in the installed package`);
    // Each name's help shows the commands under the name it was called by.
    assert.match((await ok('npx', ['flink-ts', '--help'], app)).stdout, /\$ flink-ts \[COMMAND\][\s\S]*savepoint/);
    assert.match((await ok('npx', ['flink', 'run', '--help'], app)).stdout, /\$ flink run /);
  });

  test('the installed package serves the dashboard and every file its page loads, from the package (no CDN)', { timeout: 60_000 }, async () => {
    const child = execa(join(app, 'node_modules', '.bin', 'flink'), ['dashboard', '--port', '0', '--json'], { cwd: app, env: npmEnv, extendEnv: false, reject: false, stdin: 'ignore' });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    try {
      const url = await waitFor(() => /"url": "([^"]+)"/.exec(out)?.[1], 30_000, 'the dashboard URL');
      const html = await (await fetch(url)).text();
      const refs = [...html.matchAll(/(?:src|href)="([^"#]+)"/g)].map((m) => m[1]!);
      const modules = ['app', 'api', 'dom', 'format', 'status', 'jobs', 'job', 'graph', 'charts', 'checkpoints', 'savepoints'].map((m) => `web/js/${m}.js`);
      assert.ok(refs.includes('web/vendor/uPlot.iife.min.js'), refs.join(', '));
      for (const r of [...refs, ...modules]) {
        assert.doesNotMatch(r, /^(https?:)?\/\//, 'nothing from elsewhere');
        assert.equal((await fetch(new URL(r, url))).status, 200, r);
      }
    } finally {
      child.kill('SIGTERM');
      await child;
    }
  });

  test('a .ts and a .js job import flink-ts and run with npx flink / npx flink-ts, no build step', { timeout: 120_000 }, async () => {
    writeFileSync(join(app, 'job.ts'), SEQUENCE_JOB_TS);
    writeFileSync(join(app, 'job.js'), SEQUENCE_JOB_JS);
    const outTs = join(tmp, 'out-ts');
    const ts = await ok('npx', ['flink', 'run', 'job.ts', '--output', outTs, '--n', '300'], app);
    assert.match(ts.stdout, /Job with JobID [0-9a-f]{32} has finished\./);
    assert.deepEqual(committedLines(outTs), Array.from({ length: 300 }, (_, i) => `doubled ${(i + 1) * 2}`).sort());
    const outJs = join(tmp, 'out-js');
    const js = await ok('npx', ['flink-ts', 'run', 'job.js', '--output', outJs, '--n', '200'], app);
    assert.match(js.stdout, /Job with JobID [0-9a-f]{32} has finished\./);
    assert.deepEqual(committedLines(outJs), Array.from({ length: 200 }, (_, i) => `tripled ${(i + 1) * 3}`).sort());
  });

  test('tsc --noEmit type-checks a job against the installed declarations, and rejects a wrong one', { timeout: 60_000 }, async () => {
    writeFileSync(join(app, 'counter.ts'), COUNTER_JOB_TS);
    writeFileSync(join(app, 'bad.ts'), BAD_JOB_TS);
    // skipLibCheck off: the package's own .d.ts files are checked too.
    const compilerOptions = { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: false, types: ['node'] };
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['job.ts', 'counter.ts'] }, null, 2));
    await ok('npx', ['tsc', '--noEmit', '-p', 'tsconfig.json'], app);
    writeFileSync(join(app, 'tsconfig.bad.json'), JSON.stringify({ compilerOptions, files: ['bad.ts'] }, null, 2));
    const bad = await run('npx', ['tsc', '--noEmit', '-p', 'tsconfig.bad.json'], app);
    assert.notEqual(bad.exitCode, 0, show(bad));
    assert.match(bad.stdout, /bad\.ts\(4,\d+\): error TS2345/);
  });

  test('a detached job: list, savepoint and cancel -s with npx -y <tarball> from another directory, then restore', { timeout: 240_000 }, async () => {
    writeFileSync(join(app, 'counter.ts'), COUNTER_JOB_TS);
    const out = join(tmp, 'out-counter');
    const count = 6000;
    const args = ['--count', String(count), '--output', out];
    const started = await ok('npx', ['flink', 'run', '-d', 'counter.ts', ...args, '--rate', '100'], app);
    const jobId = jobIdFrom(started.stdout);
    detachedJobs.push(jobId);
    await waitFor(async () => (await listed(jobId))?.status === 'RUNNING', 30_000, `job ${jobId} RUNNING`, 300);

    const list = await npxTarball(['list']);
    assert.equal(list.exitCode, 0, show(list));
    assert.match(list.stdout, new RegExp(`: ${jobId} : counter \\(RUNNING\\)`));

    const sp = await npxTarball(['savepoint', jobId], 60_000);
    assert.equal(sp.exitCode, 0, show(sp));
    const savepoint = savepointPathFrom(sp.stdout);
    assert.equal(join(savepoint, '..'), join(data, 'savepoints'), 'the default savepoint directory is in FLINK_TS_HOME');
    assert.match(basename(savepoint), SAVEPOINT_DIR_NAME);
    assert.ok(existsSync(join(savepoint, '_metadata')));

    await sleep(500);
    const target = join(tmp, 'cancel-savepoints');
    const cancel = await npxTarball(['cancel', '-s', target, jobId], 60_000);
    assert.equal(cancel.exitCode, 0, show(cancel));
    const last = savepointPathFrom(cancel.stdout);
    assert.equal(join(last, '..'), target);
    await waitFor(async () => (await listed(jobId))?.status === 'CANCELED', 30_000, `job ${jobId} CANCELED`, 300);
    const before = committedLines(out).length;
    assert.ok(before < count, `cancelled before the end (${before} of ${count} lines committed)`);

    const restored = await ok('npx', ['flink', 'run', '-s', last, 'counter.ts', ...args, '--rate', '1000000'], app, 120_000);
    assert.match(restored.stdout, /Job with JobID [0-9a-f]{32} has finished\./);
    // Exactly once across the cancel: every key counted 1..n with no gap or repeat.
    const expected: string[] = [];
    for (let k = 0; k < 7; k++) for (let n = 1; n <= Math.ceil((count - k) / 7); n++) expected.push(`${k},${n}`);
    assert.deepEqual(committedLines(out), expected.sort());

    // Everything the CLI wrote is under FLINK_TS_HOME: nothing in the package, nothing in the working directories.
    assert.ok(existsSync(join(data, 'flink-index.sqlite')), 'the catalog is in the data dir');
    // Retained on cancel: the embedded conf (RETAIN_ON_CANCELLATION; the code default deletes them) was read from inside the package.
    const retained = readdirSync(join(data, 'checkpoints', jobId)).filter((d) => /^chk-\d+$/.test(d) && existsSync(join(data, 'checkpoints', jobId, d, '_metadata')));
    assert.ok(retained.length > 0, 'the cancelled job\'s checkpoints are retained in the data dir');
    assert.ok(readdirSync(join(data, 'log')).some((f) => f.includes(jobId)), 'the job log is in the data dir');
    const installed = join(app, 'node_modules', 'flink-ts');
    for (const d of ['log', 'checkpoints', 'savepoints']) assert.ok(!existsSync(join(installed, d)), `nothing written to ${installed}/${d}`);
    assert.deepEqual(readdirSync(cron), [], 'nothing written to the cron directory');
  });
});
