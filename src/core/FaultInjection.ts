/**
 * Fault injection for the chaos and crash-safety tests: named points at each step of writing a checkpoint,
 * armed through the environment. With FLINK_TS_FAULT unset every call is one comparison against `undefined`.
 *
 *   FLINK_TS_FAULT=<point>[@<subtask>]:<nth>[+]:<action>[,…]
 *
 * - point: one of FAULT_POINTS or LIFECYCLE_FAULT_POINTS (or `*` for any of them)
 * - @subtask (SUBTASK_FAULT_POINTS only): only the passes of the subtask with that index, counted on their own
 * - nth: fire on the nth time this thread (with @subtask: that subtask) passes the point (1-based); `nth+` fires
 *   on that pass and every later one
 * - action: `kill` (SIGKILL the whole process, as a crash would; from a worker thread too),
 *   `throw` (an I/O error), `enospc` (an ENOSPC error: the disk is full), `eacces` (permission denied),
 *   `hold` (SUBTASK_FAULT_POINTS only: that pass never goes on, until the process ends; the rest of the thread
 *   and the subtask's other work keep running, so it still takes part in checkpoints)
 *
 * Counters are per thread: state files are written in the task slots' worker threads, each of which counts
 * its own passes; the env var reaches them because workers share the process environment. The subtasks of
 * one operator run in different threads that all count the same point alike: `@<subtask>` picks one of them
 * whichever thread it runs in.
 */
import { writeSync } from 'node:fs';

export const FAULT_POINTS = [
  /** A subtask is about to write one state file (nothing of it is on disk yet). */
  'state-file.write',
  /** The state file's bytes are written but not yet fsynced. */
  'state-file.fsync',
  /** The temp metadata file is half written. */
  'metadata.write',
  /** The temp metadata file is fully written, before its fsync. */
  'metadata.fsync',
  /** The temp metadata file is durable, before the rename to `_metadata`. */
  'metadata.rename',
  /** `_metadata` is in place, before the fsync of its directory. */
  'metadata.dir-fsync',
  /** The checkpoint is complete on disk, before the index records it as COMPLETED. */
  'index.update',
  /** Indexed as COMPLETED, before the tasks are notified (the sink has not committed yet). */
  'checkpoint.notify',
] as const;

/** Points outside the writing of a checkpoint (so not in the chaos harness's every-point round). */
export const LIFECYCLE_FAULT_POINTS = [
  /**
   * A FileSink reached the end of its bounded input: without a final checkpoint its last file is committed,
   * with one (FLIP-147) it is only written; the job has not reached FINISHED.
   */
  'sink.end-input',
  /**
   * A task's final checkpoint completed and its sinks committed; it has not sent EndOfPartition nor reported
   * FINISHED. Passed by every task: in a worker running a source and a sink subtask, the 2nd pass is the sink's.
   */
  'task.final-checkpoint',
  /** The FileSink closed a checkpoint's in-progress file into a pending one (pre-commit); not acknowledged yet. */
  'file.pre-commit',
  /** The FileSink is about to commit (rename) the pending files of a completed checkpoint. */
  'file.commit',
  /** The Kafka exactly-once sink flushed a checkpoint's transaction (pre-commit: every record acknowledged); not acknowledged yet. */
  'kafka.pre-commit',
  /** The Kafka exactly-once sink is about to commit a completed checkpoint's transaction. */
  'kafka.commit',
  /** The JDBC exactly-once sink prepared a checkpoint's transaction (PREPARE TRANSACTION returned); not acknowledged yet. */
  'jdbc.pre-commit',
  /** The JDBC exactly-once sink is about to COMMIT PREPARED a completed checkpoint's transaction. */
  'jdbc.commit',
  /**
   * A KafkaSource reader is about to read the topic metadata to turn its discovery split(s) into partition
   * splits (at start, after a restore that gave it a discovery split, and on each periodic discovery).
   */
  'kafka.discover',
] as const;

/**
 * Points passed by a subtask's asynchronous work, with the subtask's index: they may be qualified with
 * `@<subtask>` and may `hold` (the caller awaits the pass).
 */
export const SUBTASK_FAULT_POINTS: readonly string[] = ['kafka.discover'];

