import { performance } from 'node:perf_hooks';
import { MIN_WATERMARK } from '../api/eventtime.js';
import { FlinkError } from '../core/FlinkError.js';
import type { StateFileHandle } from '../state/StateHandles.js';
import type { JobGraph, JobVertex } from '../graph/JobGraph.js';
import type { StreamGraph } from '../graph/StreamGraph.js';
import type { RuntimeContext } from '../api/functions.js';
import type { KeyedStateBackend } from '../state/KeyedStateBackend.js';
import { createKeyedStateBackend, type StateBackendSpec } from '../state/StateBackendLoader.js';
import { computeKeyGroupRangeForOperatorIndex } from '../state/KeyGroupRangeAssignment.js';
import { OperatorStateBackend } from '../state/OperatorStateBackend.js';
import { readKeyGroups, readOperatorState, verifyStateFile, type OperatorStateSnapshot } from '../state/StateFile.js';
import type { ChannelEvent } from './network/events.js';
import { faultPoint } from '../core/FaultInjection.js';
import type { CheckpointBarrier } from '../checkpoint/CheckpointOptions.js';
import { OutputChannel, RecordWriter, BATCH_SIZE } from './network/RecordWriter.js';
import { CheckpointBarrierHandler, type InputChannel } from './CheckpointBarrierHandler.js';
import { readChannelState } from './ChannelState.js';
import type { Transport } from './network/Transport.js';
import { SourceOperator } from '../operators/SourceOperator.js';
import { SubtaskCheckpointCoordinator } from './SubtaskCheckpointCoordinator.js';
import type { ChainOutput, OperatorContext, StreamOperator } from '../operators/StreamOperator.js';
import { StatusWatermarkValve } from './StatusWatermarkValve.js';
import type { TaskDeployment, TaskToJobManager } from './messages.js';
import { TaskMetrics, type TaskMetricsReport } from './TaskMetrics.js';

/** Longest stretch a task runs before yielding to the other tasks and messages of its worker. */
const TIME_SLICE_MS = 5;
/** Target time between two checks of the time slice while processing a batch. */
const CHUNK_MS = 1;

export interface TaskHost {
  readonly transport: Transport;
  readonly streamGraph: StreamGraph;
  readonly jobGraph: JobGraph;
  readonly bufferTimeoutMs: number;
  /** pipeline.auto-watermark-interval (ms); 200 when not given. */
  readonly autoWatermarkIntervalMs?: number;
  /** The job's keyed state backend; the heap one when absent. */
  readonly stateBackend?: StateBackendSpec;
  send(msg: TaskToJobManager): void;
}

type TaskState = 'DEPLOYING' | 'RUNNING' | 'FINISHED' | 'CANCELED' | 'FAILED';

/**
 * One parallel subtask of a JobVertex: its operator chain, input channels and record writers, run as a
 * cooperative loop on the worker's event loop (Flink's StreamTask and mailbox). Barriers arrive in-band;
 * with several inputs the task aligns them (exactly-once) before snapshotting.
 */
