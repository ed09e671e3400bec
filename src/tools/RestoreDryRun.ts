import { getProgramContext, setProgramContext } from '../api/ProgramContext.js';
import type { Configuration } from '../config/Configuration.js';
import { CheckpointingOptions, CoreOptions, PipelineOptions, TaskManagerOptions } from '../config/ConfigOptions.js';
import { FlinkError, isFlinkError, type ErrorKind } from '../core/FlinkError.js';
import { buildJobGraph, operatorsById, type JobGraph } from '../graph/JobGraph.js';
import type { StreamGraph } from '../graph/StreamGraph.js';
import { runProgram } from '../runtime/ProgramLoader.js';
import { KeyGroupRange } from '../state/KeyGroupRange.js';
import { computeKeyGroupRangeForOperatorIndex } from '../state/KeyGroupRangeAssignment.js';
import type { LoadedSnapshot, OperatorStateMetadata } from '../checkpoint/Metadata.js';
import {
  asLoadedSnapshot, inspectSnapshot, keyGroupSectionSizes, type OperatorSummary, type SnapshotSummary,
  type StateSummary,
} from './SnapshotInspector.js';
import { assignState, type StateAssignment } from '../checkpoint/StateAssignment.js';

/**
 * A restore without running anything: loads the new program only up to env.execute() (capture mode, as a
 * worker does), builds its JobGraph with the parallelism `flink run` would use, and maps the snapshot's state
 * onto it with the same code `run -s` uses (assignState). The plan says, per snapshot operator, where its
 * state goes or that it is dropped; per new operator, whether it starts empty; and for keyed state how the
 * key groups split across the new subtasks.
 */

export type DryRunResult =
  /** `run -s` restores every operator's state. */
  | 'RESTORABLE'
  /** Some state has no operator in the new program: `run -s` fails, `run -s -n` drops it. */
  | 'NEEDS_ALLOW_NON_RESTORED_STATE'
  /** An operator's max parallelism differs from the snapshot's: its key groups cannot be restored. */
  | 'MAX_PARALLELISM_MISMATCH';

export interface SubtaskRange {
  subtask: number;
  /** Inclusive key-group range. */
  range: [number, number];
}

export interface KeyGroupSplit {
  maxParallelism: number;
  oldParallelism: number;
  newParallelism: number;
  /** False when every new subtask owns exactly the key groups of the old subtask with its index. */
  changed: boolean;
  old: (SubtaskRange & { entries: number; bytes: number })[];
  new: (SubtaskRange & { from: SubtaskRange[]; entries: number; bytes: number })[];
}

export interface OperatorStateSplit {
  name: string;
  mode: string;
  entries: number;
  /** Elements each new subtask gets back (OperatorStateBackend.restore: even split, or all of them for UNION). */
  perNewSubtask: number[];
}

export interface NewOperatorRef {
  uid: string | null;
  operatorId: string;
  name: string;
  /** Name of the task (chain) the operator runs in. */
  vertex: string;
  parallelism: number;
  maxParallelism: number;
  /** Head of a keyed input: has a keyed state backend. */
  keyed: boolean;
}

export interface SnapshotOperatorPlan {
  uid: string | null;
  operatorId: string;
  name: string;
  oldParallelism: number;
  maxParallelism: number;
  states: StateSummary[];
  status: 'MAPPED' | 'DROPPED';
  /** How the new operator was found: same uid, or (operators without uid) the same auto-generated id. */
  matchedBy?: 'uid' | 'operator id';
  target?: NewOperatorRef;
  maxParallelismConflict?: { snapshot: number; job: number };
  keyGroups?: KeyGroupSplit;
  operatorState?: OperatorStateSplit[];
}

export interface NewOperatorPlan extends NewOperatorRef {
  /** 'restored' from the snapshot operator with the same id, or 'empty': starts without state. */
  state: 'restored' | 'empty';
}

