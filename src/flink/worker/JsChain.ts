import { writeSync } from 'node:fs';
import type { RuntimeContext } from '../../api/functions.js';
// The worker's record path: V8's format written and read in JS (src/core/FastV8Codec.ts), not a native (de)serializer per value.
import { fastDeserialize as decode, fastSerialize as encode } from '../../core/FastV8Codec.js';
import type { StreamGraph } from '../../graph/StreamGraph.js';
import type { ChainOutput, ElementTimestamp, OperatorContext, StreamOperator } from '../../operators/StreamOperator.js';
import { computeKeyGroupRangeForOperatorIndex } from '../../state/KeyGroupRangeAssignment.js';
import { OperatorStateBackend } from '../../state/OperatorStateBackend.js';
import { decodeKey, encodeKey } from '../KeyEncoding.js';
import type { FlinkPlan, PlanOperator } from '../FlinkPlan.js';
import { BatchKeyedState } from './BatchKeyedState.js';
import { BridgedTimers } from './BridgedTimers.js';
import type { SourceOperator } from '../../operators/SourceOperator.js';
import { TimestampsAndWatermarksOperator } from '../../operators/TimestampsAndWatermarksOperator.js';
import { BinReader, BinWriter, Event, NO_TIMESTAMP } from './Frames.js';

/** The OPEN frame of a subtask (JsOperator.open). */
export interface OpenMessage {
  operator: string;
  programArgs: string[];
  subtask: number;
  parallelism: number;
  maxParallelism: number;
  attempt: number;
  jobId: string;
  taskName: string;
  restored: boolean;
  /** Flink's operator list states of this subtask (already redistributed by Flink), elements as base64 V8 bytes. */
  operatorState: Record<string, string[]>;
  /** Flink's broadcast states (JsBroadcastOperator): name -> [encodeKey(k), base64 V8 bytes of the value]. */
  broadcastState?: Record<string, Array<[string, string]>>;
}

/** Connector hooks of a Flink-native source or sink (i17-connectors' toFlinkConnector()). */
interface ConnectorCodec {
  /** One raw record may become any number of values (Kafka deserializers). */
  decode?: (raw: Uint8Array, collect: (value: unknown) => void) => void;
  encode?: (value: unknown) => Uint8Array;
}

/**
 * Records for input 2 of a two-input operator (connect) carry this leading byte: the runner unions both inputs into
 * one Flink input, and V8's format always starts with 0xFF, so the marker is unambiguous.
 */
const INPUT2 = Buffer.from([0x02]);

const LONG_MAX = 2n ** 63n - 1n;
/** NO_TIMESTAMP as BinReader.longNumber reads it. */
const NO_TIMESTAMP_NUMBER = -(2 ** 63);
const LONG_MIN = -(2n ** 63n);

function toLong(ms: number | undefined): bigint {
  if (ms === undefined) return NO_TIMESTAMP;
  if (ms >= 9.2e18) return LONG_MAX;
  if (ms <= -9.2e18) return LONG_MIN + 1n;
  return BigInt(Math.trunc(ms));
}

/**
 * One subtask of a plan operator inside the worker: the chain's flink-ts operators, created from the rebuilt
 * StreamGraph's factories exactly as a mini-cluster task creates them, fed by the JsOperator's batches. A native
 * source at the head is the decoding of its byte[] records; a native sink at the tail, their encoding.
 */
export class JsChain {
  private readonly operators: StreamOperator[] = [];
  private readonly element: ElementTimestamp = { timestamp: undefined };
  private readonly keyed?: BatchKeyedState;
  private readonly opState = new OperatorStateBackend();
  /** Feeds one input record's values to the chain (a native source's decode may yield several). */
  private readonly decodeInput: (b: Buffer, collect: (v: unknown) => void) => void;
  private out!: BinWriter;
  private outCount = 0;
  private outCountAt = 0;
  private stdoutLines: string[] = [];
  private readonly timers: Array<{ time: number; callback: () => void }> = [];
  /** The keyed head's timers (in Flink's timer service). */
  private bridged?: BridgedTimers;

