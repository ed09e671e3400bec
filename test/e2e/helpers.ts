/**
 * Shared helpers of the end-to-end suites: each scenario gets its own temporary workspace (configuration
 * directory, checkpoint/savepoint/log directories, SQLite index) and drives the compiled `flink` CLI
 * (bin/flink.js → dist/) in real processes. `cleanup()` ends every process a scenario started and removes
 * the workspace.
 */
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import assert from 'node:assert/strict';
import { execa, type ResultPromise } from 'execa';
import { dumpState, resolveDumpTarget, type DumpEntry } from '../../src/tools/SnapshotInspector.js';
import { modelOutput } from './models.js';
import { ClusterClient } from '../../src/client/ClusterClient.js';
import { Configuration } from '../../src/config/Configuration.js';
import { CheckpointIndex } from '../../src/catalog/CheckpointIndex.js';

/**
 * FLINK_E2E_TIME_SCALE: one factor for every wait and CLI timeout of the e2e helpers (a slow or loaded machine
 * sets 2 or 3). Timeouts are upper bounds only: nothing waits for them to pass.
 */
export const TIME_SCALE = Math.max(1, Number(process.env.FLINK_E2E_TIME_SCALE) || 1);

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = join(ROOT, 'bin', 'flink.js');
export const STATE_MACHINE_JOB = join(ROOT, 'examples', 'StateMachineExample.ts');
export const STATE_MACHINE_VARIANT_JOB = join(ROOT, 'test', 'jobs', 'StateMachineVariant.ts');
export const FAIL_ONCE_JOB = join(ROOT, 'test', 'jobs', 'FailOnceJob.ts');

export const JOB_ID = /\b[0-9a-f]{32}\b/;
export const SAVEPOINT_DIR_NAME = /^savepoint-[0-9a-f]{6}-[0-9a-f]{12}$/;
/** A line of a JavaScript stack trace. */
export const STACK_FRAME = /^\s+at .+/m;

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface Workspace {
  dir: string;
  confDir: string;
  checkpointsDir: string;
  savepointsDir: string;
  logDir: string;
  indexPath: string;
  env: Record<string, string | undefined>;
  /** Attached `flink run` processes started through startAttached(). */
  children: Set<ResultPromise>;
}

/** The configuration every scenario starts from; `overrides` replace or add keys. */
export function baseConfig(ws: Pick<Workspace, 'checkpointsDir' | 'savepointsDir' | 'logDir' | 'indexPath'>): Record<string, string> {
  return {
    'state.checkpoints.dir': ws.checkpointsDir,
    'state.savepoints.dir': ws.savepointsDir,
    'env.log.dir': ws.logDir,
    'index.path': ws.indexPath,
    'rest.bind-address': '127.0.0.1',
    'taskmanager.numberOfTaskSlots': '4',
    'parallelism.default': '2',
    'execution.checkpointing.interval': '500 ms',
    'state.checkpoints.num-retained': '2',
    'execution.checkpointing.externalized-checkpoint-retention': 'RETAIN_ON_CANCELLATION',
    'restart-strategy.type': 'fixed-delay',
    'restart-strategy.fixed-delay.attempts': '2',
    'restart-strategy.fixed-delay.delay': '200 ms',
  };
}

/** A fresh temporary workspace with its own flink-conf.yaml. */
export function createWorkspace(overrides: Record<string, string> = {}): Workspace {
  const dir = mkdtempSync(join(tmpdir(), 'flink-ts-e2e-'));
  const ws: Workspace = {
    dir,
    confDir: join(dir, 'conf'),
    checkpointsDir: join(dir, 'checkpoints'),
    savepointsDir: join(dir, 'savepoints'),
    logDir: join(dir, 'log'),
    indexPath: join(dir, 'index.sqlite'),
    env: {},
    children: new Set(),
  };
  mkdirSync(ws.confDir);
  const conf = { ...baseConfig(ws), ...overrides };
  writeFileSync(join(ws.confDir, 'flink-conf.yaml'), Object.entries(conf).map(([k, v]) => `${k}: ${v}\n`).join(''));
  // Plain output whatever the terminal the suite runs in.
  ws.env = { FLINK_CONF_DIR: ws.confDir, NO_COLOR: '1', FORCE_COLOR: undefined };
  return ws;
}