export interface RestorePlan {
  snapshot: Pick<SnapshotSummary, 'path' | 'jobId' | 'jobName' | 'checkpointId' | 'kind' | 'maxParallelism'>;
  job: { jobFile: string; jobName: string; programArgs: string[]; defaultParallelism: number; maxParallelism: number; slotsNeeded: number };
  allowNonRestoredState: boolean;
  operators: SnapshotOperatorPlan[];
  newOperators: NewOperatorPlan[];
  result: DryRunResult;
  /** Whether `run -s` (with `-n` if allowNonRestoredState) would get past the state assignment. */
  restorable: boolean;
  /** One sentence saying what `run -s` would do. */
  verdict: string;
  /** The error `run -s` would fail with. */
  error?: { kind: ErrorKind; message: string };
  /** Things that do not stop the restore but may surprise (keyed state onto a non-keyed operator, slots). */
  warnings: string[];
}

export interface DryRunRequest {
  snapshot: string | LoadedSnapshot;
  jobFile: string;
  programArgs?: string[];
  /** Effective configuration, with `-p` already applied to parallelism.default as `flink run` does. */
  config: Configuration;
  allowNonRestoredState?: boolean;
}

/**
 * Loads the program up to env.execute() without running it and builds the JobGraph `flink run` would
 * submit (parallelism from the program, else parallelism.default; max parallelism from the program, else
 * pipeline.max-parallelism), as MiniCluster.submitJob does. The program stays parked in execute() forever;
 * process.argv and the global program context are put back afterwards.
 */
export async function captureJobGraph(jobFile: string, programArgs: string[], config: Configuration): Promise<{ streamGraph: StreamGraph; jobGraph: JobGraph }> {
  let streamGraph: StreamGraph | undefined;
  const savedArgv = process.argv;
  const savedContext = getProgramContext();
  try {
    await runProgram(jobFile, programArgs, config.toMap(), 'capture', (graph) => {
      streamGraph = graph;
      return new Promise<never>(() => {});
    });
  } finally {
    process.argv = savedArgv;
    setProgramContext(savedContext);
  }
  if (!streamGraph) throw new FlinkError('internal', `The program ${jobFile} reached env.execute() but no graph was captured`);
  const jobGraph = buildJobGraph(streamGraph, {
    parallelism: config.get(CoreOptions.DEFAULT_PARALLELISM),
    maxParallelism: config.get(PipelineOptions.MAX_PARALLELISM),
    checkpointInterval: config.getOptional(CheckpointingOptions.CHECKPOINTING_INTERVAL),
  });
  return { streamGraph, jobGraph };
}

/** Captures the program's JobGraph and plans the restore of `snapshot` onto it. */
export async function dryRunRestore(req: DryRunRequest): Promise<RestorePlan> {
  const snap = asLoadedSnapshot(req.snapshot);
  // Verify and count first: a damaged snapshot fails `run -s` before the program matters.
  const summary = inspectSnapshot(snap, { perKeyGroup: true });
  const programArgs = req.programArgs ?? [];
  const { streamGraph, jobGraph } = await captureJobGraph(req.jobFile, programArgs, req.config);
  return planRestore(snap, summary, streamGraph, jobGraph, {
    allowNonRestoredState: !!req.allowNonRestoredState,
    jobFile: req.jobFile,
    programArgs,
    defaultParallelism: req.config.get(CoreOptions.DEFAULT_PARALLELISM),
    taskSlots: req.config.get(TaskManagerOptions.NUM_TASK_SLOTS),
  });
}

export interface PlanOptions {
  allowNonRestoredState: boolean;
  jobFile?: string;
  programArgs?: string[];
  defaultParallelism?: number;
  /** taskmanager.numberOfTaskSlots, to warn when the new job would not get its slots. */
  taskSlots?: number;
}

/**
 * Maps the snapshot onto the JobGraph (no I/O beyond what `summary` already read). `summary` should come
 * from inspectSnapshot(snap, { perKeyGroup: true }) for entry counts per new subtask.
 */