  constructor(sg: StreamGraph, plan: FlinkPlan, op: PlanOperator, m: OpenMessage) {
    const nodes = op.nodes.filter((id) => id !== op.source?.node && id !== op.sink?.node);
    const codec = (id: number) => (sg.node(id).connector as { toFlinkConnector(): ConnectorCodec }).toFlinkConnector();
    const srcDecode = op.source ? codec(op.source.node).decode : undefined;
    this.decodeInput = srcDecode ? (b, collect) => srcDecode(b, collect) : (b, collect) => collect(decode(b));
    const sinkEncode = op.sink ? codec(op.sink.node).encode ?? ((v: unknown) => encode(v)) : undefined;
    if (op.keyed) this.keyed = new BatchKeyedState(computeKeyGroupRangeForOperatorIndex(m.maxParallelism, m.parallelism, m.subtask), m.maxParallelism);
    const restoredOps = Object.entries(m.operatorState);
    const restoredBroadcast = Object.entries(m.broadcastState ?? {});
    if (restoredOps.length > 0 || restoredBroadcast.length > 0) {
      this.opState.restore([Object.fromEntries([
        ...restoredOps.map(([name, items]) => [name, { mode: 'SPLIT_DISTRIBUTE', entries: items.map((b) => decode(Buffer.from(b, 'base64'))) }]),
        // CoBroadcastOperator keeps a broadcast state as BROADCAST list of [key, value] pairs
        ...restoredBroadcast.map(([name, es]) => [name, { mode: 'BROADCAST', entries: es.map(([k, v]) => [decodeKey(k), decode(Buffer.from(v, 'base64'))]) }]),
      ])], 0, 1);
    }

    // The chain's last output: encode once, route to the plan outputs (keyBy outputs get their String key here).
    const routes = op.outputs.map((o, i) => ({
      index: i, tag: plan.edges[o.edge].outputTag, key: o.keyed ? sg.edges[o.edge].keySelector : undefined, input2: plan.edges[o.edge].typeNumber === 2,
    }));
    const emit = (index: number, key: string | null, bytes: Uint8Array) => {
      const ts = this.element.timestamp;
      this.out.byte(Event.RECORD).short(index);
      if (ts === undefined) this.out.long(NO_TIMESTAMP);
      else if (Number.isSafeInteger(ts)) this.out.longNumber(ts); // no bigint per record
      else this.out.long(toLong(ts));
      this.out.string(key).bytes(bytes);
      this.outCount++;
    };
    const toRoutes = (tag: string | null, v: unknown) => {
      let bytes: Uint8Array | undefined;
      for (const r of routes) {
        if (r.tag !== tag) continue;
        bytes ??= encode(v);
        emit(r.index, r.key ? encodeKey(r.key(v)) : null, r.input2 ? Buffer.concat([INPUT2, bytes]) : bytes);
      }
    };
    const last: ChainOutput = sinkEncode
      ? { collect: (v) => emit(0, null, sinkEncode(v)), collectSide: () => {}, emitWatermark: () => {}, emitWatermarkStatus: () => {} }
      : {
        collect: (v) => toRoutes(null, v),
        collectSide: (tag, v) => toRoutes(tag, v),
        emitWatermark: (wm) => {
          this.out.byte(Event.WATERMARK).long(toLong(wm));
          this.outCount++;
        },
        emitWatermarkStatus: () => {},
      };
    this.lastOutput = last;
    this.twoInputs = !op.source && plan.edges.some((e) => e.target === op.nodes[0] && e.typeNumber === 2);
    const keyed = this.keyed;
    const runtimeContext: RuntimeContext = {
      getState: (d) => this.keyedOrThrow().getState(d as never),
      getListState: (d) => this.keyedOrThrow().getListState(d),
      getReducingState: (d) => this.keyedOrThrow().getReducingState(d),
      getAggregatingState: (d) => this.keyedOrThrow().getAggregatingState(d),
      getMapState: (d) => this.keyedOrThrow().getMapState(d),
      getIndexOfThisSubtask: () => m.subtask,
      getNumberOfParallelSubtasks: () => m.parallelism,
      getMaxNumberOfParallelSubtasks: () => m.maxParallelism,
      getAttemptNumber: () => m.attempt,
      getTaskName: () => m.taskName,
      getJobId: () => m.jobId,
    };
    // A Flink-native source's WatermarkStrategy runs here, on its decoded records (one generator per subtask).
    const factories = nodes.map((id) => sg.node(id).factory);
    if (op.source) {
      const strategy = (sg.node(op.source.node).factory() as SourceOperator<unknown>).watermarkStrategy;
      if (strategy.emitsWatermarks || strategy.createTimestampAssigner()) factories.unshift(() => new TimestampsAndWatermarksOperator(strategy));
    }
    for (let i = factories.length - 1; i >= 0; i--) {
      const operator = factories[i]();
      const next = this.operators[0];
      const ctx: OperatorContext = {
        jobId: m.jobId, operatorId: op.uid, taskName: m.taskName, subtask: m.subtask, parallelism: m.parallelism,
        maxParallelism: m.maxParallelism, attempt: m.attempt, restored: m.restored, waitsForFinalCheckpoint: false,
        output: next
          ? { collect: (v) => next.processElement(v), emitWatermark: (wm) => next.processWatermark(wm), emitWatermarkStatus: (idle) => next.processWatermarkStatus(idle), collectSide: () => {} }
          : last,
        element: this.element,
        autoWatermarkInterval: plan.autoWatermarkInterval ?? 200,
        operatorState: this.opState,
        keyed: i === 0 ? keyed : undefined,
        runtimeContext,
        stdout: (line) => this.stdoutLines.push(line),
        processingTimeService: { now: () => Date.now(), schedule: (time, callback) => void this.timers.push({ time, callback }) },
        resume: () => {}, // Flink drives the input: nothing here is ever backpressured
        forEachRestoredKeyedEntry: () => {}, // keyed state and timers stay in Flink
        ...(i === 0 && keyed ? { timerServiceFactory: (onTimer) => (this.bridged = new BridgedTimers(keyed, onTimer)) } : {}),
      };
      operator.setup(ctx);
      this.operators.unshift(operator);
    }
  }

