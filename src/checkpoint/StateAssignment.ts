import { FlinkError } from '../core/FlinkError.js';
import type { JobGraph } from '../graph/JobGraph.js';
import { operatorsById } from '../graph/JobGraph.js';
import type { ChannelStateHandle, StateFileHandle } from '../state/StateHandles.js';
import type { LoadedSnapshot } from './Metadata.js';

/** State files a restored subtask reads: every old subtask's file of one operator. */
export interface RestoreSpec {
  oldParallelism: number;
  files: { dir: string; handle: StateFileHandle; subtask: number }[];
}

export interface StateAssignment {
  /** Per operator id of the new job: the files its subtasks restore from. */
  byOperator: Map<string, RestoreSpec>;
  /** Operators of the snapshot with state but no counterpart in the new job (skipped with -n). */
  skipped: { operatorId: string; uid?: string; name: string; states: string[] }[];
  /** In-flight data of an unaligned checkpoint: per head operator id, per subtask. */
  channelState: Map<string, Map<number, { dir: string; handle: ChannelStateHandle }>>;
  /** Operators the snapshot records as finished on every subtask (FLIP-147): their tasks are not run again. */
  finished: Set<string>;
}

/**
 * Maps a snapshot's operator states onto a new JobGraph by operator id (the hash of the uid), as
 * Flink's StateAssignmentOperation does. State of operators that are gone is an error unless the user
 * allows non-restored state; max parallelism must match, since it fixes the key groups.
 */
export function assignState(snap: LoadedSnapshot, jg: JobGraph, allowNonRestoredState: boolean): StateAssignment {
  const ops = operatorsById(jg);
  const byOperator = new Map<string, RestoreSpec>();
  const skipped: StateAssignment['skipped'] = [];
  for (const os of snap.metadata.operators) {
    const states = [...new Set(os.subtasks.flatMap((s) => [...Object.keys(s.state.keyedStates), ...Object.keys(s.state.operatorStates)]))];
    const target = ops.get(os.operatorId);
    if (!target) {
      skipped.push({ operatorId: os.operatorId, uid: os.uid, name: os.name, states });
      continue;
    }
    const hasKeyed = os.subtasks.some((s) => Object.keys(s.state.keyedStates).length > 0);
    if (hasKeyed && os.maxParallelism !== target.vertex.maxParallelism) {
      throw new FlinkError(
        'restore',
        `Failed to rollback to checkpoint/savepoint ${snap.dir}. The max parallelism (${target.vertex.maxParallelism}) of the restored job for operator ${describe(os)} is different from the max parallelism (${os.maxParallelism}) in the snapshot. Set the max parallelism back to ${os.maxParallelism}.`,
      );
    }
    byOperator.set(os.operatorId, {
      oldParallelism: os.parallelism,
      files: os.subtasks.map((s) => ({ dir: snap.dir, handle: s.state, subtask: s.subtask })),
    });
  }
  // Finished operators restore as finished: restored, with nothing to restore.
  for (const id of snap.metadata.finishedOperators ?? []) {
    if (ops.has(id) && !byOperator.has(id)) byOperator.set(id, { oldParallelism: ops.get(id)!.vertex.parallelism, files: [] });
  }
  if (skipped.length > 0 && !allowNonRestoredState) {
    const list = skipped.map((s) => `${describe(s)} with state [${s.states.join(', ')}]`).join('; ');
    throw new FlinkError(
      'restore',
      `Failed to rollback to checkpoint/savepoint ${snap.dir}. Cannot map checkpoint/savepoint state for operator(s) ${list} to the new program, because the operator is not available in the new program. If you want to allow to skip this, you can set the --allowNonRestoredState option on the CLI.`,
    );
  }
  const finished = new Set((snap.metadata.finishedOperators ?? []).filter((id) => ops.has(id)));
  return { byOperator, skipped, channelState: assignChannelState(snap, ops), finished };
}

/**
 * Channel state is replayed into the very channels it was taken from, so it needs the same parallelism
 * (Flink can redistribute it; this implementation refuses, with a way out).
 */
function assignChannelState(snap: LoadedSnapshot, ops: ReturnType<typeof operatorsById>): StateAssignment['channelState'] {
  const out: StateAssignment['channelState'] = new Map();
  for (const cs of snap.metadata.channelState ?? []) {
    const target = ops.get(cs.operatorId);
    if (!target) continue; // the operator's own state decides whether a missing operator is an error
    if (target.vertex.parallelism !== cs.parallelism) {
      throw new FlinkError(
        'restore',
        `Cannot restore the unaligned checkpoint ${snap.dir} with a different parallelism: it holds in-flight data of '${target.vertex.name}' at parallelism ${cs.parallelism} (now ${target.vertex.parallelism}). Rescale from a savepoint (always aligned) or an aligned checkpoint instead.`,
      );
    }
    out.set(cs.operatorId, new Map(cs.subtasks.map((s) => [s.subtask, { dir: snap.dir, handle: s.state }])));
  }
  return out;
}

function describe(o: { operatorId: string; uid?: string; name: string }): string {
  return o.uid ? `'${o.name}' (uid: ${o.uid}, id: ${o.operatorId})` : `'${o.name}' (id: ${o.operatorId}, no uid)`;
}