/** Runs the `flink` CLI to completion. */
export async function flink(ws: Workspace, args: string[], opts: { timeoutMs?: number; env?: Record<string, string | undefined> } = {}): Promise<CliResult> {
  const started = Date.now();
  const r = await execa(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...ws.env, ...opts.env },
    reject: false,
    timeout: (opts.timeoutMs ?? 60_000) * TIME_SCALE,
    stdin: 'ignore',
  });
  // FLINK_E2E_TRACE=<file>: appends each CLI call with its duration and exit code, to see where a scenario spends its time.
  if (process.env.FLINK_E2E_TRACE) {
    appendFileSync(process.env.FLINK_E2E_TRACE, `${new Date(started).toISOString()} flink ${args.join(' ')} -> ${r.exitCode} in ${Date.now() - started} ms\n`);
  }
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

/**
 * Starts `flink <args>` (typically an attached `run`) without waiting for it. Its output accumulates in
 * `output.stdout` / `output.stderr`; the child is killed by cleanup() if still running.
 */
export function startAttached(ws: Workspace, args: string[]): { child: ResultPromise; output: { stdout: string; stderr: string } } {
  const child = execa(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...ws.env },
    reject: false,
    timeout: 120_000 * TIME_SCALE,
    stdin: 'ignore',
    buffer: true,
  });
  const output = { stdout: '', stderr: '' };
  child.stdout?.on('data', (d: Buffer) => (output.stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output.stderr += d.toString()));
  ws.children.add(child);
  void child.finally(() => ws.children.delete(child));
  return { child, output };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `predicate` until it returns a truthy value, which is returned; throws after `timeoutMs`. */
export async function waitFor<T>(predicate: () => T | Promise<T>, timeoutMs = 20_000, what = 'condition', intervalMs = 100): Promise<NonNullable<T>> {
  timeoutMs *= TIME_SCALE;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await predicate();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message ?? last})` : ''}`);
    }
    await sleep(intervalMs);
  }
}

/** The JobID from `Job has been submitted with JobID <id>`. */
export function jobIdFrom(stdout: string): string {
  const m = /Job has been submitted with JobID ([0-9a-f]{32})/.exec(stdout);
  if (!m) throw new Error(`no JobID in output:\n${stdout}`);
  return m[1];
}

/** The savepoint directory from `Savepoint completed. Path: file:<dir>` / `Savepoint stored in file:<dir>.`. */
export function savepointPathFrom(stdout: string): string {
  const m = /(?:Path:|stored in) (?:file:)?(\S+?)\.?$/m.exec(stdout);
  if (!m) throw new Error(`no savepoint path in output:\n${stdout}`);
  return m[1];
}

export interface ListedJob {
  jobId: string;
  name: string;
  status: string;
  pid: number | null;
  restUrl: string | null;
  logFile: string | null;
  failureCause: string | null;
  lost: boolean;
  stale: boolean;
}

/** `flink list -a --json`. */
export async function listJobs(ws: Workspace): Promise<ListedJob[]> {
  const r = await flink(ws, ['list', '-a', '--json'], { timeoutMs: 20_000 });
  if (r.exitCode !== 0) throw new Error(`flink list failed (${r.exitCode}): ${r.stderr}`);
  return JSON.parse(r.stdout) as ListedJob[];
}

export async function jobStatus(ws: Workspace, jobId: string): Promise<ListedJob | undefined> {
  return (await listJobs(ws)).find((j) => j.jobId === jobId);
}

/** The workspace's configuration, as the CLI reads it. */
function workspaceConfig(ws: Workspace): Configuration {
  return Configuration.load({ confDir: ws.confDir }).config;
}

