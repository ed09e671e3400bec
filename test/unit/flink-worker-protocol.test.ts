/**
 * The Node.js worker of the Flink runner as a JsOperator sees it: a real bundle (esbuild, as `flink run -m` builds
 * it) started as a process with FLINK_TS_WORKER_SOCKET, spoken to over its Unix socket in the frame protocol of
 * docs/flink-runner.md: OPEN reports the declared keyed states, BATCH carries the keys' prefetched state and
 * records and returns state writes, outputs (with the String key of a keyBy output, the timestamps) and watermarks;
 * SNAPSHOT returns operator state; a failing user function is an ERROR frame with its message.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bundleJob } from '../../src/flink/Bundle.js';
import { exportPlan } from '../../src/flink/FlinkPlan.js';
import { encodeKey } from '../../src/flink/KeyEncoding.js';
import { BinReader, BinWriter, Event, Frame, FrameReader, NO_TIMESTAMP } from '../../src/flink/worker/Frames.js';
import { decode, encode } from '../../src/core/Serializer.js';
import { captureJobGraph } from '../../src/tools/RestoreDryRun.js';
import { Configuration } from '../../src/config/Configuration.js';

const JOB = `
import { KeyedProcessFunction, StreamExecutionEnvironment, ValueStateDescriptor } from 'flink-ts';
class Sum extends KeyedProcessFunction {
  open() { this.sum = this.getRuntimeContext().getState(new ValueStateDescriptor('sum')); }
  processElement(v, ctx, out) {
    if (v === 13) throw new Error('unlucky ' + v);
    const s = (this.sum.value() ?? 0) + v;
    this.sum.update(s);
    out.collect(ctx.getCurrentKey() + '=' + s);
  }
}
class Later extends KeyedProcessFunction {
  open() { this.seen = this.getRuntimeContext().getState(new ValueStateDescriptor('seen')); }
  processElement(v, ctx, out) { this.seen.update(v); ctx.timerService().registerEventTimeTimer(ctx.timestamp() + 10); }
  onTimer(t, ctx, out) { out.collect(ctx.getCurrentKey() + '@' + t + ':' + this.seen.value() + '/' + ctx.timerService().currentWatermark()); }
}
const env = StreamExecutionEnvironment.getExecutionEnvironment();
env.fromElements(1).uid('n2').keyBy((n) => 'k' + n).process(new Later()).uid('later').keyBy((s) => s).print();
env.fromElements(1, 2, 3).uid('numbers')
  .keyBy((n) => (n % 2 ? 'odd' : 'even'))
  .process(new Sum()).uid('sum')
  .keyBy((s) => s.length)
  .print();
await env.execute('protocol job');
`;

/** A connection to the worker: send a frame, read the next one. */
class Conn {
  private readonly reader = new FrameReader();
  private readonly frames: Array<{ type: number; payload: Buffer }> = [];
  private waiting?: () => void;
  constructor(private readonly socket: Socket) {
    socket.on('data', (c: Buffer) => {
      this.frames.push(...this.reader.push(c));
      this.waiting?.();
    });
  }
  send(frame: Buffer): void {
    this.socket.write(frame);
  }
  async next(): Promise<{ type: number; payload: Buffer }> {
    while (this.frames.length === 0) await new Promise<void>((r) => (this.waiting = r));
    return this.frames.shift()!;
  }
  json(type: number, v: unknown): void {
    this.send(new BinWriter().bytesRaw(Buffer.from(JSON.stringify(v))).frame(type));
  }
  close(): void {
    this.socket.destroy();
  }
}

function open(operator: string, programArgs: string[] = []) {
  return { operator, programArgs, subtask: 0, parallelism: 1, maxParallelism: 128, attempt: 0, jobId: '0'.repeat(32), taskName: 't', restored: false, operatorState: {} };
}

