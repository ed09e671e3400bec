import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSnapshot, verifySnapshotFiles, type LoadedSnapshot } from '../../src/checkpoint/Metadata.js';
import { Configuration } from '../../src/config/Configuration.js';
import { isFlinkError } from '../../src/core/FlinkError.js';
import { newJobId } from '../../src/core/ids.js';
import { runJob, type RunRequest } from '../../src/client/JobRunner.js';
import { CheckpointIndex } from '../../src/catalog/CheckpointIndex.js';

/**
 * Runs small job programs end to end on an in-process mini-cluster (worker-thread task slots), with every
 * directory the cluster writes to inside one temp dir.
 */
const root = mkdtempSync(join(tmpdir(), 'flink-ts-minicluster-'));
after(() => rmSync(root, { recursive: true, force: true }));

const dirs = {
  checkpoints: join(root, 'checkpoints'),
  savepoints: join(root, 'savepoints'),
  log: join(root, 'log'),
  index: join(root, 'index.sqlite'),
};

function config(extra: Record<string, string> = {}): Configuration {
  return Configuration.fromMap({
    'state.checkpoints.dir': dirs.checkpoints,
    'state.savepoints.dir': dirs.savepoints,
    'env.log.dir': dirs.log,
    'index.path': dirs.index,
    'taskmanager.numberOfTaskSlots': '2',
    'execution.buffer-timeout': '10 ms',
    ...extra,
  });
}

function jobFile(name: string, source: string): string {
  const p = join(root, `${name}.ts`);
  writeFileSync(p, source);
  return p;
}

async function run(file: string, args: string[], extra: Record<string, string> = {}, more: Partial<RunRequest> = {}) {
  const chunks: string[] = [];
  const jobId = more.jobId ?? newJobId();
  const result = await runJob({ jobFile: file, programArgs: args, config: config(extra), jobId, stdout: (t) => chunks.push(t), ...more });
  const lines = chunks.join('').split('\n').filter((l) => l !== '');
  return { result, lines, jobId };
}

const sorted = (xs: string[]) => [...xs].sort();

const PRINT_JOB = `
import { ParameterTool, StreamExecutionEnvironment } from 'flink-ts';
const params = ParameterTool.fromArgs(process.argv.slice(2));
const env = StreamExecutionEnvironment.getExecutionEnvironment();
env.setParallelism(params.getInt('p'));
env.fromSequence(1, 40).map((x: number) => 'n=' + x).filter((s: string) => !s.endsWith('7')).print();
await env.execute('print job');
`;

const SUM_JOB = `
import { ParameterTool, StreamExecutionEnvironment } from 'flink-ts';
const params = ParameterTool.fromArgs(process.argv.slice(2));
const env = StreamExecutionEnvironment.getExecutionEnvironment();
env.setParallelism(params.getInt('p'));
env.fromSequence(1, 300)
  .map((x: number) => [x % 4 === 0 ? 'zero' : 'k' + (x % 4), x])
  .keyBy((t: [string, number]) => t[0])
  .sum(1)
  .print();
await env.execute('sum job');
`;

const FAILING_JOB = `
import { StreamExecutionEnvironment } from 'flink-ts';
const env = StreamExecutionEnvironment.getExecutionEnvironment();
env.fromSequence(1, 100)
  .map((x: number) => { if (x === 42) throw new Error('boom at record ' + x); return x; })
  .print();
await env.execute('failing job');
`;

const CHECKPOINTED_JOB = `
import { DataGeneratorSource, RateLimiterStrategy, StreamExecutionEnvironment } from 'flink-ts';
const env = StreamExecutionEnvironment.getExecutionEnvironment();
env.enableCheckpointing(100);
env.fromSource(new DataGeneratorSource((i: number) => i, Number.MAX_SAFE_INTEGER, RateLimiterStrategy.perSecond(200)), undefined, 'gen')
  .uid('gen')
  .keyBy((i: number) => i % 5)
  .sum(0)
  .uid('sum')
  .filter(() => false)
  .print();
await env.execute('checkpointed job');
`;