export type FaultPoint = (typeof FAULT_POINTS)[number] | (typeof LIFECYCLE_FAULT_POINTS)[number];
const ALL_POINTS: readonly string[] = [...FAULT_POINTS, ...LIFECYCLE_FAULT_POINTS];
export type FaultAction = 'kill' | 'throw' | 'enospc' | 'eacces' | 'hold';

interface ArmedFault {
  point: FaultPoint | '*';
  subtask?: number;
  nth: number;
  orLater: boolean;
  action: FaultAction;
}

export const FAULT_ENV = 'FLINK_TS_FAULT';

/** Parses a FLINK_TS_FAULT value; throws on anything it does not understand (a typo must not disarm a test). */
export function parseFaultSpec(spec: string): ArmedFault[] {
  return spec.split(',').map((s) => s.trim()).filter(Boolean).map((part) => {
    const m = /^([a-z*][a-z.-]*)(?:@(\d+))?:(\d+)(\+?):(kill|throw|enospc|eacces|hold)$/.exec(part);
    const bySubtask = !!m && SUBTASK_FAULT_POINTS.includes(m[1]!);
    // An entry that could never fire would disarm a test silently.
    if (!m || (m[1] !== '*' && !ALL_POINTS.includes(m[1]!)) || Number(m[3]) < 1 || ((m[2] !== undefined || m[5] === 'hold') && !bySubtask)) {
      throw new Error(`Invalid ${FAULT_ENV} entry '${part}': expected <point>[@<subtask>]:<nth>[+]:<kill|throw|enospc|eacces|hold> with point one of ${ALL_POINTS.join(', ')} (@<subtask> and hold only at ${SUBTASK_FAULT_POINTS.join(', ')})`);
    }
    return {
      point: m[1] as FaultPoint | '*', ...(m[2] !== undefined && { subtask: Number(m[2]) }),
      nth: Number(m[3]), orLater: m[4] === '+', action: m[5] as FaultAction,
    };
  });
}

const armed: ArmedFault[] | undefined = process.env[FAULT_ENV] ? parseFaultSpec(process.env[FAULT_ENV]!) : undefined;
const passes = new Map<string, number>();

/**
 * Marks a step; crashes or fails there when FLINK_TS_FAULT says so. At SUBTASK_FAULT_POINTS the caller passes
 * its subtask index and awaits the result: a promise that never settles when the pass is held.
 */
export function faultPoint(point: FaultPoint, where?: string, subtask?: number): Promise<void> | undefined {
  if (armed === undefined) return undefined;
  const n = countPass(point);
  const ofSubtask = subtask === undefined ? undefined : countPass(`${point}@${subtask}`);
  let held: Promise<void> | undefined;
  for (const f of armed) {
    if (f.point !== point && f.point !== '*') continue;
    if (f.subtask !== undefined && f.subtask !== subtask) continue;
    const pass = f.subtask === undefined ? n : ofSubtask!;
    if (pass !== f.nth && !(f.orLater && pass > f.nth)) continue;
    if (f.action === 'hold') {
      writeSync(2, `FaultInjection: holding ${point}${subtask === undefined ? '' : ` of subtask ${subtask}`} (pass ${pass})${where ? ` at ${where}` : ''}\n`);
      held = new Promise<void>(() => {});
      continue;
    }
    fire(f.action, point, pass, where);
  }
  return held;
}

function countPass(key: string): number {
  const n = (passes.get(key) ?? 0) + 1;
  passes.set(key, n);
  return n;
}

function fire(action: Exclude<FaultAction, 'hold'>, point: FaultPoint, n: number, where: string | undefined): void {
  const at = `${point} (pass ${n})${where ? ` at ${where}` : ''}`;
  if (action === 'kill') {
    // Synchronously on fd 2: from a worker thread process.stderr is relayed by the main thread, which the kill
    // would beat; tests read this line to tell a fired point from some other death.
    writeSync(2, `FaultInjection: killing process ${process.pid} at ${at}\n`);
    process.kill(process.pid, 'SIGKILL');
    // SIGKILL is not delivered synchronously everywhere; never run past the point.
    for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
  }
  const code = action === 'enospc' ? 'ENOSPC' : action === 'eacces' ? 'EACCES' : 'EIO';
  const text = action === 'enospc' ? 'no space left on device' : action === 'eacces' ? 'permission denied' : 'i/o error';
  throw Object.assign(new Error(`${code}: ${text} (injected fault at ${at})`), { code });
}