export function planRestore(snap: LoadedSnapshot, summary: SnapshotSummary, sg: StreamGraph, jg: JobGraph, opts: PlanOptions): RestorePlan {
  const newOps = operatorsById(jg);
  const refOf = (operatorId: string): NewOperatorRef => {
    const { vertex, op } = newOps.get(operatorId)!;
    const node = sg.node(op.nodeId);
    return {
      uid: op.uid ?? null,
      operatorId: op.operatorId,
      name: op.name,
      vertex: vertex.name,
      parallelism: vertex.parallelism,
      maxParallelism: vertex.maxParallelism,
      keyed: vertex.operators[0].nodeId === op.nodeId && node?.keySelector !== undefined,
    };
  };
  const summaries = new Map(summary.operators.map((o) => [o.operatorId, o]));
  const warnings: string[] = [];

  const operators: SnapshotOperatorPlan[] = snap.metadata.operators.map((os) => {
    const sum = summaries.get(os.operatorId)!;
    const base = {
      uid: os.uid ?? null, operatorId: os.operatorId, name: os.name, oldParallelism: os.parallelism,
      maxParallelism: os.maxParallelism, states: sum.states,
    };
    if (!newOps.has(os.operatorId)) return { ...base, status: 'DROPPED' as const };
    const target = refOf(os.operatorId);
    const plan: SnapshotOperatorPlan = {
      ...base, status: 'MAPPED', target, matchedBy: os.uid !== undefined && os.uid === target.uid ? 'uid' : 'operator id',
    };
    const keyedStates = sum.states.filter((s) => s.type === 'keyed');
    if (keyedStates.length > 0) {
      if (os.maxParallelism !== target.maxParallelism) {
        plan.maxParallelismConflict = { snapshot: os.maxParallelism, job: target.maxParallelism };
      } else {
        plan.keyGroups = splitKeyGroups(os, sum, target.parallelism);
      }
      if (!target.keyed) {
        warnings.push(
          `The keyed state [${keyedStates.map((s) => s.name).join(', ')}] of ${describe(os)} maps to operator '${target.name}', which has no keyed input in the new program: that state would not be restored.`,
        );
      }
    }
    const opStates = sum.states.filter((s) => s.type === 'operator');
    if (opStates.length > 0) plan.operatorState = opStates.map((s) => splitOperatorState(s, sum, target.parallelism));
    return plan;
  });

  const restoredIds = new Set(operators.filter((o) => o.status === 'MAPPED').map((o) => o.operatorId));
  const newOperators: NewOperatorPlan[] = jg.vertices.flatMap((v) =>
    v.operators.map((op) => ({ ...refOf(op.operatorId), state: restoredIds.has(op.operatorId) ? ('restored' as const) : ('empty' as const) })));

  // The verdict, from the very code `run -s` runs.
  let result: DryRunResult = 'RESTORABLE';
  let error: RestorePlan['error'];
  let assignment: StateAssignment | undefined;
  try {
    assignment = assignState(snap, jg, true);
  } catch (e) {
    if (!isFlinkError(e) || e.kind !== 'restore') throw e;
    result = 'MAX_PARALLELISM_MISMATCH';
    error = { kind: e.kind, message: e.message };
  }
  if (assignment && assignment.skipped.length > 0 && !opts.allowNonRestoredState) {
    result = 'NEEDS_ALLOW_NON_RESTORED_STATE';
    try {
      assignState(snap, jg, false);
      error = { kind: 'restore', message: 'State would be dropped' }; // not reached: skipped operators fail without -n
    } catch (e) {
      if (!isFlinkError(e)) throw e;
      error = { kind: e.kind, message: e.message };
    }
  }
  const dropped = operators.filter((o) => o.status === 'DROPPED');
  const restorable = result === 'RESTORABLE';
  const run = opts.allowNonRestoredState ? 'run -s -n' : 'run -s';
  let verdict: string;
  if (result === 'MAX_PARALLELISM_MISMATCH') {
    const c = operators.filter((o) => o.maxParallelismConflict).map((o) => `${describe(o)}: ${o.maxParallelismConflict!.snapshot} in the snapshot, ${o.maxParallelismConflict!.job} in the program`);
    verdict = `${run} would fail: the max parallelism changed (${c.join('; ')}); set it back to the snapshot's value.`;
  } else if (result === 'NEEDS_ALLOW_NON_RESTORED_STATE') {
    verdict = `run -s would fail: the state of ${dropped.map(describe).join(', ')} has no operator in the new program. Run with -n/--allowNonRestoredState to drop it.`;
  } else if (dropped.length > 0) {
    verdict = `${run} would restore; the state of ${dropped.map(describe).join(', ')} would be dropped (--allowNonRestoredState).`;
  } else {
    verdict = `${run} would restore the state of every operator of the snapshot.`;
  }

  const slotsNeeded = Math.max(...jg.vertices.map((v) => v.parallelism));
  if (opts.taskSlots !== undefined && slotsNeeded > opts.taskSlots) {
    warnings.push(`The new job needs ${slotsNeeded} task slots (its highest parallelism) but taskmanager.numberOfTaskSlots is ${opts.taskSlots}: it would not be deployed.`);
  }

  return {
    snapshot: {
      path: summary.path, jobId: summary.jobId, jobName: summary.jobName, checkpointId: summary.checkpointId,
      kind: summary.kind, maxParallelism: summary.maxParallelism,
    },
    job: {
      jobFile: opts.jobFile ?? '', jobName: jg.jobName, programArgs: opts.programArgs ?? [],
      defaultParallelism: opts.defaultParallelism ?? sg.parallelism ?? 1, maxParallelism: jg.maxParallelism, slotsNeeded,
    },
    allowNonRestoredState: opts.allowNonRestoredState,
    operators,
    newOperators,
    result,
    restorable,
    verdict,
    ...(error ? { error } : {}),
    warnings,
  };
}