export class StreamTask {
  readonly vertex: JobVertex;
  readonly name: string;
  private state: TaskState = 'DEPLOYING';
  private readonly operators: StreamOperator[] = [];
  private readonly keyedBackends: (KeyedStateBackend | undefined)[] = [];
  private readonly opStates: OperatorStateBackend[] = [];
  private readonly writers: RecordWriter[] = [];
  private readonly inputs: InputChannel[] = [];
  private readonly byChannel = new Map<number, InputChannel>();
  private source?: SourceOperator<unknown>;
  private keySelector?: (v: unknown) => unknown;
  /** Key selector of input 2 of a keyed two-input head (connect of two keyed streams). */
  private keySelector2?: (v: unknown) => unknown;
  private headKeyed?: KeyedStateBackend;
  private scheduled = false;
  /** Records processed between two checks of the time slice (adapted to the operators' speed). */
  private chunk = 64;
  private nextInput = 0;
  private stdoutLines: string[] = [];
  private flushTimer?: NodeJS.Timeout;
  private sourceWait?: NodeJS.Timeout;
  /** Barrier alignment (aligned, unaligned, at-least-once) over this task's input channels. */
  private readonly barriers: CheckpointBarrierHandler;
  /** The task's part of each checkpoint: state snapshots, the barrier downstream, files, acknowledgement. */
  private readonly checkpoints: SubtaskCheckpointCoordinator;
  private suspended = false;
  /** End of input reached; finishing (operators may still complete asynchronously). */
  private ending = false;
  /** Event timestamp of the record in the chain (see ElementTimestamp). */
  private readonly element: { timestamp: number | undefined } = { timestamp: undefined };
  /** Combines the watermarks of all input channels into the head operator's. */
  private valve?: StatusWatermarkValve;
  /**
   * FLIP-147: the end of input is reached and every operator's endInput settled; a snapshot from now on is a
   * final checkpoint. The task finishes (EndOfPartition, FINISHED) once one of them completed.
   */
  private dataFinished = false;
  /** Checkpoints this task snapshotted after its end of data (any of them completing lets it finish). */
  private readonly finalCandidates = new Set<number>();
  /** A trigger for a task whose upstream tasks all finished, waiting for the last EndOfPartition to be processed. */
  private deferredTrigger?: CheckpointBarrier;
  private finishing = false;
  /** Verified restored state files per operator, kept until the operators have opened. */
  private readonly restoredFiles = new Map<string, { bytes: Buffer; handle: StateFileHandle }[]>();
  /** Records, bytes and busy/idle/backpressured time, reported to the JobManager about once a second. */
  private readonly metrics = new TaskMetrics();

  constructor(private readonly host: TaskHost, readonly d: TaskDeployment) {
    this.vertex = host.jobGraph.vertices[d.vertexIndex];
    this.name = `${this.vertex.name} (${d.subtask + 1}/${this.vertex.parallelism})`;
    this.checkpoints = new SubtaskCheckpointCoordinator({
      vertex: this.vertex, deployment: d, operators: this.operators, keyedBackends: this.keyedBackends, opStates: this.opStates,
      writers: this.writers, flushOutputs: () => this.flushOutputs(), send: (m) => host.send(m),
    });
    this.barriers = new CheckpointBarrierHandler({
      inputs: this.inputs,
      mode: d.checkpointMode,
      snapshot: (b, unaligned, firstBarrierAt) => this.snapshot(b, unaligned, firstBarrierAt),
      decline: (id, reason, subsumed) =>
        this.host.send({ type: 'decline', checkpointId: id, vertexIndex: d.vertexIndex, subtask: d.subtask, reason, ...(subsumed ? { subsumed } : {}) }),
      schedule: () => this.schedule(),
    });
  }

  start(): void {
    if (this.d.finishedOnRestore) return this.finishOnRestore();
    try {
      this.setup();
      this.state = 'RUNNING';
      this.report('RUNNING');
      const t = this.host.bufferTimeoutMs;
      if (t > 0) this.flushTimer = setInterval(() => this.guard(() => this.flushOutputs()), t);
      this.schedule();
    } catch (e) {
      this.fail(e);
    }
  }

  /**
   * Every operator of this vertex is finished in the restored snapshot (FLIP-147's fully finished operators):
   * nothing runs again; downstream gets EndOfPartition at once.
   */
  private finishOnRestore(): void {
    this.setupOutputs();
    this.state = 'RUNNING';
    this.report('RUNNING');
    for (const w of this.writers) w.broadcastEvent({ type: 'eop' });
    this.flushOutputs();
    this.finish('FINISHED');
  }