/**
 * What `flink list -a --json` reports, computed in this process (the same ClusterClient over the workspace's
 * index, asking each job's REST endpoint) instead of spawning a CLI: for polling, which would otherwise start a
 * node process every few hundred ms on a machine the test shares with its clusters.
 */
export async function listJobsInProcess(ws: Workspace): Promise<ListedJob[]> {
  if (!existsSync(ws.indexPath)) return [];
  const index = CheckpointIndex.open({ path: ws.indexPath }); // no folders given: never rebuilds from them
  try {
    return await new ClusterClient({ config: workspaceConfig(ws), index, requestTimeoutMs: 3_000 * TIME_SCALE }).listJobs({ all: true });
  } finally {
    index.close();
  }
}

/** The index's row of a job (pid, endpoint, status as last recorded), read in-process. */
function indexedJob(ws: Workspace, jobId: string): { pid: number | null; status: string } | undefined {
  if (!existsSync(ws.indexPath)) return undefined;
  const index = CheckpointIndex.open({ path: ws.indexPath });
  try {
    return index.getJob(jobId);
  } finally {
    index.close();
  }
}

/** Waits until the job is listed (in-process, as `flink list -a` would list it) in (one of) the given status(es). */
export async function waitForStatus(ws: Workspace, jobId: string, status: string | string[], timeoutMs = 30_000): Promise<ListedJob> {
  const wanted = Array.isArray(status) ? status : [status];
  let last: string | undefined;
  return waitFor(async () => {
    const j = (await listJobsInProcess(ws)).find((x) => x.jobId === jobId);
    last = j?.status;
    return j && wanted.includes(j.status) ? j : undefined;
  }, timeoutMs, `job ${jobId} to be ${wanted.join('|')}`, 200).catch((e: Error) => {
    throw new Error(`${e.message}; last status: ${last ?? 'not listed'}`);
  });
}

/** Sorted lines of all committed (visible `part-*`) files of a FileSink output directory. */
export function committedLines(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const lines: string[] = [];
  for (const f of readdirSync(dir)) {
    if (!f.startsWith('part-')) continue;
    const p = join(dir, f);
    if (!statSync(p).isFile()) continue;
    for (const l of readFileSync(p, 'utf8').split('\n')) if (l !== '') lines.push(l);
  }
  return lines.sort();
}

/** The retained checkpoints of a job (chk-N folders with a _metadata), by increasing N. */
export function checkpoints(ws: Workspace, jobId: string): string[] {
  const base = join(ws.checkpointsDir, jobId);
  if (!existsSync(base)) return [];
  return readdirSync(base)
    .filter((d) => /^chk-\d+$/.test(d) && existsSync(join(base, d, '_metadata')))
    .sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)))
    .map((d) => join(base, d));
}

/** The highest chk-N of a job that has a _metadata, or undefined. */
export function latestCheckpoint(ws: Workspace, jobId: string): string | undefined {
  return checkpoints(ws, jobId).at(-1);
}

/** Savepoint folders directly under `dir`. */
export function savepointFolders(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((d) => SAVEPOINT_DIR_NAME.test(d)).map((d) => join(dir, d));
}

/** Every file under `dir`, relative, sorted (to check that nothing was deleted). */
export function listTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) walk(join(d, e.name), r);
      else out.push(r);
    }
  };
  if (existsSync(dir)) walk(dir, '');
  return out.sort();
}

const references = new Map<string, Promise<string[]>>();

/**
 * What a run of `jobFile` with `args` must commit, sorted, duplicates kept. For the jobs test/e2e/models.ts
 * models, that model's output: computed from the input, independent of the engine (and no extra run loading
 * the machine). For any other job, the committed output of an uninterrupted attached run (the `--output` and
 * `--rate` replaced: its own output directory and a high rate), computed once per file and arguments; such a
 * reference is only the engine agreeing with itself, so a test using it must check it against the input too.
 */