  private readonly lastOutput: ChainOutput;
  /** The head has a second input (its records carry the INPUT2 marker); a native source's raw bytes never do. */
  private readonly twoInputs: boolean;

  private keyedOrThrow(): BatchKeyedState {
    if (!this.keyed) throw new Error("Keyed state can only be used on a 'keyed stream', i.e., after a 'keyBy()' operation.");
    return this.keyed;
  }

  /** initializeState + open (tail first, as in a task); returns the declared keyed states for the JsOperator. */
  open(): { states: ReturnType<BatchKeyedState['describe']> } {
    this.begin();
    for (const op of this.operators) op.initializeState();
    for (let i = this.operators.length - 1; i >= 0; i--) this.operators[i].open();
    this.keyed?.sealDeclarations();
    this.flushStdout();
    return { states: this.keyed?.describe() ?? [] };
  }

  private begin(): void {
    this.out = new BinWriter();
  }

  private flushStdout(): void {
    if (this.stdoutLines.length === 0) return;
    writeSync(1, this.stdoutLines.join('\n') + '\n');
    this.stdoutLines = [];
  }

  private runDueTimers(): void {
    const now = Date.now();
    for (;;) {
      const i = this.timers.findIndex((t) => t.time <= now);
      if (i < 0) return;
      const [t] = this.timers.splice(i, 1);
      t.callback();
    }
  }