  private setupOutputs(): void {
    const { d, vertex, host } = this;
    d.outputs.forEach((o, i) => {
      const edge = vertex.outputs[i];
      const target = host.jobGraph.vertices[edge.target];
      const chans = o.channels.map((c) => new OutputChannel(host.transport, c.channelId, c.toWorker, () => this.schedule()));
      const keySel = edge.keyEdge !== undefined ? host.streamGraph.edges[edge.keyEdge].keySelector : undefined;
      this.writers.push(new RecordWriter(edge.partitioner, chans, keySel, target.maxParallelism, d.subtask));
    });
  }

  private setup(): void {
    const { d, vertex, host } = this;
    for (const ic of d.inputChannels) {
      const ch: InputChannel = { id: ic.channelId, fromWorker: ic.fromWorker, input: ic.input, queue: [], blocked: false, finished: false, endOfData: false };
      this.inputs.push(ch);
      this.byChannel.set(ch.id, ch);
      // Every arrival passes the barrier handler first: unaligned barriers overtake the queue there.
      const arrive = (item: InputChannel['queue'][number]) => {
        if (this.state === 'RUNNING' && this.barriers.onArrival(ch, item)) return;
        ch.queue.push(item);
        this.schedule();
      };
      host.transport.registerInput(ch.id, {
        onBatch: (records, timestamps, bytes, keyHashes) => {
          this.metrics.numBytesIn += bytes;
          arrive({ records, timestamps, keyHashes });
        },
        onEvent: (event) => arrive({ event }),
      });
    }
    this.setupOutputs();

    // Side-output edges get only their tag's records; watermarks go to every edge.
    const element = this.element;
    const metrics = this.metrics;
    const mainWriters = this.writers.filter((_, i) => vertex.outputs[i].outputTag === undefined);
    const collectToWriters: ChainOutput = {
      collect: (v) => {
        metrics.numRecordsOut++;
        for (const w of mainWriters) w.emit(v, element.timestamp);
      },
      emitWatermark: (wm) => { for (const w of this.writers) w.broadcastEvent({ type: 'watermark', timestamp: wm }); },
      emitWatermarkStatus: (idle) => { for (const w of this.writers) w.broadcastEvent({ type: 'watermarkStatus', idle }); },
      collectSide: (tag, v) => {
        metrics.numRecordsOut++;
        this.writers.forEach((w, i) => { if (vertex.outputs[i].outputTag === tag) w.emit(v, element.timestamp); });
      },
    };
    const ops = vertex.operators;
    for (let i = ops.length - 1; i >= 0; i--) {
      const node = host.streamGraph.node(ops[i].nodeId);
      const op = node.factory();
      const keyed = i === 0 && node.keySelector
        ? createKeyedStateBackend(
          host.stateBackend, computeKeyGroupRangeForOperatorIndex(vertex.maxParallelism, vertex.parallelism, d.subtask), vertex.maxParallelism,
          { jobId: d.jobId, operatorId: ops[i].operatorId, subtask: d.subtask },
          (state, why) => host.send({
            type: 'log', level: 'INFO',
            message: `State '${state}' of ${this.name} moved from binary rows to JS objects (${why}): more memory per key from now on.`,
          }),
        )
        : undefined;
      const opState = new OperatorStateBackend();
      const restore = d.restore?.[ops[i].operatorId];
      if (restore) this.restoreState(ops[i].operatorId, restore, keyed, opState);
      const next = this.operators[0];
      const ctx: OperatorContext = {
        jobId: d.jobId,
        operatorId: ops[i].operatorId,
        taskName: this.name,
        subtask: d.subtask,
        parallelism: vertex.parallelism,
        maxParallelism: vertex.maxParallelism,
        attempt: d.attempt,
        restored: !!restore,
        waitsForFinalCheckpoint: !!d.finalCheckpoint,
        output: next
          ? {
            collect: (v) => next.processElement(v),
            emitWatermark: (wm) => next.processWatermark(wm),
            emitWatermarkStatus: (idle) => next.processWatermarkStatus(idle),
            collectSide: () => {}, // an operator inside a chain has no side-output consumers (never chained)
          }
          : collectToWriters,
        element,
        autoWatermarkInterval: host.autoWatermarkIntervalMs ?? 200,
        operatorState: opState,
        keyed,
        runtimeContext: this.runtimeContext(keyed),
        stdout: (line) => this.stdoutLines.push(line),
        processingTimeService: this.processingTimeService,
        resume: () => this.schedule(),
        forEachRestoredKeyedEntry: (name, visit) => {
          if (keyed?.forEachStoredEntry(name, visit)) return; // the embedded backend restored into its store
          for (const f of this.restoredFiles.get(ops[i].operatorId) ?? []) {
            readKeyGroups(f.bytes, f.handle, keyed!.keyGroupRange, (stateName, _kg, flat) => {
              if (stateName !== name) return;
              for (let j = 0; j < flat.length; j += 2) visit(flat[j], flat[j + 1]);
            });
          }
        },
      };
      op.setup(ctx);
      this.operators.unshift(op);
      this.keyedBackends.unshift(keyed);
      this.opStates.unshift(opState);
      if (keyed) {
        this.headKeyed = keyed;
        this.keySelector = node.keySelector;
        this.keySelector2 = node.keySelector2;
      }
    }
    if (this.operators[0] instanceof SourceOperator) this.source = this.operators[0] as SourceOperator<unknown>;
    const head = this.operators[0];
    this.valve = new StatusWatermarkValve(this.inputs.length, {
      emitWatermark: (wm) => head.processWatermark(wm),
      emitWatermarkStatus: (idle) => head.processWatermarkStatus(idle),
    });
    for (const op of this.operators) op.initializeState();
    for (let i = this.operators.length - 1; i >= 0; i--) this.operators[i].open();
    this.restoredFiles.clear(); // only needed while operators open
    if (d.channelState) this.restoreChannelState(d.channelState);
  }

