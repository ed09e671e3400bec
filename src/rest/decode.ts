import { FlinkError, type ErrorKind } from '../core/FlinkError.js';
import { asErrorKind } from './errors.js';
import { JOB_STATUSES, type JobStatus } from '../core/JobStatus.js';
import { summarizeJavaError } from './javaErrors.js';
import { emptyTaskCounts, TASK_STATES, type AsyncOperationStatus, type JobDetails, type JobSummary, type TaskCounts } from './Dispatcher.js';

/** Wire -> values, the client's side of messages.ts: lenient about extra fields, strict about the ones the CLI relies on. */

function malformed(what: string): FlinkError {
  return new FlinkError('unreachable', `The JobManager answered with a malformed ${what}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function asJobStatus(v: unknown, what: string): JobStatus {
  if (typeof v === 'string' && (JOB_STATUSES as readonly string[]).includes(v)) return v as JobStatus;
  throw malformed(what);
}

function num(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}

export function fromJobOverview(v: unknown): JobSummary {
  if (!isRecord(v) || typeof v.jid !== 'string') throw malformed('job overview');
  return {
    id: v.jid,
    name: typeof v.name === 'string' ? v.name : '',
    status: asJobStatus(v.state, 'job overview'),
    startTime: num(v['start-time'], -1),
    endTime: num(v['end-time'], -1),
    lastModification: num(v['last-modification'], -1),
    tasks: fromWireTaskCounts(isRecord(v.tasks) ? v.tasks : undefined),
  };
}

export function fromMultipleJobsDetails(v: unknown): JobSummary[] {
  if (!isRecord(v) || !Array.isArray(v.jobs)) throw malformed('job list');
  return v.jobs.map(fromJobOverview);
}

export function fromJobDetailsInfo(v: unknown): JobDetails {
  if (!isRecord(v) || typeof v.jid !== 'string') throw malformed('job details');
  const vertices = Array.isArray(v.vertices) ? v.vertices.filter(isRecord) : [];
  const timestamps: Partial<Record<JobStatus, number>> = {};
  if (isRecord(v.timestamps)) {
    for (const s of JOB_STATUSES) {
      const t = v.timestamps[s];
      if (typeof t === 'number' && t > 0) timestamps[s] = t;
    }
  }
  return {
    id: v.jid,
    name: typeof v.name === 'string' ? v.name : '',
    status: asJobStatus(v.state, 'job details'),
    startTime: num(v['start-time'], -1),
    endTime: num(v['end-time'], -1),
    lastModification: num(v.now, -1),
    isStoppable: v.isStoppable === true,
    // Real Flink reports it only as the numRestarts metric.
    ...(typeof v.numRestarts === 'number' ? { numRestarts: v.numRestarts } : {}),
    timestamps,
    tasks: emptyTaskCounts(),
    vertices: vertices.map((x) => ({
      id: String(x.id ?? ''),
      name: String(x.name ?? ''),
      parallelism: num(x.parallelism, 1),
      maxParallelism: num(x.maxParallelism, -1),
      status: String(x.status ?? ''),
      startTime: num(x['start-time'], -1),
      endTime: num(x['end-time'], -1),
      tasks: { ...emptyTaskCounts(), ...(isRecord(x.tasks) ? x.tasks as Partial<TaskCounts> : {}) },
    })),
  };
}

export function fromTriggerResponse(v: unknown): string {
  if (!isRecord(v) || typeof v['request-id'] !== 'string') throw malformed('trigger response');
  return v['request-id'];
}

/**
 * The message of a serialized failure cause: the first stack-trace line without its "Class: " prefix, and for a
 * Java trace with causes (Apache Flink's) the root cause too.
 */
export function failureMessage(cause: unknown): string {
  if (!isRecord(cause)) return 'unknown failure';
  const trace = typeof cause['stack-trace'] === 'string' ? cause['stack-trace'] : '';
  const cls = typeof cause.class === 'string' ? cause.class : '';
  if (/\nCaused by: /.test(trace)) return summarizeJavaError(trace);
  // Java traces continue with "\n\tat ..." frames; the message is what precedes them.
  let msg = trace.split(/\r?\n\s+at /)[0] ?? '';
  if (cls && msg.startsWith(`${cls}: `)) msg = msg.slice(cls.length + 2);
  else if (cls && msg === cls) msg = '';
  msg = msg.trim();
  return msg || cls || 'unknown failure';
}

export function fromAsyncOperationResult(v: unknown): AsyncOperationStatus {
  if (!isRecord(v) || !isRecord(v.status)) throw malformed('operation status');
  if (v.status.id === 'IN_PROGRESS') return { status: 'IN_PROGRESS' };
  if (v.status.id !== 'COMPLETED') throw malformed('operation status');
  const op = isRecord(v.operation) ? v.operation : {};
  if (op['failure-cause'] !== undefined && op['failure-cause'] !== null) {
    return { status: 'COMPLETED', failureCause: failureMessage(op['failure-cause']), ...failureKindOf(op['failure-cause']) };
  }
  return { status: 'COMPLETED', location: typeof op.location === 'string' ? op.location : '' };
}

/** Our server's error kind of a failed operation (absent from Flink's answers: the client's default applies). */
function failureKindOf(cause: unknown): { failureKind?: ErrorKind } {
  const kind = isRecord(cause) ? asErrorKind(cause['x-flink-ts-error-kind']) : undefined;
  return kind ? { failureKind: kind } : {};
}

export function fromErrorResponse(v: unknown): string[] | undefined {
  if (!isRecord(v) || !Array.isArray(v.errors)) return undefined;
  return v.errors.map((e) => String(e));
}


export function fromWireTaskCounts(w: Partial<Record<string, unknown>> | undefined): TaskCounts {
  const t = emptyTaskCounts();
  for (const s of TASK_STATES) {
    const v = w?.[s.toLowerCase()];
    if (typeof v === 'number') t[s] = v;
  }
  return t;
}

export function fromCheckpointOperationResult(v: unknown): AsyncOperationStatus {
  if (!isRecord(v) || !isRecord(v.status)) throw malformed('checkpoint status');
  if (v.status.id === 'IN_PROGRESS') return { status: 'IN_PROGRESS' };
  if (v.status.id !== 'COMPLETED') throw malformed('checkpoint status');
  const op = isRecord(v.operation) ? v.operation : {};
  if (op.failureCause !== undefined && op.failureCause !== null) return { status: 'COMPLETED', failureCause: failureMessage(op.failureCause), ...failureKindOf(op.failureCause) };
  if (typeof op.checkpointId !== 'number') throw malformed('checkpoint status');
  return { status: 'COMPLETED', checkpointId: op.checkpointId, location: typeof op.location === 'string' ? op.location : '' };
}
