import { basename, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { CheckpointBarrier } from '../checkpoint/CheckpointOptions.js';
import { randomHex } from '../core/ids.js';
import { stateTooLargeMessage } from '../checkpoint/MemoryCheckpointStorage.js';
import type { JobVertex } from '../graph/JobGraph.js';
import type { KeyedSnapshot, KeyedStateBackend } from '../state/KeyedStateBackend.js';
import type { OperatorStateBackend } from '../state/OperatorStateBackend.js';
import { StateFileWriter, type OperatorStateSnapshot, type StateFileOutput } from '../state/StateFile.js';
import { AsyncOperationsThread } from './AsyncOperationsThread.js';
import { AsyncStateFileWriter } from './AsyncStateFileWriter.js';
import type { ChannelStateHandle, StateFileHandle } from '../state/StateHandles.js';
import type { InputChannelState, SnapshotInProgress } from './CheckpointBarrierHandler.js';
import { writeChannelState, type OutputChannelState } from './ChannelState.js';
import type { TaskDeployment, TaskToJobManager } from './messages.js';
import type { OvertakenRecords, RecordWriter } from './network/RecordWriter.js';
import type { StreamOperator } from '../operators/StreamOperator.js';

/** One operator's part of a snapshot: its keyed state (into the state file, or as keyed files) and operator state. */
type SnapshotPart = {
  operatorId: string; keyedRange?: [number, number]; keyedKinds: Record<string, string>; opSnap: OperatorStateSnapshot; opModes: Record<string, string>;
} & KeyedSnapshot;

/** What of its task the checkpoint coordinator of a subtask uses (the arrays are the task's own, filled at setup). */
export interface SubtaskCheckpointHost {
  readonly vertex: JobVertex;
  readonly deployment: TaskDeployment;
  readonly operators: readonly StreamOperator[];
  readonly keyedBackends: readonly (KeyedStateBackend | undefined)[];
  readonly opStates: readonly OperatorStateBackend[];
  readonly writers: readonly RecordWriter[];
  /** Sends what is buffered, so the barrier follows the records before it. */
  flushOutputs(): void;
  send(msg: TaskToJobManager): void;
}

/**
 * Flink's SubtaskCheckpointCoordinator, reduced: a subtask's part of a checkpoint once its barrier handler
 * says so. The synchronous part snapshots every operator's keyed and operator state, then the barrier goes
 * downstream; the asynchronous part writes the state files (and the channel state of an unaligned
 * checkpoint) into the checkpoint's folder and acknowledges them to the JobManager, or declines.
 */
export class SubtaskCheckpointCoordinator {
  /** Asynchronous parts (state files, then the ack or decline) under way. */
  private readonly writing = new Set<Promise<void>>();

  constructor(private readonly t: SubtaskCheckpointHost) {}

  /**
   * Resolves once every snapshot started so far has sent its acknowledgement (or decline). A task reports
   * FINISHED only after that: the JobManager takes a finished task as having nothing more to acknowledge, so a
   * FINISHED that overtook the ack of a snapshot whose barrier already went downstream would complete that
   * checkpoint without the task's state (docs/reliability.md, finding 13).
   */
  async settled(): Promise<void> {
    while (this.writing.size > 0) await Promise.all([...this.writing]);
  }

  /**
   * The synchronous part of a snapshot, then the barrier goes downstream: in order, overtaking the output
   * backlog (unaligned), or in order until the alignment timeout (then overtaking). The files are written
   * once the in-flight data is known: at complete() for the input side, when the barrier left for the output.
   */
  checkpointState(b: CheckpointBarrier, unaligned: boolean, firstBarrierAt = Date.now(), finalState = false): SnapshotInProgress {
    const t0 = performance.now();
    // Flink's start delay (trigger to first barrier) and alignment duration (first barrier to snapshot).
    const timing = { startDelayMs: Math.max(0, firstBarrierAt - b.timestamp), alignmentMs: Math.max(0, Date.now() - firstBarrierAt) };
    const parts: SnapshotPart[] = [];
    for (const op of this.t.operators) op.snapshotState(b.checkpointId);
    // Parts an operator finishes off the task thread before the ack (a Kafka sink flushing its transaction).
    const asyncParts = this.t.operators.map((op) => op.snapshotStateAsync(b.checkpointId)).filter((p) => p !== undefined);
    this.t.operators.forEach((op, i) => {
      const keyed = this.t.keyedBackends[i];
      const opState = this.t.opStates[i];
      const keyedKinds = keyed?.stateKinds ?? {};
      const opModes = opState.stateModes;
      if (Object.keys(keyedKinds).length === 0 && Object.keys(opModes).length === 0) return;
      parts.push({
        operatorId: this.t.vertex.operators[i].operatorId,
        // Only a backend that holds keyed state writes key-group sections (and so offsets).
        keyedRange: keyed && Object.keys(keyedKinds).length > 0 ? keyed.keyGroupRange.toJSON() : undefined,
        keyedKinds,
        ...(keyed && Object.keys(keyedKinds).length > 0
          ? keyed.snapshotKeyed({
            checkpointId: b.checkpointId,
            location: b.location,
            // Incremental files of checkpoints go to <job>/shared (beside chk-N); savepoints are self-contained.
            // In JobManager memory a checkpoint is one canonical state file per operator (no files, nothing shared).
            sharedDir: b.kind === 'CHECKPOINT' && b.maxInlineStateSize === undefined ? join(b.location, '..', 'shared') : undefined,
            format: b.maxInlineStateSize !== undefined ? 'CANONICAL' : b.kind === 'CHECKPOINT' ? 'NATIVE' : (b.formatType ?? 'CANONICAL'),
            filePrefix: `${this.t.vertex.operators[i].operatorId}-${this.t.deployment.subtask}`,
            full: b.checkpointType === 'FULL', // flink checkpoint --full
          })
          : {}),
        opSnap: opState.snapshot(),
        opModes,
      });
    });
    // The barrier goes downstream right after the synchronous part; the write happens while processing goes on.
    this.t.flushOutputs();
    const outputs: OutputChannelState[] = [];
    const waits: Promise<void>[] = [];
    this.t.writers.forEach((w, wi) => w.channels.forEach((c, ci) => {
      const keep = (batches: OvertakenRecords) => void (batches.length > 0 && outputs.push({ writer: wi, channel: ci, batches }));
      if (unaligned) keep(c.sendPriorityEvent(b));
      else if (b.alignedTimeoutMs !== undefined) waits.push(new Promise((r) => c.sendEventWithTimeout(b, b.timestamp + b.alignedTimeoutMs!, (o) => r(keep(o)))));
      else c.sendEvent(b);
    }));
    const syncMs = performance.now() - t0;
    let done = false;
    return {
      complete: (inputs: InputChannelState[] = []) => {
        if (done) return;
        done = true;
        const w = Promise.all(waits).then(() => this.writeSnapshot(b, parts, syncMs, timing, inputs, outputs, asyncParts, finalState));
        this.writing.add(w);
        void w.finally(() => this.writing.delete(w));
      },
    };
  }

  private async writeSnapshot(
    b: CheckpointBarrier,
    parts: SnapshotPart[],
    syncMs: number,
    timing: { startDelayMs: number; alignmentMs: number },
    inputs: InputChannelState[] = [],
    outputs: OutputChannelState[] = [],
    asyncParts: Promise<void>[] = [],
    finalState = false,
  ): Promise<void> {
    const t0 = performance.now();
    let writing: StateFileOutput | undefined;
    try {
      await Promise.all(asyncParts);
      const channelState: ChannelStateHandle | undefined = inputs.length > 0 || outputs.length > 0
        ? await writeChannelState(join(b.location, `channel-state-${this.t.vertex.operators[0].operatorId}-${this.t.deployment.subtask}-${randomHex(4)}`), inputs, outputs)
        : undefined;
      const states: { operatorId: string; handle: StateFileHandle }[] = [];
      for (const p of parts) {
        // Keyed state is encoded, checksummed and written on the asynchronous-operations thread.
        const w: StateFileOutput = p.write ? new AsyncStateFileWriter(AsyncOperationsThread.get()) : new StateFileWriter();
        writing = w;
        if (p.write) await p.write(w);
        const keyedFiles = p.files ? await p.files() : undefined;
        w.writeOperatorState(p.opSnap);
        const file = join(b.location, `${p.operatorId}-${this.t.deployment.subtask}-${randomHex(4)}`);
        const inline = b.maxInlineStateSize !== undefined ? await w.toBytes() : undefined;
        if (inline && inline.size > b.maxInlineStateSize!) {
          const task = `${this.t.vertex.name} (${this.t.deployment.subtask + 1}/${this.t.vertex.parallelism})`;
          throw new Error(stateTooLargeMessage(`operator ${p.operatorId} in ${task}`, inline.size, b.maxInlineStateSize!));
        }
        const { size, crc32, keyGroupOffsets, operatorStateOffset } = inline ?? await w.finish(file);
        writing = undefined;
        states.push({
          operatorId: p.operatorId,
          handle: {
            ...(inline ? { inline: inline.bytes } : {}),
            file: basename(file),
            size,
            crc32,
            keyGroupRange: p.keyedRange,
            keyGroupOffsets: p.keyedRange && !keyedFiles ? keyGroupOffsets : undefined,
            operatorStateOffset,
            keyedStates: p.keyedKinds,
            operatorStates: p.opModes,
            keyedEntries: w.keyedEntries + (keyedFiles ?? []).reduce((n, f) => n + f.keyedEntries, 0),
            ...(keyedFiles ? { keyedStateFiles: keyedFiles } : {}),
          },
        });
      }
      this.t.send({
        type: 'ack', checkpointId: b.checkpointId, vertexIndex: this.t.deployment.vertexIndex, subtask: this.t.deployment.subtask,
        states, syncMs, asyncMs: performance.now() - t0, ...timing, channelState, unaligned: !!b.unaligned || !!channelState,
        ...(finalState ? { finalState: true as const } : {}),
      });
    } catch (e) {
      writing?.discard();
      for (const p of parts) p.release?.(); // what was not written holds on to no state
      this.t.send({ type: 'decline', checkpointId: b.checkpointId, vertexIndex: this.t.deployment.vertexIndex, subtask: this.t.deployment.subtask, reason: (e as Error).message });
    }
  }
}