  /**
   * In-flight data of an unaligned checkpoint: output records are re-sent and input records are processed
   * before anything new arrives, exactly where they were when the checkpoint was taken.
   */
  private restoreChannelState(spec: NonNullable<TaskDeployment['channelState']>): void {
    const st = readChannelState(spec.dir, spec.handle);
    if (st.inputs.some((i) => i.channel >= this.inputs.length) || st.outputs.some((o) => !this.writers[o.writer]?.channels[o.channel])) {
      throw new FlinkError('restore', `The in-flight data of ${this.name} in ${spec.dir} does not match the job's channels (unaligned checkpoints cannot be rescaled).`);
    }
    for (const o of st.outputs) this.writers[o.writer].channels[o.channel].restoreOvertaken(o.batches);
    for (const i of st.inputs) this.inputs[i.channel].queue.unshift(...i.batches.map((b) => ({ ...b, replayed: true })));
  }

  private readonly timers = new Set<NodeJS.Timeout>();
  /** At the end of input the service is quiesced, as in Flink: pending processing-time timers never fire. */
  private timersQuiesced = false;
  private readonly processingTimeService = {
    now: () => Date.now(),
    schedule: (time: number, callback: () => void) => {
      if (this.timersQuiesced) return;
      const t = setTimeout(() => {
        this.timers.delete(t);
        this.guard(() => {
          callback();
          this.schedule(); // flush what the timers emitted
        });
      }, Math.max(0, time - Date.now()));
      this.timers.add(t);
    },
  };

  private restoreState(operatorId: string, spec: NonNullable<TaskDeployment['restore']>[string], keyed: KeyedStateBackend | undefined, opState: OperatorStateBackend): void {
    const files = spec.files
      .slice()
      .sort((a, b) => a.subtask - b.subtask)
      .map((f) => ({ ...f, bytes: verifyStateFile(f.dir, f.handle) }));
    this.restoredFiles.set(operatorId, files);
    keyed?.restore(files.map((f) => ({ bytes: f.bytes, handle: f.handle, dir: f.dir })));
    const parts: OperatorStateSnapshot[] = files.map((f) => readOperatorState(f.bytes, f.handle));
    opState.restore(parts, this.d.subtask, this.vertex.parallelism);
  }

