import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CheckpointIndex, JobRecord } from '../catalog/CheckpointIndex.js';
import { defaultIsProcessAlive } from '../client/ClusterClient.js';
import { FlinkError } from '../core/FlinkError.js';
import { isGloballyTerminal } from '../core/JobStatus.js';
import { RequestGuard } from '../rest/RequestGuard.js';
import { toDashboardConfiguration } from '../rest/messages.js';
import { historyCheckpoints, historyExceptions, historyJobDetails, historyOverview, type CatalogJob } from './CatalogHistory.js';
import { StaticAssets } from './StaticAssets.js';

export interface DashboardServerOptions {
  index: CheckpointIndex;
  flinkVersion: string;
  host?: string;
  port?: number;
  /** rest.auth.token: required from the browser for data, and sent to each job's REST endpoint. */
  authToken?: string;
  allowedHosts?: string[];
  /** How often the page polls (Flink's web.refresh-interval). */
  refreshIntervalMs?: number;
  /** Per-request timeout towards a job's REST endpoint. */
  upstreamTimeoutMs?: number;
  isProcessAlive?: (pid: number) => boolean;
}

const JOB_PATH = /^\/jobs\/([0-9a-f]{32})(\/.*)?$/;

/**
 * `flink dashboard`: one page over every job of the catalog. Running jobs are proxied to their own REST
 * endpoints (so the browser talks to one origin), ended ones are answered from the catalog in Flink's shapes,
 * as Flink's HistoryServer answers from its archives. Read-only: only GET is forwarded, so the page can look
 * but not cancel or trigger anything.
 */
export class DashboardServer {
  private readonly server: Server;
  private readonly guard: RequestGuard;
  private readonly assets = new StaticAssets();
  private readonly isAlive: (pid: number) => boolean;
  private boundUrl: string | undefined;

