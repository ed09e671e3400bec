import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FlinkError, isFlinkError } from '../core/FlinkError.js';
import type { Dispatcher, SubtaskMetrics } from './Dispatcher.js';
import { RequestGuard } from './RequestGuard.js';
import { availableParallelism, freemem, totalmem } from 'node:os';
import type { CheckpointStatsEntry } from '../checkpoint/CheckpointStatsTracker.js';
import {
  parseCheckpointTriggerRequest, toCheckpointConfigInfo, toCheckpointOperationResult, parseSavepointDisposalRequest,
  parseSavepointTriggerRequest, parseStopWithSavepointRequest, toAsyncOperationResult, toCheckpointingStatistics,
  toCheckpointStatistics, toClusterOverview, toConfigurationInfo, toDashboardConfiguration, toJobConfigInfo, toJobDetailsInfo,
  toJobExceptions, toJobExecutionResult, toJobIdsWithStatus, toJobMetrics, toJobOverview, toJobStatusInfo, toPlan,
  toTaskCheckpointStatisticsWithSubtasks, toTaskManagersInfo, type ErrorResponseBody,
} from './messages.js';
import { ERROR_KIND_HEADER, httpStatusFor } from './errors.js';
import { stringifyJava } from './json.js';
import { toAggregatedSubtaskMetrics, toVertexBackPressure, toVertexMetrics, toVertexWatermarks } from './vertexMetrics.js';
import { StaticAssets, type StaticFile } from '../web/StaticAssets.js';

export interface RestServerOptions {
  /** Address to bind; Flink's rest.bind-address. Loopback unless configured otherwise. */
  host?: string;
  /** 0 picks a free port; a string is a Flink port spec (rest.bind-port: `8081`, `50100-50200`, `0`), tried in order. */
  port?: number | string;
  /** Largest accepted request body; larger ones get 413. */
  maxBodyBytes?: number;
  /** Receives one line per unexpected server-side error (the JobManager's log). */
  log?: (line: string) => void;
  /** When set, every request needs `Authorization: Bearer <token>` (rest.auth.token). */
  authToken?: string;
  /** Host names accepted in the Host header besides IP literals and localhost (e.g. rest.address). */
  allowedHosts?: string[];
}

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** A file of the dashboard page instead of a JSON body. */
  file?: StaticFile;
}

interface RequestContext {
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
}

interface Route {
  method: string;
  /** Segments; ':name' segments capture a path parameter. */
  segments: string[];
  hasBody: boolean;
  handle: (ctx: RequestContext) => Reply;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly headers?: Record<string, string>) {
    super(message);
  }
}

const JOB_ID = /^[0-9a-fA-F]{32}$/;
// Trigger ids are minted by the dispatcher; accept any token-like id so the dispatcher decides what exists.
const TRIGGER_ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * The JobManager's REST endpoint: Flink's paths and JSON shapes over node:http, delegating to a Dispatcher.
 * Every request ends in exactly one JSON response; bad input gives 4xx, never a crashed process.
 */
export class RestServer {
  private readonly server: Server;
  private readonly routes: Route[];
  private readonly host: string;
  private readonly ports: number[];
  private readonly portSpec: string;
  private readonly maxBodyBytes: number;
  private readonly log: (line: string) => void;
  private boundUrl: string | undefined;
  private readonly guard: RequestGuard;
  private assets: StaticAssets | undefined;

  constructor(private readonly dispatcher: Dispatcher, opts: RestServerOptions = {}) {
    this.guard = new RequestGuard(opts.authToken, opts.allowedHosts ?? []);
    this.host = opts.host ?? '127.0.0.1';
    this.portSpec = String(opts.port ?? 0);
    this.ports = typeof opts.port === 'string' ? expandPortSpec(opts.port) : [opts.port ?? 0];
    this.maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.log = opts.log ?? (() => {});
    this.routes = this.buildRoutes();
    this.server = createServer((req, res) => {
      this.dispatch(req, res).catch((e) => {
        // Last resort: dispatch already answers every error it expects.
        this.log(`REST handler failed: ${(e as Error)?.stack ?? String(e)}`);
        if (!res.headersSent) send(res, 500, { errors: ['Internal server error.'] });
        else res.destroy();
      });
    });
    // Slow or stuck clients must not pin the JobManager.
    this.server.requestTimeout = 30_000;
    this.server.headersTimeout = 10_000;
  }