describe('mini-cluster runs of job programs', { timeout: 60_000 }, () => {
  test('a bounded job prints the expected lines at parallelism 1', async () => {
    const { result, lines } = await run(jobFile('print1', PRINT_JOB), ['--p', '1']);
    assert.equal(result.status, 'FINISHED');
    const expected = Array.from({ length: 40 }, (_, i) => `n=${i + 1}`).filter((s) => !s.endsWith('7'));
    assert.deepEqual(lines, expected, 'one subtask: no prefix, source order');
  });

  test('a bounded job prints the expected lines at parallelism 2, prefixed by subtask', async () => {
    const { result, lines } = await run(jobFile('print2', PRINT_JOB), ['--p', '2']);
    assert.equal(result.status, 'FINISHED');
    const expected = Array.from({ length: 40 }, (_, i) => i + 1)
      .filter((x) => !String(x).endsWith('7'))
      // The source splits 1..40 into 1..20 and 21..40; map, filter and print are chained to it.
      .map((x) => `${x <= 20 ? 1 : 2}> n=${x}`);
    assert.deepEqual(sorted(lines), sorted(expected));
    for (const sub of ['1> ', '2> ']) {
      const mine = lines.filter((l) => l.startsWith(sub));
      assert.deepEqual(mine, expected.filter((l) => l.startsWith(sub)), `subtask ${sub} keeps its order`);
    }
  });

  for (const p of [1, 2]) {
    test(`a keyed sum gives the correct final value per key at parallelism ${p}`, async () => {
      const { result, lines } = await run(jobFile(`sum${p}`, SUM_JOB), ['--p', String(p)]);
      assert.equal(result.status, 'FINISHED');
      assert.equal(lines.length, 300, 'a streaming reduce emits once per input');
      const finals = new Map<string, number>();
      const counts = new Map<string, number>();
      for (const l of lines) {
        const m = /^(?:(\d)> )?(\[.*\])$/.exec(l);
        assert.ok(m, `unexpected line ${l}`);
        if (p === 1) assert.equal(m[1], undefined);
        else assert.ok(m[1] === '1' || m[1] === '2');
        const [key, sum] = JSON.parse(m[2]) as [string, number];
        finals.set(key, Math.max(finals.get(key) ?? 0, sum));
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      const expected = new Map<string, number>();
      for (let x = 1; x <= 300; x++) {
        const k = x % 4 === 0 ? 'zero' : `k${x % 4}`;
        expected.set(k, (expected.get(k) ?? 0) + x);
      }
      assert.deepEqual(Object.fromEntries([...finals].sort()), Object.fromEntries([...expected].sort()));
      assert.deepEqual([...counts.values()], [75, 75, 75, 75]);
    });
  }

  test('a job whose map throws, with restart strategy none, ends FAILED with a job-failed error naming the cause', async () => {
    const jobId = newJobId();
    await assert.rejects(
      run(jobFile('failing', FAILING_JOB), [], { 'restart-strategy.type': 'none' }, { jobId }),
      (e: unknown) => {
        assert.ok(isFlinkError(e), `expected a FlinkError, got ${String(e)}`);
        assert.equal(e.kind, 'job-failed');
        assert.match(e.message, /boom at record 42/);
        assert.match(e.message, new RegExp(jobId));
        return true;
      },
    );
    const index = CheckpointIndex.open({ path: dirs.index });
    try {
      const rec = index.getJob(jobId);
      assert.ok(rec, 'the job is in the index');
      assert.equal(rec.status, 'FAILED');
      assert.match(rec.failureCause ?? '', /boom at record 42/);
    } finally {
      index.close();
    }
  });

  test('with checkpointing, a completed checkpoint with a loadable _metadata appears while the job runs', async () => {
    const jobId = newJobId();
    let cancel!: () => void;
    const cancelSignal = new Promise<void>((r) => (cancel = r));
    let found: LoadedSnapshot | undefined;
    let pollError: unknown;
    const poll = (async () => {
      const jobDir = join(dirs.checkpoints, jobId);
      const deadline = Date.now() + 20_000;
      try {
        while (!found && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 50));
          if (!existsSync(jobDir)) continue;
          for (const d of readdirSync(jobDir).filter((x) => /^chk-\d+$/.test(x))) {
            if (!existsSync(join(jobDir, d, '_metadata'))) continue;
            const snap = loadSnapshot(join(jobDir, d));
            verifySnapshotFiles(snap);
            found = snap;
            break;
          }
        }
      } catch (e) {
        pollError = e;
      } finally {
        cancel();
      }
    })();
    const { result } = await run(jobFile('checkpointed', CHECKPOINTED_JOB), [], { 'state.checkpoints.num-retained': '3' }, { jobId, cancelSignal });
    await poll;
    assert.equal(pollError, undefined, `reading the checkpoint failed: ${String(pollError)}`);
    assert.ok(found, 'no completed checkpoint appeared within 20 s');
    assert.equal(result.status, 'CANCELED');
    const md = found.metadata;
    assert.equal(md.jobId, jobId);
    assert.equal(md.kind, 'CHECKPOINT');
    assert.ok(md.checkpointId >= 1);
    assert.equal(md.maxParallelism, 128);
    const sum = md.operators.find((o) => o.uid === 'sum');
    assert.ok(sum, 'the keyed sum has state in the checkpoint');
    assert.ok(sum.subtasks.length >= 1);
    assert.deepEqual(sum.subtasks[0].state.keyedStates, { _op_state: 'value' });
    const gen = md.operators.find((o) => o.uid === 'gen');
    assert.ok(gen, 'the source has its split state in the checkpoint');
    assert.ok('SourceReaderState' in gen.subtasks[0].state.operatorStates);
  });

  test('addSink hands every record to a rich SinkFunction, with open and close around them, at parallelism 2', async () => {
    const out = join(root, 'addsink-out');
    const job = jobFile('addsink', `
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { RichSinkFunction, DiscardingSink, StreamExecutionEnvironment } from 'flink-ts';
const out = ${JSON.stringify(out)};
class Collect extends RichSinkFunction<number> {
  private seen: number[] = [];
  private opened = false;
  override open() { this.opened = true; }
  invoke(v: number) { if (!this.opened) throw new Error('invoke before open'); this.seen.push(v); }
  override close() {
    mkdirSync(out, { recursive: true });
    appendFileSync(join(out, 'sub-' + this.getRuntimeContext().getIndexOfThisSubtask()), this.seen.join('\\n') + '\\n');
  }
}
const env = StreamExecutionEnvironment.getExecutionEnvironment();
env.setParallelism(2);
const nums = env.fromSequence(1, 500);
nums.addSink(new Collect()).name('collect');
nums.addSink(new DiscardingSink<number>());
nums.filter((x: number) => x % 100 === 0).addSink((x: number) => console.log('plain ' + x));
await env.execute('addSink');
`);
    const { result } = await run(job, []);
    assert.equal(result.status, 'FINISHED');
    const files = readdirSync(out).sort();
    assert.deepEqual(files, ['sub-0', 'sub-1'], 'each of the 2 sink subtasks closed once');
    const seen = files.flatMap((f) => readFileSync(join(out, f), 'utf8').split('\n').filter(Boolean)).map(Number).sort((a, b) => a - b);
    assert.deepEqual(seen, Array.from({ length: 500 }, (_, i) => i + 1));
  });

  test('an interval join on event time over two keyed inputs at parallelism 2 emits exactly the pairs in the interval', async () => {
    const job = jobFile('intervaljoin', `
import { ProcessJoinFunction, StreamExecutionEnvironment, WatermarkStrategy, FromElementsSource } from 'flink-ts';
type Ev = { k: number; t: number; side: string };
const env = StreamExecutionEnvironment.getExecutionEnvironment();
env.setParallelism(2);
const mk = (side: string, n: number, step: number) => Array.from({ length: n }, (_, i) => ({ k: i % 3, t: i * step, side }));
const ws = WatermarkStrategy.forMonotonousTimestamps<Ev>().withTimestampAssigner((e: Ev) => e.t);
const left = env.fromSource(new FromElementsSource(mk('L', 60, 2)), ws, 'left').keyBy((e: Ev) => e.k);
const right = env.fromSource(new FromElementsSource(mk('R', 40, 3)), ws, 'right').keyBy((e: Ev) => e.k);
class Pair extends ProcessJoinFunction<Ev, Ev, string> {
  processElement(l: Ev, r: Ev, ctx: ProcessJoinFunction.Context, out: { collect(s: string): void }) {
    out.collect(l.k + ':' + l.t + '-' + r.t + '@' + ctx.getTimestamp());
  }
}
left.intervalJoin(right).between(-4, 3).process(new Pair()).print();
await env.execute('interval join');
`);
    const { result, lines } = await run(job, []);
    assert.equal(result.status, 'FINISHED');
    const expected: string[] = [];
    for (let i = 0; i < 60; i++) {
      for (let j = 0; j < 40; j++) {
        const l = { k: i % 3, t: i * 2 };
        const r = { k: j % 3, t: j * 3 };
        if (l.k === r.k && r.t >= l.t - 4 && r.t <= l.t + 3) expected.push(`${l.k}:${l.t}-${r.t}@${Math.max(l.t, r.t)}`);
      }
    }
    assert.ok(expected.length > 20);
    assert.deepEqual(sorted(lines.map((l) => l.replace(/^\d+> /, ''))), sorted(expected));
  });

  test('a window join and a coGroup on event time emit exactly the pairs and groups of each tumbling window', async () => {
    const job = jobFile('windowjoin', `
import { StreamExecutionEnvironment, WatermarkStrategy, FromElementsSource, TumblingEventTimeWindows } from 'flink-ts';
type Ev = { k: number; t: number };
const env = StreamExecutionEnvironment.getExecutionEnvironment();
env.setParallelism(2);
const mk = (n: number, step: number) => Array.from({ length: n }, (_, i) => ({ k: i % 3, t: i * step }));
const ws = WatermarkStrategy.forMonotonousTimestamps<Ev>().withTimestampAssigner((e: Ev) => e.t);
const a = env.fromSource(new FromElementsSource(mk(50, 2)), ws, 'a');
const b = env.fromSource(new FromElementsSource(mk(30, 3)), ws, 'b');
a.join(b).where((e: Ev) => e.k).equalTo((e: Ev) => e.k).window(TumblingEventTimeWindows.of(10))
  .apply((l: Ev, r: Ev) => 'J ' + l.k + ':' + l.t + '-' + r.t).print();
a.coGroup(b).where((e: Ev) => e.k).equalTo((e: Ev) => e.k).window(TumblingEventTimeWindows.of(10))
  .apply({ coGroup: (ls: Ev[], rs: Ev[], out: { collect(s: string): void }) => out.collect('G ' + (ls[0] ?? rs[0]).k + ':' + Math.floor((ls[0] ?? rs[0]).t / 10) + ' ' + ls.length + '/' + rs.length) }).print();
await env.execute('window join');
`);
    const { result, lines } = await run(job, []);
    assert.equal(result.status, 'FINISHED');
    const as = Array.from({ length: 50 }, (_, i) => ({ k: i % 3, t: i * 2 }));
    const bs = Array.from({ length: 30 }, (_, i) => ({ k: i % 3, t: i * 3 }));
    const win = (t: number) => Math.floor(t / 10);
    const expected: string[] = [];
    for (const l of as) for (const r of bs) if (l.k === r.k && win(l.t) === win(r.t)) expected.push(`J ${l.k}:${l.t}-${r.t}`);
    const groups = new Map<string, [number, number]>();
    for (const l of as) { const g = groups.get(`${l.k}:${win(l.t)}`) ?? [0, 0]; g[0]++; groups.set(`${l.k}:${win(l.t)}`, g); }
    for (const r of bs) { const g = groups.get(`${r.k}:${win(r.t)}`) ?? [0, 0]; g[1]++; groups.set(`${r.k}:${win(r.t)}`, g); }
    for (const [key, [x, y]] of groups) expected.push(`G ${key} ${x}/${y}`);
    assert.ok(expected.length > 40);
    assert.deepEqual(sorted(lines.map((l) => l.replace(/^\d+> /, ''))), sorted(expected));
  });
});