function describe(o: { operatorId: string; uid?: string | null; name: string }): string {
  return o.uid ? `'${o.name}' (uid ${o.uid})` : `'${o.name}' (id ${o.operatorId}, no uid)`;
}

/** Old and new key-group ranges of a keyed operator, with entries and bytes each new subtask would read. */
export function splitKeyGroups(os: OperatorStateMetadata, sum: OperatorSummary, newParallelism: number): KeyGroupSplit {
  const maxP = os.maxParallelism;
  const byKg = new Map<number, { subtask: number; entries: number; bytes: number }>();
  const old: KeyGroupSplit['old'] = [];
  for (let i = 0; i < os.parallelism; i++) {
    const st = os.subtasks.find((s) => s.subtask === i);
    const s = sum.subtasks.find((x) => x.subtask === i);
    const range = st?.state.keyGroupRange ?? computeKeyGroupRangeForOperatorIndex(maxP, os.parallelism, i).toJSON();
    const sizes = st ? keyGroupSectionSizes(st.state) : new Map<number, number>();
    for (let kg = range[0]; kg <= range[1]; kg++) {
      byKg.set(kg, { subtask: i, entries: s?.keyGroupEntries?.[kg - range[0]] ?? 0, bytes: sizes.get(kg) ?? 0 });
    }
    old.push({ subtask: i, range, entries: s?.keyedEntries ?? 0, bytes: s?.keyedBytes ?? 0 });
  }
  const next: KeyGroupSplit['new'] = [];
  for (let j = 0; j < newParallelism; j++) {
    const r = computeKeyGroupRangeForOperatorIndex(maxP, newParallelism, j);
    const from: SubtaskRange[] = [];
    for (const o of old) {
      const both = r.intersection(KeyGroupRange.of(o.range));
      if (both.size > 0) from.push({ subtask: o.subtask, range: both.toJSON() });
    }
    let entries = 0;
    let bytes = 0;
    for (let kg = r.start; kg <= r.end; kg++) {
      const g = byKg.get(kg);
      entries += g?.entries ?? 0;
      bytes += g?.bytes ?? 0;
    }
    next.push({ subtask: j, range: r.toJSON(), from, entries, bytes });
  }
  const changed = newParallelism !== os.parallelism
    || next.some((n) => n.range[0] !== old[n.subtask]?.range[0] || n.range[1] !== old[n.subtask]?.range[1]);
  return { maxParallelism: maxP, oldParallelism: os.parallelism, newParallelism, changed, old, new: next };
}

/** Mirrors OperatorStateBackend.restore: own list back at equal parallelism, else an even split (UNION: all). */
function splitOperatorState(s: StateSummary, sum: OperatorSummary, newParallelism: number): OperatorStateSplit {
  const parts = [...sum.subtasks].sort((a, b) => a.subtask - b.subtask);
  const total = s.entries;
  const perNewSubtask: number[] = [];
  for (let j = 0; j < newParallelism; j++) {
    if (s.kind === 'UNION') perNewSubtask.push(total);
    else if (parts.length === newParallelism) perNewSubtask.push(parts[j].operatorStateEntries[s.name] ?? 0);
    else perNewSubtask.push(j < total ? Math.ceil((total - j) / newParallelism) : 0);
  }
  return { name: s.name, mode: s.kind, entries: total, perNewSubtask };
}