  constructor(private readonly opts: DashboardServerOptions) {
    this.guard = new RequestGuard(opts.authToken, opts.allowedHosts ?? []);
    this.isAlive = opts.isProcessAlive ?? defaultIsProcessAlive;
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e) => {
        if (!res.headersSent) json(res, 500, { errors: ['Internal server error.', (e as Error)?.message ?? String(e)] });
        else res.destroy();
      });
    });
    this.server.requestTimeout = 30_000;
    this.server.headersTimeout = 10_000;
  }

  async start(): Promise<string> {
    const host = this.opts.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', (e: NodeJS.ErrnoException) =>
        reject(new FlinkError(e.code === 'EADDRINUSE' ? 'conflict' : 'io', `Could not start the dashboard on ${host}:${this.opts.port ?? 0}: ${e.message}`, { cause: e })));
      this.server.listen(this.opts.port ?? 0, host, () => resolve());
    });
    const a = this.server.address() as AddressInfo;
    this.boundUrl = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
    return this.boundUrl;
  }

  get url(): string {
    if (!this.boundUrl) throw new FlinkError('internal', 'The dashboard is not started');
    return this.boundUrl;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const refused = this.guard.checkHostAndOrigin(req);
    if (refused) return json(res, refused.status, { errors: [refused.message] }, refused.headers);
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return json(res, 400, { errors: ['Malformed request URL.'] });
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return json(res, 405, { errors: [`Method ${req.method} is not allowed: the dashboard is read-only; use the CLI to change jobs.`] }, { Allow: 'GET' });
    }
    const path = url.pathname.replace(/^\/v1(?=\/)/, '');
    if (StaticAssets.isAssetPath(url.pathname)) {
      const f = this.assets.get(url.pathname);
      res.writeHead(f.status, { ...f.headers, 'Content-Type': f.contentType, 'Content-Length': String(f.body.length) });
      res.end(req.method === 'HEAD' ? undefined : f.body);
      return;
    }
    const noToken = this.guard.checkToken(req);
    if (noToken) return json(res, noToken.status, { errors: [noToken.message] }, noToken.headers);

    if (path === '/config') {
      return json(res, 200, { ...toDashboardConfiguration(this.opts.flinkVersion), 'refresh-interval': this.opts.refreshIntervalMs ?? 2000, features: { 'web-submit': false, 'web-cancel': false, 'web-rescale': false, 'web-history': true } });
    }
    if (path === '/jobs/overview') return json(res, 200, { jobs: await this.overview() });
    if (path === '/flink-ts/savepoints') return json(res, 200, this.savepoints());
    const m = JOB_PATH.exec(path);
    if (m) return this.job(res, m[1]!, m[2] ?? '', url.search);
    return json(res, 404, { errors: [`Not found: ${url.pathname}`] });
  }

  /** Every job of the catalog, newest first: running ones as their JobManager reports them. */
  private async overview(): Promise<unknown[]> {
    const records = this.opts.index.listJobs();
    const live = new Map<string, Promise<Map<string, Record<string, unknown>> | undefined>>();
    const now = Date.now();
    return Promise.all(records.map(async (r) => {
      const j = this.catalogJob(r);
      // A dead cluster's port may have been taken by another one since: not asked.
      if (!this.isRunning(r) || j.lost) return historyOverview(j, now);
      let jobs = live.get(r.restUrl!);
      if (!jobs) live.set(r.restUrl!, (jobs = this.liveJobs(r.restUrl!)));
      const entry = (await jobs)?.get(r.jobId);
      if (entry) return { ...entry, source: 'live', lost: false };
      return historyOverview(j, now);
    }));
  }

  private async liveJobs(restUrl: string): Promise<Map<string, Record<string, unknown>> | undefined> {
    const r = await this.upstream(restUrl, '/jobs/overview');
    if (!r || r.status !== 200) return undefined;
    try {
      const body = JSON.parse(r.body.toString('utf8')) as { jobs?: Record<string, unknown>[] };
      return new Map((body.jobs ?? []).map((j) => [String(j.jid), j]));
    } catch {
      return undefined;
    }
  }

  private async job(res: ServerResponse, jobId: string, rest: string, search: string): Promise<void> {
    const r = this.opts.index.getJob(jobId);
    if (!r) return json(res, 404, { errors: [`Job ${jobId} not found`] });
    const j = this.catalogJob(r);
    if (this.isRunning(r) && !j.lost) {
      const up = await this.upstream(r.restUrl!, `/jobs/${jobId}${rest}${search}`);
      // A job that ended a moment ago is answered from the catalog; any other answer is passed on as it is.
      if (up && !(up.status === 404 && rest === '')) {
        res.writeHead(up.status, { 'Content-Type': up.contentType, 'Content-Length': String(up.body.length), 'X-Flink-Ts-Source': 'live' });
        res.end(up.body);
        return;
      }
    }
    const body = rest === '' ? historyJobDetails(j)
      : rest === '/checkpoints' ? historyCheckpoints(j, this.opts.index.listSnapshots({ jobId }), r.restoredFrom ? this.opts.index.findSnapshotByPath(r.restoredFrom) : undefined)
        : rest === '/exceptions' ? historyExceptions(j)
          : undefined;
    if (body === undefined) return json(res, 404, { errors: [`Not kept in the catalog for the ended job ${jobId}: ${rest}`] });
    json(res, 200, body, { 'X-Flink-Ts-Source': 'catalog' });
  }

  /** Savepoints of every job, grouped by job name (ours: Flink has no catalog). */
  private savepoints(): unknown {
    const jobs = new Map(this.opts.index.listJobs().map((j) => [j.jobId, j]));
    const byName = new Map<string, unknown[]>();
    for (const s of this.opts.index.listSnapshots({ kind: 'SAVEPOINT' })) {
      const name = jobs.get(s.jobId)?.name ?? '(unknown job)';
      let list = byName.get(name);
      if (!list) byName.set(name, (list = []));
      list.push({ jid: s.jobId, id: s.checkpointId, status: s.status, path: s.path, trigger_timestamp: s.triggerTime, duration: s.durationMs, size: s.sizeBytes, failure_message: s.failureCause });
    }
    return { jobs: [...byName].map(([name, savepoints]) => ({ name, savepoints })) };
  }

  private isRunning(r: JobRecord): boolean {
    return r.restUrl !== null && r.status !== 'UNKNOWN' && !isGloballyTerminal(r.status);
  }

  private catalogJob(r: JobRecord): CatalogJob {
    const open = r.status !== 'UNKNOWN' && !isGloballyTerminal(r.status);
    return { record: r, lost: open && r.pid !== null && !this.isAlive(r.pid) };
  }

  private async upstream(restUrl: string, path: string): Promise<{ status: number; contentType: string; body: Buffer } | undefined> {
    try {
      const r = await fetch(`${restUrl}${path}`, {
        headers: this.opts.authToken ? { Authorization: `Bearer ${this.opts.authToken}` } : {},
        signal: AbortSignal.timeout(this.opts.upstreamTimeoutMs ?? 5000),
        redirect: 'error',
      });
      return { status: r.status, contentType: r.headers.get('content-type') ?? 'application/json', body: Buffer.from(await r.arrayBuffer()) };
    } catch {
      return undefined; // the endpoint is gone (the job ended) or does not answer
    }
  }
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = Buffer.from(JSON.stringify(body), 'utf8');
  res.writeHead(status, {
    ...headers, 'Content-Type': 'application/json; charset=UTF-8', 'Content-Length': String(payload.length),
    'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store',
  });
  res.end(payload);
}