export function referenceLines(jobFile: string, args: string[]): Promise<string[]> {
  const model = modelOutput(jobFile, args);
  if (model) return Promise.resolve(model);
  const key = JSON.stringify([jobFile, args]);
  let p = references.get(key);
  if (!p) {
    p = (async () => {
      const ws = createWorkspace({ 'execution.checkpointing.interval': '200 ms' });
      try {
        const out = join(ws.dir, 'reference');
        const r = await flink(ws, ['run', jobFile, ...withArgs(args, { output: out, rate: '1000000' })]);
        if (r.exitCode !== 0) throw new Error(`reference run failed (${r.exitCode}): ${r.stderr}`);
        const lines = committedLines(out);
        if (lines.length === 0) throw new Error('reference run produced no output');
        return lines;
      } finally {
        await cleanup(ws);
      }
    })();
    references.set(key, p);
  }
  return p;
}

/** `args` with `--name value` pairs replaced or appended. */
export function withArgs(args: string[], set: Record<string, string>): string[] {
  const out = [...args];
  for (const [k, v] of Object.entries(set)) {
    const i = out.indexOf(`--${k}`);
    if (i >= 0) out[i + 1] = v;
    else out.push(`--${k}`, v);
  }
  return out;
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when `pid` is a live flink-ts cluster process (its command line names the cluster entrypoint). */
function isClusterProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('ClusterEntrypoint');
  } catch {
    return process.platform !== 'linux'; // no /proc: trust the liveness check
  }
}

/**
 * Ends every process the scenario started: attached children (SIGKILL), detached cluster processes found
 * in the workspace's index (`flink cancel` if still running, SIGKILL as a last resort), then removes the
 * workspace.
 */