  /** Binds and resolves with the endpoint's URL (with the actual port when 0 was requested). */
  async start(): Promise<string> {
    let last: FlinkError | undefined;
    for (const port of this.ports) {
      try {
        return await this.listen(port);
      } catch (e) {
        last = e as FlinkError;
        // A busy port in a range: try the next one, like Flink's port ranges.
        if (last.kind !== 'conflict') throw last;
      }
    }
    throw this.ports.length > 1
      ? new FlinkError('conflict', `Could not start the REST endpoint on ${this.host}: no free port in '${this.portSpec}'`, { cause: last })
      : last!;
  }

  private listen(port: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => {
        this.server.off('listening', onListening);
        const code = (e as NodeJS.ErrnoException).code;
        reject(new FlinkError(code === 'EADDRINUSE' ? 'conflict' : 'io',
          `Could not start the REST endpoint on ${this.host}:${port}: ${e.message}`, { cause: e }));
      };
      const onListening = () => {
        this.server.off('error', onError);
        const addr = this.server.address() as AddressInfo;
        const host = addr.family === 'IPv6' || addr.address.includes(':') ? `[${addr.address}]` : addr.address;
        this.boundUrl = `http://${host}:${addr.port}`;
        resolve(this.boundUrl);
      };
      this.server.once('error', onError);
      this.server.once('listening', onListening);
      this.server.listen(port, this.host);
    });
  }

  get url(): string {
    if (!this.boundUrl) throw new FlinkError('internal', 'REST server is not started');
    return this.boundUrl;
  }

  get port(): number {
    return (this.server.address() as AddressInfo | null)?.port ?? 0;
  }

  /** Stops accepting connections and drops idle/open ones so the process can exit promptly. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private buildRoutes(): Route[] {
    const d = this.dispatcher;
    const route = (method: string, path: string, handle: Route['handle']): Route => ({
      method, segments: path.split('/').filter(Boolean), hasBody: method === 'POST' || method === 'PATCH', handle,
    });
    const ok = (body: unknown, status = 200): Reply => ({ status, body });
    return [
      route('GET', '/config', () => ok(toDashboardConfiguration(d.flinkVersion))),
      route('GET', '/overview', () => ok(toClusterOverview(d.flinkVersion, d.listJobs(), d.slots?.()))),
      route('GET', '/jobmanager/config', () => ok(toConfigurationInfo(d.clusterConfiguration?.() ?? {}))),
      route('GET', '/taskmanagers', () => ok(toTaskManagersInfo(d.slots?.() ?? { total: 1, free: 1 }, {
        cpuCores: availableParallelism(), physicalMemory: totalmem(), freeMemory: freemem(),
      }))),
      route('GET', '/jobs', () => ok(toJobIdsWithStatus(d.listJobs()))),
      route('GET', '/jobs/overview', () => {
        const now = Date.now();
        return ok({ jobs: d.listJobs().map((j) => toJobOverview(j, now)) });
      }),
      route('GET', '/jobs/:jobid', ({ params }) => ok(toJobDetailsInfo(d.jobDetails(params.jobid!)))),
      route('GET', '/jobs/:jobid/metrics', ({ params, query }) => ok(toJobMetrics(d.jobDetails(params.jobid!), query.get('get')))),
      route('GET', '/jobs/:jobid/status', ({ params }) => ok(toJobStatusInfo(d.jobDetails(params.jobid!)))),
      route('GET', '/jobs/:jobid/execution-result', ({ params }) => ok(toJobExecutionResult(d.jobDetails(params.jobid!)))),
      route('GET', '/jobs/:jobid/exceptions', ({ params, query }) => ok(toJobExceptions(d.jobDetails(params.jobid!), maxExceptions(query)))),
      route('GET', '/jobs/:jobid/config', ({ params }) => ok(toJobConfigInfo(d.jobDetails(params.jobid!)))),
      // As Flink's metric handlers, an unknown vertex has no metrics (not a 404); /watermarks checks the vertex.
      route('GET', '/jobs/:jobid/vertices/:vertexid/metrics', ({ params, query }) =>
        ok(toVertexMetrics(vertexMetrics(d, params.jobid!, params.vertexid!) ?? [], query.get('get')))),
      route('GET', '/jobs/:jobid/vertices/:vertexid/subtasks/metrics', ({ params, query }) =>
        ok(toAggregatedSubtaskMetrics(vertexMetrics(d, params.jobid!, params.vertexid!) ?? [], query.get('get'), query.get('agg'), query.get('subtasks')))),
      route('GET', '/jobs/:jobid/vertices/:vertexid/watermarks', ({ params }) => {
        const m = vertexMetrics(d, params.jobid!, params.vertexid!);
        if (!m) throw new HttpError(404, `No vertex with ID '${params.vertexid}' exists.`);
        return ok(toVertexWatermarks(m));
      }),
      route('GET', '/jobs/:jobid/vertices/:vertexid/backpressure', ({ params }) => ok(toVertexBackPressure(vertexMetrics(d, params.jobid!, params.vertexid!) ?? []))),
      route('GET', '/jobs/:jobid/plan', ({ params }) => ok({ plan: toPlan(d.jobDetails(params.jobid!)) })),
      route('PATCH', '/jobs/:jobid', ({ params, query }) => {
        const mode = query.get('mode');
        if (mode !== null && mode.toLowerCase() !== 'cancel') {
          throw new HttpError(400, mode.toLowerCase() === 'stop'
            ? "Termination mode 'stop' is not supported; use POST /jobs/:jobid/stop to stop a job with a savepoint."
            : `Invalid value '${mode}' for query parameter 'mode'; the only supported value is 'cancel'.`);
        }
        d.cancelJob(params.jobid!);
        return ok({}, 202);
      }),
      route('GET', '/jobs/:jobid/checkpoints', ({ params }) => ok(toCheckpointingStatistics(d.checkpointStats(params.jobid!)))),
      route('GET', '/jobs/:jobid/checkpoints/config', ({ params }) => ok(toCheckpointConfigInfo(d.checkpointConfig(params.jobid!)))),
      route('POST', '/jobs/:jobid/checkpoints', ({ params, body }) => {
        const { checkpointType, triggerId } = parseCheckpointTriggerRequest(body);
        return ok({ 'request-id': d.triggerCheckpoint(params.jobid!, checkpointType, triggerId) }, 202);
      }),
      route('GET', '/jobs/:jobid/checkpoints/details/:checkpointid', ({ params }) =>
        ok(toCheckpointStatistics(checkpointEntry(d, params.jobid!, params.checkpointid!), true))),
      route('GET', '/jobs/:jobid/checkpoints/details/:checkpointid/subtasks/:vertexid', ({ params }) => {
        const e = checkpointEntry(d, params.jobid!, params.checkpointid!);
        const body = toTaskCheckpointStatisticsWithSubtasks(e, params.vertexid!.toLowerCase());
        if (!body) throw new HttpError(404, `There is no checkpoint statistics for task ${params.vertexid}.`);
        return ok(body);
      }),
      route('GET', '/jobs/:jobid/checkpoints/:triggerid', ({ params }) =>
        ok(toCheckpointOperationResult(d.checkpointStatus(params.jobid!, params.triggerid!)))),
      route('POST', '/jobs/:jobid/savepoints', ({ params, body }) => {
        const req = parseSavepointTriggerRequest(body);
        return ok({ 'request-id': d.triggerSavepoint(params.jobid!, req) }, 202);
      }),
      route('GET', '/jobs/:jobid/savepoints/:triggerid', ({ params }) =>
        ok(toAsyncOperationResult(d.savepointStatus(params.jobid!, params.triggerid!)))),
      route('POST', '/jobs/:jobid/stop', ({ params, body }) => {
        const req = parseStopWithSavepointRequest(body);
        return ok({ 'request-id': d.stopWithSavepoint(params.jobid!, req) }, 202);
      }),
      route('POST', '/savepoint-disposal', ({ body }) => {
        const { savepointPath } = parseSavepointDisposalRequest(body);
        return ok({ 'request-id': d.disposeSavepoint(savepointPath) });
      }),
      route('GET', '/savepoint-disposal/:triggerid', ({ params }) =>
        ok(toAsyncOperationResult(d.disposalStatus(params.triggerid!), false))),
    ];
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let reply: Reply;
    try {
      reply = await this.handle(req);
    } catch (e) {
      reply = this.errorReply(e);
    }
    if (reply.status === 413) {
      // The rest of an oversized body is not worth reading: answer, then close the connection.
      res.setHeader('Connection', 'close');
      res.on('finish', () => req.destroy());
    }
    if (reply.file) {
      const f = reply.file;
      res.writeHead(f.status, { ...f.headers, 'Content-Type': f.contentType, 'Content-Length': String(f.body.length) });
      res.end(req.method === 'HEAD' ? undefined : f.body);
      return;
    }
    send(res, reply.status, reply.body, reply.headers);
  }

  private async handle(req: IncomingMessage): Promise<Reply> {
    const refused = this.guard.checkHostAndOrigin(req);
    if (refused) throw new HttpError(refused.status, refused.message, refused.headers);
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      throw new HttpError(400, 'Malformed request URL.');
    }
    let path: string;
    try {
      path = decodeURIComponent(url.pathname);
    } catch {
      throw new HttpError(400, 'Malformed request URL.');
    }
    // The dashboard page at `/`, as Flink's JobManager serves its web UI. Its files hold no data, so they need
    // no token (a browser cannot send one when it opens a URL); every REST call the page makes does.
    if ((req.method === 'GET' || req.method === 'HEAD') && StaticAssets.isAssetPath(url.pathname)) {
      return { status: 200, body: undefined, file: (this.assets ??= new StaticAssets()).get(url.pathname) };
    }
    const noToken = this.guard.checkToken(req);
    if (noToken) throw new HttpError(noToken.status, noToken.message, noToken.headers);
    // Flink serves the same API under the versioned prefix /v1.
    const segments = path.split('/').filter(Boolean);
    if (segments[0] === 'v1') segments.shift();
    const method = (req.method ?? 'GET').toUpperCase();

    const matching = this.routes
      .map((r) => ({ r, params: match(r.segments, segments) }))
      .filter((m): m is { r: Route; params: Record<string, string> } => m.params !== undefined);
    if (matching.length === 0) throw new HttpError(404, `Not found: ${url.pathname}`);
    const hit = matching.find((m) => m.r.method === method);
    if (!hit) {
      const allow = [...new Set(matching.map((m) => m.r.method))].join(', ');
      throw new HttpError(405, `Method ${method} is not allowed for ${url.pathname}.`, { Allow: allow });
    }

    const params = hit.params;
    if (params.jobid !== undefined) {
      if (!JOB_ID.test(params.jobid)) {
        throw new HttpError(400, `Bad request, could not parse parameters: Cannot resolve path parameter (jobid) from value "${params.jobid}".`);
      }
      params.jobid = params.jobid.toLowerCase();
    }
    if (params.vertexid !== undefined && !JOB_ID.test(params.vertexid)) {
      throw new HttpError(400, `Bad request, could not parse parameters: Cannot resolve path parameter (vertexid) from value "${params.vertexid}".`);
    }
    if (params.triggerid !== undefined && !TRIGGER_ID.test(params.triggerid)) {
      throw new HttpError(400, `Bad request, could not parse parameters: Cannot resolve path parameter (triggerid) from value "${params.triggerid}".`);
    }
    const body = hit.r.hasBody ? await this.readJsonBody(req) : undefined;
    return hit.r.handle({ params, query: url.searchParams, body });
  }

  /** Reads at most maxBodyBytes; an empty body is `undefined` (all request fields are optional in Flink). */
  private readJsonBody(req: IncomingMessage): Promise<unknown> {
    const limit = this.maxBodyBytes;
    const tooLarge = () => new HttpError(413, `Request body exceeds the limit of ${limit} bytes.`);
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge());
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      const finish = (err: Error | undefined, value?: unknown) => {
        if (done) return;
        done = true;
        if (err) reject(err);
        else resolve(value);
      };
      req.on('data', (chunk: Buffer) => {
        if (done) return;
        size += chunk.length;
        if (size > limit) {
          chunks.length = 0;
          finish(tooLarge());
          return;
        }
        chunks.push(chunk);
      });
      req.on('error', (e) => finish(new HttpError(400, `Could not read the request body: ${e.message}`)));
      req.on('aborted', () => finish(new HttpError(400, 'Request aborted.')));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8').trim();
        if (text === '') return finish(undefined, undefined);
        try {
          finish(undefined, JSON.parse(text));
        } catch (e) {
          finish(new HttpError(400, `Request body is not valid JSON: ${(e as Error).message}`));
        }
      });
    });
  }

  private errorReply(e: unknown): Reply {
    if (e instanceof HttpError) return { status: e.status, body: errors(e.message), headers: e.headers };
    if (isFlinkError(e)) {
      return { status: httpStatusFor(e.kind), body: errors(e.message), headers: { [ERROR_KIND_HEADER]: e.kind } };
    }
    this.log(`REST request failed: ${(e as Error)?.stack ?? String(e)}`);
    const msg = e instanceof Error ? e.message : String(e);
    return { status: 500, body: errors('Internal server error.', msg), headers: { [ERROR_KIND_HEADER]: 'internal' } };
  }
}

