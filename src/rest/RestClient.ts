import { FlinkError } from '../core/FlinkError.js';
import type { CheckpointType } from '../checkpoint/CheckpointOptions.js';
import type { AsyncOperationStatus, JobDetails, JobSummary } from './Dispatcher.js';
import type { SavepointFormatType } from '../core/SavepointFormatType.js';
import type {
  CheckpointingStatisticsBody, ClusterOverviewBody, DashboardConfigurationBody, JobIdsWithStatusBody,
  SavepointTriggerRequestBody, StopWithSavepointRequestBody,
} from './messages.js';
import { ERROR_KIND_HEADER, errorKindFor } from './errors.js';
import { summarizeFlinkErrors } from './javaErrors.js';
import {
  fromAsyncOperationResult, fromCheckpointOperationResult, fromErrorResponse, fromJobDetailsInfo,
  fromMultipleJobsDetails, fromTriggerResponse,
} from './decode.js';

export interface RestClientOptions {
  /** Per-request timeout. */
  timeoutMs?: number;
  /** Sent as `Authorization: Bearer <token>` (rest.auth.token). */
  token?: string;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/**
 * Turns what users pass to `-m` (host:port, :port, or a URL) into a base URL. Flink's -m takes host:port;
 * a URL is accepted too because that is what the index records.
 */
export function normalizeEndpoint(address: string): string {
  const a = address.trim();
  if (a === '') throw new FlinkError('invalid-argument', 'The JobManager address is empty; expected host:port');
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(a) ? a : `http://${a.startsWith(':') ? `127.0.0.1${a}` : a}`);
  } catch {
    throw new FlinkError('invalid-argument', `Invalid JobManager address '${address}'; expected host:port`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new FlinkError('invalid-argument', `Invalid JobManager address '${address}'; only http(s) endpoints are supported`);
  }
  if (url.port === '' && !/^[a-z][a-z0-9+.-]*:\/\//i.test(a)) {
    throw new FlinkError('invalid-argument', `Invalid JobManager address '${address}'; expected host:port`);
  }
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

/** A client of the JobManager's REST endpoint (the paths RestServer serves), on Node's global fetch. */
export class RestClient {
  readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly auth: Record<string, string>;

  constructor(endpoint: string, opts: RestClientOptions = {}) {
    this.baseUrl = normalizeEndpoint(endpoint);
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.auth = opts.token ? { Authorization: `Bearer ${opts.token}` } : {};
  }

  config(): Promise<DashboardConfigurationBody> {
    return this.request('GET', '/config') as Promise<DashboardConfigurationBody>;
  }

  overview(): Promise<ClusterOverviewBody> {
    return this.request('GET', '/overview') as Promise<ClusterOverviewBody>;
  }

  async jobIds(): Promise<JobIdsWithStatusBody['jobs']> {
    const body = (await this.request('GET', '/jobs')) as JobIdsWithStatusBody;
    return Array.isArray(body?.jobs) ? body.jobs : [];
  }

  async listJobs(): Promise<JobSummary[]> {
    return fromMultipleJobsDetails(await this.request('GET', '/jobs/overview'));
  }

  async jobDetails(jobId: string): Promise<JobDetails> {
    return fromJobDetailsInfo(await this.request('GET', `/jobs/${enc(jobId)}`));
  }

  /** Flink's numRestarts job metric (GET /jobs/:jobid/metrics?get=numRestarts); undefined when not reported. */
  async numRestarts(jobId: string): Promise<number | undefined> {
    const body = await this.request('GET', `/jobs/${enc(jobId)}/metrics?get=numRestarts`);
    const m = Array.isArray(body) ? (body as Array<{ id?: unknown; value?: unknown }>).find((x) => x?.id === 'numRestarts') : undefined;
    const n = Number(m?.value);
    return m && Number.isFinite(n) ? n : undefined;
  }

  async cancelJob(jobId: string): Promise<void> {
    await this.request('PATCH', `/jobs/${enc(jobId)}?mode=cancel`);
  }

  async triggerSavepoint(
    jobId: string, opts: { targetDirectory?: string; cancelJob?: boolean; formatType?: SavepointFormatType } = {},
  ): Promise<string> {
    const body: SavepointTriggerRequestBody = { 'cancel-job': opts.cancelJob ?? false };
    if (opts.targetDirectory !== undefined) body['target-directory'] = opts.targetDirectory;
    if (opts.formatType !== undefined) body.formatType = opts.formatType;
    return fromTriggerResponse(await this.request('POST', `/jobs/${enc(jobId)}/savepoints`, body));
  }

  async savepointStatus(jobId: string, triggerId: string): Promise<AsyncOperationStatus> {
    return fromAsyncOperationResult(await this.request('GET', `/jobs/${enc(jobId)}/savepoints/${enc(triggerId)}`));
  }

  async stopWithSavepoint(
    jobId: string, opts: { targetDirectory?: string; drain?: boolean; formatType?: SavepointFormatType } = {},
  ): Promise<string> {
    const body: StopWithSavepointRequestBody = { drain: opts.drain ?? false };
    if (opts.targetDirectory !== undefined) body.targetDirectory = opts.targetDirectory;
    if (opts.formatType !== undefined) body.formatType = opts.formatType;
    return fromTriggerResponse(await this.request('POST', `/jobs/${enc(jobId)}/stop`, body));
  }

  async disposeSavepoint(savepointPath: string): Promise<string> {
    return fromTriggerResponse(await this.request('POST', '/savepoint-disposal', { 'savepoint-path': savepointPath }));
  }

  async disposalStatus(triggerId: string): Promise<AsyncOperationStatus> {
    return fromAsyncOperationResult(await this.request('GET', `/savepoint-disposal/${enc(triggerId)}`));
  }

  /** POST /jobs/:jobid/checkpoints (Flink 1.19+): returns the trigger id. */
  async triggerCheckpoint(jobId: string, checkpointType: CheckpointType): Promise<string> {
    return fromTriggerResponse(await this.request('POST', `/jobs/${enc(jobId)}/checkpoints`, { checkpointType }));
  }

  async checkpointStatus(jobId: string, triggerId: string): Promise<AsyncOperationStatus> {
    return fromCheckpointOperationResult(await this.request('GET', `/jobs/${enc(jobId)}/checkpoints/${enc(triggerId)}`));
  }

  checkpointStats(jobId: string): Promise<CheckpointingStatisticsBody> {
    return this.request('GET', `/jobs/${enc(jobId)}/checkpoints`) as Promise<CheckpointingStatisticsBody>;
  }

  /** Sends one request (a JSON body, or FormData for uploads); the response's `{errors}` become a FlinkError of the matching kind. */
  async request(method: string, path: string, body?: unknown): Promise<unknown> {
    const url = this.baseUrl + path;
    // A ref'd timer, unlike AbortSignal.timeout: a connection the server drops must end in an error,
    // not in an event loop with nothing left to wait for (which exits 13 under a top-level await).
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(Object.assign(new Error('timeout'), { name: 'TimeoutError' })), this.timeoutMs);
    let res: Response;
    let text: string;
    try {
      try {
        // FormData (a jar upload) sets its own multipart Content-Type.
        const form = body instanceof FormData;
        res = await fetch(url, {
          method,
          headers: body === undefined || form ? { ...this.auth, Accept: 'application/json' } : { ...this.auth, Accept: 'application/json', 'Content-Type': 'application/json' },
          body: body === undefined ? undefined : form ? body : JSON.stringify(body),
          signal: abort.signal,
        });
        text = await res.text();
      } catch (e) {
        throw this.transportError(abort.signal.aborted ? abort.signal.reason : e);
      }
    } finally {
      clearTimeout(timer);
    }
    let json: unknown;
    if (text.trim() !== '') {
      try {
        json = JSON.parse(text);
      } catch {
        throw new FlinkError(res.ok ? 'unreachable' : errorKindFor(res.status),
          `The endpoint ${this.baseUrl} did not answer like a Flink JobManager (HTTP ${res.status}, body is not JSON)`);
      }
    }
    if (!res.ok) {
      const errs = fromErrorResponse(json);
      // Apache Flink sends Java stack traces as errors: one line of them.
      const message = errs && errs.length > 0 ? summarizeFlinkErrors(errs) : `HTTP ${res.status} ${res.statusText} from ${url}`;
      throw new FlinkError(errorKindFor(res.status, res.headers.get(ERROR_KIND_HEADER)), message);
    }
    return json;
  }

  private transportError(e: unknown): FlinkError {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    if (err?.name === 'TimeoutError' || err?.name === 'AbortError') {
      return new FlinkError('unreachable', `The JobManager at ${this.baseUrl} did not answer within ${this.timeoutMs} ms`, { cause: e });
    }
    const code = err?.cause?.code;
    const why = code === 'ECONNREFUSED' ? 'connection refused'
      : code === 'ENOTFOUND' ? 'unknown host'
        : code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' ? 'connection reset'
          : err?.cause?.message ?? err?.message ?? String(e);
    return new FlinkError('unreachable', `Could not connect to the JobManager at ${this.baseUrl}: ${why}`, { cause: e });
  }
}

function enc(s: string): string {
  return encodeURIComponent(s);
}