/** A BATCH: keys with their value-state bytes (null: empty), then the events. */
function batch(keys: Array<[string, Buffer | null]>, events: Array<['r', number | null, number, unknown] | ['w', bigint] | ['end'] | ['t', number, number, number]>, states = 1): Buffer {
  const w = new BinWriter().int(keys.length);
  for (const [k, v] of keys) {
    w.string(k);
    if (states > 0) w.bytes(v);
  }
  w.int(events.length);
  for (const e of events) {
    if (e[0] === 'r') w.byte(Event.RECORD).long(e[1] === null ? NO_TIMESTAMP : BigInt(e[1])).int(e[2]).bytes(encode(e[3]));
    else if (e[0] === 'w') w.byte(Event.WATERMARK).long(e[1]);
    else if (e[0] === 't') w.byte(Event.TIMER).long(BigInt(e[1])).byte(e[2]).int(e[3]);
    else w.byte(Event.END_INPUT);
  }
  return w.frame(Frame.BATCH);
}

interface Result {
  writes: Array<{ key: number; state: number; value: unknown }>;
  timers: Array<{ key: number; domain: number; register: boolean; time: bigint }>;
  events: Array<{ out: number; ts: bigint; key: string | null; value: unknown } | { watermark: bigint }>;
  nextTimer: bigint;
}

function result(payload: Buffer): Result {
  const r = new BinReader(payload);
  const writes: Result['writes'] = [];
  for (let n = r.int(), i = 0; i < n; i++) {
    const key = r.int();
    const state = r.int();
    const b = r.bytes();
    writes.push({ key, state, value: b === null ? null : decode(b) });
  }
  const timers: Result['timers'] = [];
  for (let n = r.int(), i = 0; i < n; i++) timers.push({ key: r.int(), domain: r.byte(), register: r.byte() === 1, time: r.long() });
  const events: Result['events'] = [];
  for (let n = r.int(), i = 0; i < n; i++) {
    const tag = r.byte();
    if (tag === Event.WATERMARK) events.push({ watermark: r.long() });
    else events.push({ out: r.short(), ts: r.long(), key: r.string(), value: decode(r.bytes()!) });
  }
  return { writes, timers, events, nextTimer: r.long() };
}