/** Ports of a Flink port spec (`0`, `8081`, `50100-50200`, `50100,50200-50210`), in order. */
export function expandPortSpec(spec: string): number[] {
  const ports: number[] = [];
  for (const part of spec.split(',')) {
    const m = /^\s*(\d{1,5})\s*(?:-\s*(\d{1,5})\s*)?$/.exec(part);
    const lo = Number(m?.[1]);
    const hi = m?.[2] === undefined ? lo : Number(m[2]);
    if (!m || hi > 65535 || lo > hi) {
      throw new FlinkError('config', `Invalid REST port '${spec}': expected a port (0-65535), a range such as '50100-50200', or a comma-separated list of these`);
    }
    for (let p = lo; p <= hi; p++) ports.push(p);
  }
  return ports;
}

/** A checkpoint of the job's kept history; Flink answers 404 for one it no longer (or never) had. */
function checkpointEntry(d: Dispatcher, jobId: string, checkpointId: string): CheckpointStatsEntry {
  if (!/^\d{1,18}$/.test(checkpointId)) {
    throw new HttpError(400, `Bad request, could not parse parameters: Cannot resolve path parameter (checkpointid) from value "${checkpointId}".`);
  }
  const e = d.checkpointDetails?.(jobId, Number(checkpointId));
  if (!e) throw new HttpError(404, `Could not find checkpointing statistics for checkpoint ${checkpointId}.`);
  return e;
}