  private keyedStateBackend(keyed: KeyedStateBackend | undefined): KeyedStateBackend {
    if (!keyed) throw new FlinkError('invalid-argument', "Keyed state can only be used on a 'keyed stream', i.e., after a 'keyBy()' operation.");
    return keyed;
  }

  private runtimeContext(keyed: KeyedStateBackend | undefined): RuntimeContext {
    const { d, vertex } = this;
    return {
      getState: (desc) => {
        if (!keyed) throw new FlinkError('invalid-argument', "Keyed state can only be used on a 'keyed stream', i.e., after a 'keyBy()' operation.");
        return keyed.getState(desc);
      },
      getListState: (desc) => this.keyedStateBackend(keyed).getListState(desc),
      getReducingState: (desc) => this.keyedStateBackend(keyed).getReducingState(desc),
      getAggregatingState: (desc) => this.keyedStateBackend(keyed).getAggregatingState(desc),
      getMapState: (desc) => this.keyedStateBackend(keyed).getMapState(desc),
      getIndexOfThisSubtask: () => d.subtask,
      getNumberOfParallelSubtasks: () => vertex.parallelism,
      getMaxNumberOfParallelSubtasks: () => vertex.maxParallelism,
      getAttemptNumber: () => d.attempt,
      getTaskName: () => this.name,
      getJobId: () => d.jobId,
    };
  }

  // ---------------------------------------------------------------- processing loop