  /** Runs one BATCH frame; returns the RESULT frame's payload writer (state writes, then output events). */
  async batch(payload: Buffer): Promise<BinWriter> {
    const r = new BinReader(payload);
    this.keyed?.readBatchKeys(r);
    if (!this.keyed) {
      const n = r.int();
      for (let k = 0; k < n; k++) r.string();
    }
    this.begin();
    this.outCountAt = this.out.position;
    this.out.int(0);
    this.outCount = 0;
    this.runDueTimers();
    const head = this.operators[0];
    const feed = head ? (v: unknown) => head.processElement(v) : (v: unknown) => this.lastOutput.collect(v);
    const feed2 = (v: unknown) => head!.processElement2(v);
    const twoInputs = this.twoInputs;
    const events = r.int();
    for (let e = 0; e < events; e++) {
      const tag = r.byte();
      if (tag === Event.RECORD) {
        const ts = r.longNumber();
        const k = r.int();
        const bytes = r.bytes()!;
        this.element.timestamp = ts === NO_TIMESTAMP_NUMBER ? undefined : ts;
        if (k >= 0) this.keyed?.setCurrentKeyIndex(k);
        if (twoInputs && bytes[0] === INPUT2[0]) feed2(decode(bytes.subarray(1)));
        else this.decodeInput(bytes, feed);
      } else if (tag === Event.WATERMARK) {
        const wm = r.long();
        const ms = wm >= LONG_MAX ? Number.MAX_SAFE_INTEGER : Number(wm);
        if (head) head.processWatermark(ms);
        else this.lastOutput.emitWatermark(ms);
      } else if (tag === Event.TIMER) {
        const time = Number(r.long());
        const domain = r.byte();
        this.keyed!.setCurrentKeyIndex(r.int());
        if (!this.bridged) throw new Error('a timer fired for an operator without timers');
        this.bridged.fire(time, domain);
      } else if (tag === Event.END_INPUT) {
        for (const op of this.operators) await op.endInput();
      }
    }
    this.out.intAt(this.outCountAt, this.outCount);
    this.flushStdout();
    // RESULT: state writes and timer registrations first (the JsOperator applies them before emitting), then the
    // events, then the next processing-time callback.
    const result = new BinWriter();
    if (this.keyed) this.keyed.writeStateWrites(result);
    else result.int(0);
    if (this.bridged) this.bridged.writeOps(result);
    else result.int(0);
    const events2 = this.out.frame(0).subarray(5);
    result.bytesRaw(events2);
    const next = this.timers.reduce((m, t) => Math.min(m, t.time), Infinity);
    result.long(next === Infinity ? NO_TIMESTAMP : toLong(next));
    return result;
  }

  /** Operator snapshot at the barrier: the chain's operator list states, as base64 V8 bytes per element. */
  async snapshot(checkpointId: number): Promise<{ operatorState: Record<string, string[]>; modes: Record<string, string>; broadcastState?: Record<string, Array<[string, string]>> }> {
    for (const op of this.operators) op.snapshotState(checkpointId);
    for (const op of this.operators) await op.snapshotStateAsync(checkpointId);
    this.flushStdout();
    const all = Object.entries(this.opState.snapshot());
    const lists = all.filter(([, l]) => l.mode !== 'BROADCAST');
    // Broadcast state goes to Flink's broadcast MapState<String, byte[]> (JsBroadcastOperator), keys via encodeKey.
    const broadcast = all.filter(([, l]) => l.mode === 'BROADCAST');
    return {
      operatorState: Object.fromEntries(lists.map(([name, l]) => [name, l.entries.map((e) => encode(e).toString('base64'))])),
      modes: Object.fromEntries(lists.map(([name, l]) => [name, l.mode])),
      ...(broadcast.length > 0 ? {
        broadcastState: Object.fromEntries(broadcast.map(([name, l]) => [name,
          (l.entries as Array<[unknown, unknown]>).map(([k, v]) => [encodeKey(k), encode(v).toString('base64')] as [string, string])])),
      } : {}),
    };
  }

  async complete(checkpointId: number): Promise<void> {
    for (const op of this.operators) await op.notifyCheckpointComplete(checkpointId);
    this.flushStdout();
  }

  close(): void {
    for (const op of this.operators) op.close();
    this.flushStdout();
  }
}