export async function cleanup(ws: Workspace): Promise<void> {
  for (const c of [...ws.children]) {
    c.kill('SIGKILL');
    await c.catch(() => undefined);
  }
  ws.children.clear();
  let jobs: ListedJob[] = [];
  try {
    jobs = await listJobsInProcess(ws);
  } catch {
    jobs = [];
  }
  const terminal = new Set(['FINISHED', 'CANCELED', 'FAILED']);
  const live = jobs.filter((j) => !terminal.has(j.status));
  await Promise.all(live.map((j) => flink(ws, ['cancel', j.jobId], { timeoutMs: 15_000 }).catch(() => undefined)));
  const pids = live.map((j) => j.pid).filter((p): p is number => typeof p === 'number');
  if (pids.length > 0) {
    await waitFor(() => pids.every((p) => !isClusterProcess(p)), 5_000, 'cluster processes to exit').catch(() => undefined);
    for (const p of pids) {
      if (isClusterProcess(p)) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
  }
  rmSync(ws.dir, { recursive: true, force: true });
}

/** The pid of the detached cluster process running `jobId`, from the index; checked to be a live cluster process. */
export function clusterPid(ws: Workspace, jobId: string): number {
  const j = indexedJob(ws, jobId);
  if (!j || j.pid === null) throw new Error(`no pid recorded for job ${jobId}`);
  if (!isClusterProcess(j.pid)) throw new Error(`pid ${j.pid} of job ${jobId} is not a live cluster process`);
  return j.pid;
}

/**
 * Kills the detached cluster process running `jobId` (its pid from the index, or `pid` if the caller looked it up
 * beforehand, so nothing at all comes between its decision and the kill). Returns the pid once it is gone.
 */
export async function killCluster(ws: Workspace, jobId: string, signal: NodeJS.Signals = 'SIGKILL', pid = clusterPid(ws, jobId)): Promise<number> {
  process.kill(pid, signal);
  // Gone, not just dead: until its (re)parent reaps it, a killed process lingers as a zombie, which
  // kill(pid, 0) still reports as existing.
  await waitFor(() => !pidExists(pid), 10_000, `cluster process ${pid} to be gone`);
  return pid;
}

export interface RangeSplitState {
  id: string;
  /** The next index the split would read. */
  next: number;
  /** Its last index (inclusive). */
  end: number;
}

/**
 * The read positions a snapshot holds for a sequence/generator source (its `SourceReaderState`): what the source
 * had emitted when the snapshot was taken. Read in-process, without a CLI. `operator` picks the source by uid
 * when a job has several.
 */
export function sourceSplits(snapshot: string, operator?: string): RangeSplitState[] {
  return stateEntries(snapshot, 'SourceReaderState', operator).map((e) => e.value as RangeSplitState);
}

/** Every entry of one state of a snapshot (as `flink state --dump` prints them), read in-process. */
export function stateEntries(snapshot: string, stateName: string, operator?: string): DumpEntry[] {
  const out: DumpEntry[] = [];
  for (const batch of dumpState(snapshot, resolveDumpTarget(snapshot, stateName, operator))) out.push(...batch);
  return out;
}

/**
 * How many records a sequence/generator source of `count` records at `parallelism` (its splits as
 * DataGeneratorSource makes them) had emitted at `snapshot`: a split missing from the state was read to its end.
 */
export function recordsEmittedAt(snapshot: string, count: number, parallelism = 1, operator?: string): number {
  const held = new Map(sourceSplits(snapshot, operator).map((s) => [s.id, s]));
  let n = 0;
  for (let i = 0; i < parallelism; i++) {
    const start = Math.floor((count * i) / parallelism);
    const end = Math.floor((count * (i + 1)) / parallelism) - 1;
    if (end < start) continue;
    const s = held.get(String(i));
    n += s ? s.next - start : end - start + 1;
  }
  return n;
}

/** Asserts-friendly summary of a CLI result, for failure messages. */
export function show(r: CliResult): string {
  return `exit ${r.exitCode}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

export interface SnapshotSummary {
  kind: string;
  jobId: string;
  checkpointId: number;
  operators: Array<{ uid?: string; operatorId: string; keyedStates: string[]; files: string[] }>;
}

/**
 * Reads and checks a snapshot's `_metadata` as an outsider would: header magic, length, CRC32 of the
 * payload, and that every state file it lists exists next to it. Throws with the reason otherwise.
 */
export function readSnapshot(dir: string): SnapshotSummary {
  const bytes = readFileSync(join(dir, '_metadata'));
  if (bytes.length < 20 || bytes.subarray(0, 8).toString('latin1') !== 'FLTSMETA') throw new Error(`${dir}/_metadata: bad header`);
  const len = bytes.readUInt32BE(12);
  if (bytes.length !== 20 + len) throw new Error(`${dir}/_metadata: length ${bytes.length}, header says ${20 + len}`);
  const payload = bytes.subarray(20);
  if (crc32(payload) !== bytes.readUInt32BE(16)) throw new Error(`${dir}/_metadata: checksum mismatch`);
  const md = JSON.parse(payload.toString('utf8')) as {
    kind: string; jobId: string; checkpointId: number;
    operators: Array<{ uid?: string; operatorId: string; subtasks: Array<{ state: { file: string; keyedStates: Record<string, string> } }> }>;
  };
  const operators = md.operators.map((op) => {
    const files = op.subtasks.map((s) => s.state.file);
    for (const f of files) if (!existsSync(join(dir, f))) throw new Error(`${dir}: state file ${f} listed in _metadata is missing`);
    const keyedStates = [...new Set(op.subtasks.flatMap((s) => Object.keys(s.state.keyedStates ?? {})))].sort();
    return { uid: op.uid, operatorId: op.operatorId, keyedStates, files };
  });
  return { kind: md.kind, jobId: md.jobId, checkpointId: md.checkpointId, operators };
}

/**
 * Progress lines the CLI writes to stderr by design (commands/ui.ts: results to stdout, progress and
 * warnings to stderr) before the outcome is known; they are not part of an error report.
 */
export const PROGRESS_LINE = [
  /^Submitting the job\.\.\.$/,
  /^Waiting for response\.\.\.$/,
  /^Triggering savepoint for job [0-9a-f]{32}\.$/,
  /^Triggering checkpoint for job [0-9a-f]{32}\.$/,
  /^Disposing savepoint '.*'\.$/,
  /^Cancelling job [0-9a-f]{32}( with \w+ savepoint to .*)?\.$/,
  /^(Suspending|Draining) job "[0-9a-f]{32}" with a \w+ savepoint\.$/,
  /^Triggering stop-with-savepoint for job [0-9a-f]{32}\.$/,
  /^DEPRECATION WARNING: Cancelling a job with savepoint is deprecated\. Use "stop" instead\.$/,
];

/** The stderr lines that are not progress lines. */
export function errorLines(stderr: string): string[] {
  return stderr.split('\n').map((l) => l.trimEnd()).filter((l) => l !== '' && !PROGRESS_LINE.some((re) => re.test(l)));
}

/**
 * A failure reported as the CLI promises: a non-zero exit, exactly one `flink: …` error line on stderr
 * (besides progress lines), no stack trace. Returns the error line.
 */
export function assertOneLineError(r: CliResult, exitCode?: number): string {
  if (exitCode === undefined) assert.notEqual(r.exitCode, 0, show(r));
  else assert.equal(r.exitCode, exitCode, show(r));
  assert.doesNotMatch(r.stderr, STACK_FRAME, `no stack trace on stderr:\n${r.stderr}`);
  assert.doesNotMatch(r.stdout, STACK_FRAME, `no stack trace on stdout:\n${r.stdout}`);
  const lines = errorLines(r.stderr);
  assert.equal(lines.length, 1, `exactly one error line on stderr, got ${lines.length}:\n${r.stderr}`);
  assert.match(lines[0], /^flink: \S/);
  return lines[0];
}

/** The job's log file (`<env.log.dir>/flink-<user>-job-<jobId>-<host>.log`), or '' if there is none. */
export function readJobLog(ws: Workspace, jobId: string): string {
  const f = existsSync(ws.logDir) ? readdirSync(ws.logDir).find((n) => n.includes(`-job-${jobId}-`) && n.endsWith('.log')) : undefined;
  return f ? readFileSync(join(ws.logDir, f), 'utf8') : '';
}

/** True when some source under src/ or commands/ is newer than its compiled file. */
function distIsStale(): boolean {
  const walk = (dir: string): string[] => readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [join(dir, e.name)] : []);
  return ['src', 'commands'].flatMap(walk).some((ts) => {
    const js = join(ROOT, 'dist', ts.replace(/\.ts$/, '.js'));
    return !existsSync(js) || statSync(js).mtimeMs < statSync(join(ROOT, ts)).mtimeMs;
  });
}

/**
 * Builds dist/ when a test file runs on its own after a source change (npm test builds first, so this is
 * then a no-op; rebuilding unconditionally would race with other test files running the CLI).
 */
export async function ensureBuilt(): Promise<void> {
  if (!distIsStale()) return;
  const tsc = await execa('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, reject: false });
  if (tsc.exitCode !== 0) throw new Error(`the sources do not compile:\n${tsc.stdout}`);
}


/**
 * Waits for a FLINK_TS_FAULT kill (`<point>:<n>:kill`) to fire in the job's cluster, named in its log, and for that
 * process to be gone; returns its pid.
 */
export async function waitForFaultKill(outFile: string, fault: string, jobId: string): Promise<number> {
  const point = fault.split(':')[0]!.replace('.', '\\.');
  const pid = await waitFor(() => {
    const m = new RegExp(`FaultInjection: killing process (\\d+) at ${point}`).exec(existsSync(outFile) ? readFileSync(outFile, 'utf8') : '');
    return m ? Number(m[1]) : undefined;
  }, 180_000, `the cluster of job ${jobId} killed at ${fault}`, 100);
  await waitFor(() => { try { process.kill(pid, 0); return false; } catch { return true; } }, 10_000, `cluster process ${pid} to be gone`);
  return pid;
}