  private schedule(): void {
    if (this.scheduled || this.state !== 'RUNNING') return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.guard(() => this.run());
    });
  }

  private guard(fn: () => void): void {
    if (this.state !== 'RUNNING') return;
    try {
      fn();
    } catch (e) {
      this.fail(e);
    }
  }

  private get outputsAvailable(): boolean {
    for (const w of this.writers) if (!w.isAvailable) return false;
    for (const op of this.operators) if (op.backpressured) return false;
    return true;
  }

  private run(): void {
    this.metrics.beginSlice();
    let waitingFor: 'idle' | 'backpressured' | void = undefined;
    try {
      waitingFor = this.runSlice();
    } finally {
      this.metrics.endSlice(waitingFor || undefined);
    }
  }

  /** One time slice; returns what the task waits for afterwards (undefined: it rescheduled itself or ended). */
  private runSlice(): 'idle' | 'backpressured' | void {
    const deadline = performance.now() + TIME_SLICE_MS;
    if (this.source) {
      // A source at its end polls no more (waiting for its final checkpoint, triggers still reach it).
      if (this.suspended || this.ending) return 'idle';
      while (this.state === 'RUNNING' && this.outputsAvailable) {
        const r = this.source.pollNext(BATCH_SIZE);
        if (r === 'end') return this.endOfInput();
        if (r > 0) {
          this.flushOutputs();
          this.sourceWait = setTimeout(() => this.schedule(), r);
          return 'idle';
        }
        if (performance.now() >= deadline) return this.schedule();
      }
      return this.state === 'RUNNING' ? 'backpressured' : undefined; // a returned credit reschedules us
    }
    while (this.state === 'RUNNING' && this.outputsAvailable) {
      const ch = this.pickInput();
      if (!ch) {
        this.flushOutputs(); // idle: don't let records wait for a full batch
        return 'idle';
      }
      const item = ch.queue[0];
      if ('records' in item) {
        // In slices, so that a slow operator still lets barriers, triggers and I/O through between them
        // (Flink checks its mailbox between records); an unfinished rest stays at the head of the queue.
        const { records, timestamps, keyHashes } = item;
        let i = 0;
        while (i < records.length) {
          const t0 = performance.now();
          const whole = i === 0 && records.length <= this.chunk;
          const part = whole ? records : records.slice(i, i + this.chunk);
          const ts = timestamps && (whole ? timestamps : timestamps.subarray(i, i + part.length));
          const hs = keyHashes && (whole ? keyHashes : keyHashes.subarray(i, i + part.length));
          this.processBatch(part, ts, hs, ch.input);
          i += part.length;
          // Chunks of about CHUNK_MS: fast records go a whole batch at a time, slow ones a few at a time.
          const perRecord = (performance.now() - t0) / part.length;
          this.chunk = Math.max(1, Math.min(BATCH_SIZE, Math.floor(CHUNK_MS / Math.max(perRecord, 1e-6))));
          if (i < records.length && performance.now() >= deadline) {
            ch.queue[0] = { records: records.slice(i), timestamps: timestamps?.subarray(i), keyHashes: keyHashes?.subarray(i), replayed: item.replayed };
            return this.schedule();
          }
        }
        ch.queue.shift();
        if (!item.replayed) this.host.transport.sendCredit(ch.fromWorker, ch.id, 1);
      } else {
        ch.queue.shift();
        this.onEvent(ch, item.event);
      }
      if (performance.now() >= deadline) return this.schedule();
    }
    return this.state === 'RUNNING' ? 'backpressured' : undefined;
  }

  private pickInput(): InputChannel | undefined {
    const n = this.inputs.length;
    for (let k = 0; k < n; k++) {
      const ch = this.inputs[(this.nextInput + k) % n];
      if (!ch.blocked && ch.queue.length > 0) {
        this.nextInput = (this.nextInput + k + 1) % n;
        return ch;
      }
    }
    return undefined;
  }

  /**
   * A batch of one input: each record gets its timestamp and, on a keyed head, its key by that input's selector
   * (with the hash the partitioner computed from the same selector, when the batch carries it).
   */
  private processBatch(records: unknown[], ts: Float64Array | undefined, hs: Uint32Array | undefined, input: 1 | 2): void {
    const head = this.operators[0];
    const element = this.element;
    // Input 2 is keyed only when both inputs are (connect of keyed streams); the broadcast side sets no key.
    const sel = input === 1 ? this.keySelector : this.keySelector2;
    const keyed = sel ? this.headKeyed : undefined;
    element.timestamp = undefined;
    this.metrics.numRecordsIn += records.length;
    for (let i = 0; i < records.length; i++) {
      if (ts) element.timestamp = Number.isNaN(ts[i]) ? undefined : ts[i];
      if (keyed) keyed.setCurrentKey(sel!(records[i]), hs?.[i]);
      if (input === 1) head.processElement(records[i]);
      else head.processElement2(records[i]);
    }
  }

  private onEvent(ch: InputChannel, e: ChannelEvent): void {
    if (e.type === 'watermark') return this.valve!.inputWatermark(e.timestamp, this.inputs.indexOf(ch));
    if (e.type === 'watermarkStatus') return this.valve!.inputWatermarkStatus(e.idle, this.inputs.indexOf(ch));
    if (e.type === 'endOfData') {
      // The producer emits nothing more; its channel stays open for the final checkpoint's barrier.
      ch.endOfData = true;
      if (this.inputs.every((c) => c.endOfData || c.finished)) this.endOfInput();
      return;
    }
    if (e.type === 'eop') {
      this.valve!.channelFinished(this.inputs.indexOf(ch));
      this.barriers.processEndOfPartition(ch);
      if (this.inputs.every((c) => c.finished)) {
        this.endOfInput();
        const deferred = this.deferredTrigger;
        this.deferredTrigger = undefined;
        if (deferred) this.triggerAfterUpstreamFinished(deferred);
      }
      return;
    }
    this.barriers.processBarrier(ch, e);
  }

  private endOfInput(): void {
    if (this.ending) return;
    this.ending = true;
    // Flink quiesces the processing-time service before an operator finishes: what is still pending is dropped,
    // so nothing is emitted after EndOfData (event-time timers fire below, on the final watermark).
    this.timersQuiesced = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    // An operator may end asynchronously (a sink flushing, or without a final checkpoint committing, its last
    // transaction): the task goes on only once that is done, and fails if it fails.
    const waits: Promise<void>[] = [];
    for (const op of this.operators) {
      const r = op.endInput();
      if (r) waits.push(r);
    }
    this.flushOutputs();
    if (!this.d.finalCheckpoint) {
      for (const w of this.writers) w.broadcastEvent({ type: 'eop' });
      if (waits.length === 0) return this.finish('FINISHED');
      Promise.all(waits).then(() => { if (this.state === 'RUNNING') this.finish('FINISHED'); }, (e) => this.fail(e));
      return;
    }
    // FLIP-147: EndOfData now, EndOfPartition after the final checkpoint (the channels carry its barrier).
    for (const w of this.writers) w.broadcastEvent({ type: 'endOfData' });
    const ended = () => { if (this.state === 'RUNNING') this.dataFinished = true; };
    if (waits.length === 0) ended();
    else Promise.all(waits).then(ended, (e) => this.fail(e));
  }

  /** A final checkpoint of this task completed and its operators committed: EndOfPartition, then FINISHED. */
  private finishAfterFinalCheckpoint(): void {
    if (this.state !== 'RUNNING') return;
    faultPoint('task.final-checkpoint', this.name);
    for (const w of this.writers) w.broadcastEvent({ type: 'eop' });
    this.flushOutputs();
    this.finish('FINISHED');
  }

  private flushOutputs(): void {
    for (const w of this.writers) w.flush();
    this.flushStdout();
  }

  // ---------------------------------------------------------------- checkpoints

  /** Every snapshot of the task; one taken after the end of data is a final checkpoint's (its ack says so). */
  private snapshot(b: CheckpointBarrier, unaligned: boolean, firstBarrierAt = Date.now()) {
    if (this.dataFinished) this.finalCandidates.add(b.checkpointId);
    return this.checkpoints.checkpointState(b, unaligned, firstBarrierAt, this.dataFinished);
  }

  /**
   * Sources: the JobManager's trigger arrives between two polls, which is the barrier's position. Other tasks
   * are triggered when every upstream task finished (no barrier can reach them through a channel any more).
   */
  triggerCheckpoint(b: CheckpointBarrier): void {
    this.guard(() => {
      if (this.finishing) return; // finishing: it takes part in no new checkpoint (the JobManager releases it)
      if (!this.source) return this.triggerAfterUpstreamFinished(b);
      if (b.drain) this.source.emitFinalWatermark(); // stop --drain: all event-time windows fire before the savepoint
      this.snapshot(b, !!b.unaligned).complete();
      if (b.kind === 'SAVEPOINT_TERMINATE') this.suspended = true;
    });
  }

  /** Snapshots as a source would, once every input channel delivered its EndOfPartition (deferred until then). */
  private triggerAfterUpstreamFinished(b: CheckpointBarrier): void {
    if (this.barriers.isStale(b.checkpointId)) return;
    if (!this.inputs.every((c) => c.finished)) {
      if (!this.deferredTrigger || this.deferredTrigger.checkpointId < b.checkpointId) this.deferredTrigger = b;
      return;
    }
    this.barriers.triggered(b.checkpointId);
    this.snapshot(b, !!b.unaligned).complete();
  }

  /** Resolves when the operators' asynchronous commits for `id` settled (there are rarely any). */
  notifyCheckpointComplete(id: number): Promise<void> | undefined {
    const commits: Promise<void>[] = [];
    this.guard(() => {
      for (const k of this.keyedBackends) k?.notifyCheckpointComplete(id);
      for (const op of this.operators) {
        const r = op.notifyCheckpointComplete(id);
        if (r) commits.push(r);
      }
      if (this.dataFinished && !this.finishing && [...this.finalCandidates].some((c) => c <= id)) {
        // The final checkpoint: the task finishes once its operators committed (a failed commit fails it).
        this.finishing = true;
        Promise.all(commits).then(() => this.guard(() => this.finishAfterFinalCheckpoint()), (e) => this.fail(e));
      }
    });
    // Otherwise a failed commit fails the task by itself (the operator raises it on its next call).
    return commits.length > 0 ? Promise.all(commits.map((c) => c.catch(() => {}))).then(() => undefined) : undefined;
  }

  notifyCheckpointAborted(id: number): void {
    this.finalCandidates.delete(id);
    if (this.deferredTrigger?.checkpointId === id) this.deferredTrigger = undefined;
    this.guard(() => {
      this.barriers.abort(id);
      for (const k of this.keyedBackends) k?.notifyCheckpointAborted(id);
      for (const op of this.operators) op.notifyCheckpointAborted(id);
    });
  }

  // ---------------------------------------------------------------- lifecycle

  cancel(): void {
    if (this.state !== 'RUNNING' && this.state !== 'DEPLOYING') return;
    this.finish('CANCELED');
  }

  private finish(state: 'FINISHED' | 'CANCELED'): void {
    if (state === 'CANCELED') return this.teardown(state);
    // The acks of snapshots still being written go out first (one port to the JobManager, in order).
    this.finishing = true;
    void this.checkpoints.settled().then(() => { if (this.state === 'RUNNING') this.teardown('FINISHED'); });
  }

  private fail(e: unknown): void {
    if (this.state === 'FAILED' || this.state === 'CANCELED' || this.state === 'FINISHED') return;
    this.teardown('FAILED', e instanceof Error ? e : new Error(String(e)));
  }

  /** The one way a task ends, finished, cancelled or failed: network, timers, operators, backends, report. */
  private teardown(state: 'FINISHED' | 'CANCELED' | 'FAILED', err?: Error): void {
    const wasRunning = this.state === 'RUNNING';
    this.disposeNetwork();
    for (const t of this.timers) clearTimeout(t);
    clearInterval(this.flushTimer);
    clearTimeout(this.sourceWait);
    this.state = state;
    if (state !== 'CANCELED') this.flushStdout(); // the task is no longer RUNNING, but its output is due
    for (const op of this.operators) {
      try {
        op.close();
      } catch {
        /* closing after a failure must not mask it */
      }
    }
    for (const k of this.keyedBackends) k?.dispose();
    this.host.send({ type: 'metrics', reports: [this.metricsReport()] }); // final counts, before the state
    if (err) {
      this.host.send({
        type: 'taskState', vertexIndex: this.d.vertexIndex, subtask: this.d.subtask, state: 'FAILED',
        error: { message: err.message, name: err.name, stack: err.stack ?? '' },
      });
    } else if (wasRunning || state !== 'CANCELED') {
      this.report(state);
    }
  }

  private flushStdout(): void {
    if (this.stdoutLines.length > 0) {
      this.host.send({ type: 'stdout', text: this.stdoutLines.join('\n') + '\n' });
      this.stdoutLines = [];
    }
  }

  private disposeNetwork(): void {
    this.barriers.dispose();
    for (const w of this.writers) w.dispose();
  }

  /** True while the task runs (the worker reports the metrics of running tasks only). */
  get running(): boolean {
    return this.state === 'RUNNING';
  }

  /** The task's counters now (cumulative for this attempt). */
  metricsReport(): TaskMetricsReport {
    let bytesOut = 0;
    for (const w of this.writers) for (const c of w.channels) bytesOut += c.bytesOut;
    const wm = this.valve?.currentWatermark;
    return this.metrics.report(this.d.vertexIndex, this.d.subtask, this.d.attempt, bytesOut, wm === MIN_WATERMARK ? undefined : wm);
  }

  private report(state: Exclude<TaskState, 'DEPLOYING'>): void {
    this.host.send({ type: 'taskState', vertexIndex: this.d.vertexIndex, subtask: this.d.subtask, state });
  }
}