/** ?maxExceptions=N of /jobs/:id/exceptions (Flink's UpperLimitExceptionParameter; 20 by default). */
function maxExceptions(q: URLSearchParams): number {
  const v = q.get('maxExceptions');
  if (v === null) return 20;
  if (!/^\d{1,9}$/.test(v)) throw new HttpError(400, `Bad request, could not parse parameters: Cannot resolve query parameter (maxExceptions) from value "${v}".`);
  return Number(v);
}

function errors(...messages: string[]): ErrorResponseBody {
  return { errors: messages.filter((m) => m !== '') };
}

function match(pattern: string[], segments: string[]): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const s = segments[i]!;
    if (p.startsWith(':')) params[p.slice(1)] = s;
    else if (p !== s) return undefined;
  }
  return params;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = Buffer.from(stringifyJava(body), 'utf8');
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json; charset=UTF-8',
    'Content-Length': String(payload.length),
  });
  res.end(payload);
}

/**
 * A vertex's subtask metrics (undefined: no such vertex); a cluster that measures none answers as Flink's does
 * before its first fetch (nothing). An unknown job is a 404 either way.
 */
function vertexMetrics(d: Dispatcher, jobId: string, vertexId: string): SubtaskMetrics[] | undefined {
  if (d.vertexMetrics) return d.vertexMetrics(jobId, vertexId);
  const details = d.jobDetails(jobId);
  return details.vertices.some((v) => v.id === vertexId.toLowerCase()) ? [] : undefined;
}