describe('flink runner worker protocol', () => {
  let dir: string;
  let child: ChildProcess;
  let socketPath: string;
  let stdout = '';
  let ops: Record<string, string>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'flink-ts-worker-'));
    const jobFile = join(dir, 'job.mjs');
    writeFileSync(jobFile, JOB);
    const { streamGraph } = await captureJobGraph(jobFile, [], new Configuration());
    const plan = exportPlan(streamGraph);
    ops = Object.fromEntries(plan.operators.map((o) => [o.uid, o.id]));
    const bundle = join(dir, 'bundle.mjs');
    writeFileSync(bundle, await bundleJob(jobFile));
    socketPath = join(dir, 'w.sock');
    child = spawn(process.execPath, [bundle], { env: { ...process.env, FLINK_TS_WORKER_SOCKET: socketPath }, stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    for (let i = 0; i < 200 && !existsSync(socketPath); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(existsSync(socketPath), 'the worker listens');
  });
  after(() => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  const connection = async () => {
    const s = connect(socketPath);
    await new Promise<void>((r, j) => s.once('connect', r).once('error', j));
    return new Conn(s);
  };

  it('runs a keyed chain on prefetched state and returns its writes, keyed outputs, timestamps and watermarks', async () => {
    const c = await connection();
    try {
      c.json(Frame.OPEN, open(ops.sum));
      const opened = await c.next();
      assert.equal(opened.type, Frame.OPENED);
      assert.deepEqual(JSON.parse(opened.payload.toString()), { states: [{ name: 'sum', kind: 'value' }] });

      c.send(batch([['odd', null], ['even', encode(100)]], [['r', 5, 0, 1], ['r', 6, 1, 2], ['r', null, 0, 3], ['w', 7n]]));
      const f = await c.next();
      assert.equal(f.type, Frame.RESULT);
      const r = result(f.payload);
      assert.deepEqual(r.writes.sort((a, b) => a.key - b.key), [{ key: 0, state: 0, value: 4 }, { key: 1, state: 0, value: 102 }]);
      assert.deepEqual(r.events, [
        { out: 0, ts: 5n, key: encodeKey('odd=1'.length), value: 'odd=1' },
        { out: 0, ts: 6n, key: encodeKey('even=102'.length), value: 'even=102' },
        { out: 0, ts: NO_TIMESTAMP, key: encodeKey('odd=4'.length), value: 'odd=4' },
        { watermark: 7n },
      ]);
      assert.equal(r.nextTimer, NO_TIMESTAMP);

      // The next batch sees what the JsOperator stored in Flink (here: what the worker wrote), nothing cached.
      c.send(batch([['odd', encode(4)]], [['r', 8, 0, 5]]));
      const r2 = result((await c.next()).payload);
      assert.deepEqual(r2.writes, [{ key: 0, state: 0, value: 9 }]);
      assert.deepEqual(r2.events.map((e) => ('value' in e ? e.value : e)), ['odd=9']);

      c.json(Frame.SNAPSHOT, { checkpointId: 1 });
      const snap = await c.next();
      assert.equal(snap.type, Frame.SNAPSHOTTED);
      assert.deepEqual(JSON.parse(snap.payload.toString()), { operatorState: {}, modes: {} });
      c.json(Frame.CLOSE, {});
      assert.equal((await c.next()).type, Frame.ACK);
    } finally {
      c.close();
    }
  });

  it('decodes a native source\'s records and computes the keyBy key in JS; print() writes to the worker\'s stdout', async () => {
    const src = await connection();
    const sink = await connection();
    try {
      src.json(Frame.OPEN, open(ops['numbers-decode']));
      assert.deepEqual(JSON.parse((await src.next()).payload.toString()), { states: [] });
      src.send(batch([], [['r', null, -1, 7], ['r', null, -1, 8]], 0));
      const r = result((await src.next()).payload);
      assert.deepEqual(r.events.map((e) => 'key' in e && [e.key, e.value]), [['odd', 7], ['even', 8]]);

      const printer = Object.entries(ops).find(([uid]) => uid.startsWith('flink-ts-op-'))![1];
      sink.json(Frame.OPEN, open(printer));
      assert.deepEqual(JSON.parse((await sink.next()).payload.toString()), { states: [] });
      sink.send(batch([['5', null]], [['r', null, 0, 'odd=1'], ['end']], 0));
      const printed = result((await sink.next()).payload);
      assert.deepEqual(printed.events, []);
      for (let i = 0; i < 100 && !stdout.includes('odd=1'); i++) await new Promise((res) => setTimeout(res, 20));
      assert.match(stdout, /^odd=1$/m);
    } finally {
      src.close();
      sink.close();
    }
  });

  it('timers go to Flink as registrations and come back as TIMER events with their key\'s state', async () => {
    const c = await connection();
    try {
      c.json(Frame.OPEN, open(ops.later));
      assert.deepEqual(JSON.parse((await c.next()).payload.toString()), { states: [{ name: 'seen', kind: 'value' }] });
      c.send(batch([['k1', null]], [['r', 5, 0, 1]]));
      const r = result((await c.next()).payload);
      assert.deepEqual(r.writes, [{ key: 0, state: 0, value: 1 }]);
      assert.deepEqual(r.timers, [{ key: 0, domain: 1, register: true, time: 15n }]);
      assert.deepEqual(r.events, []);
      // Flink fires it at watermark 15: the timer first, then the watermark.
      c.send(batch([['k1', encode(1)]], [['t', 15, 1, 0], ['w', 15n]]));
      const fired = result((await c.next()).payload);
      assert.deepEqual(fired.events, [
        { out: 0, ts: 15n, key: encodeKey('k1@15:1/15'), value: 'k1@15:1/15' },
        { watermark: 15n },
      ]);
      assert.deepEqual(fired.timers, []);
    } finally {
      c.close();
    }
  });

  it('a throwing user function is an ERROR frame with its message; other subtasks go on', async () => {
    const c = await connection();
    const other = await connection();
    try {
      c.json(Frame.OPEN, open(ops.sum));
      await c.next();
      other.json(Frame.OPEN, open(ops.sum));
      await other.next();
      c.send(batch([['odd', null]], [['r', 1, 0, 13]]));
      const f = await c.next();
      assert.equal(f.type, Frame.ERROR);
      assert.match(f.payload.toString(), /unlucky 13/);
      other.send(batch([['odd', null]], [['r', 1, 0, 1]]));
      assert.equal((await other.next()).type, Frame.RESULT);
    } finally {
      c.close();
      other.close();
    }
  });
});
