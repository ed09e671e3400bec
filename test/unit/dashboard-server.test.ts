import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointIndex } from '../../src/catalog/CheckpointIndex.js';
import { CheckpointStatsTracker } from '../../src/checkpoint/CheckpointStatsTracker.js';
import type { Dispatcher, JobSummary } from '../../src/rest/Dispatcher.js';
import { emptyTaskCounts } from '../../src/rest/Dispatcher.js';
import { RestServer } from '../../src/rest/RestServer.js';
import { DashboardServer } from '../../src/web/DashboardServer.js';

/**
 * `flink dashboard`'s server over a real catalog (SQLite in a temp dir) and a real REST endpoint for the running
 * job (RestServer over a cluster stand-in that knows one job): the guard, the token, the read-only proxy, ended
 * jobs in Flink's shapes from the catalog, and the page's files at `/` of both servers.
 */
const TOKEN = 'dash-token';
const RUNNING = 'a'.repeat(32);
const FINISHED = 'b'.repeat(32);
const LOST = 'c'.repeat(32);
const RESTORED = 'e'.repeat(32);
const DEAD_PID = 2 ** 22 + 12345; // above Linux's pid_max default range: no such process

const summary: JobSummary = { id: RUNNING, name: 'Live job', status: 'RUNNING', startTime: 1000, endTime: -1, lastModification: 1000, tasks: emptyTaskCounts() };
// The running job's statistics, from the real tracker: checkpoint 7 completed.
const tracker = new CheckpointStatsTracker(RUNNING);
tracker.record({ id: 7, isSavepoint: false, location: '/tmp/chk-7', triggerTs: 5000, numSubtasks: 2, numAcknowledged: 2, unaligned: false }, 'COMPLETED', { size: 99, duration: 10 });
const cluster = {
  flinkVersion: 'test',
  listJobs: () => [summary],
  checkpointStats: () => tracker.stats(),
  cancelJob: () => assert.fail('the dashboard must not cancel'),
} as unknown as Dispatcher;

function get(url: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; text: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const r = httpRequest(url + path, { method, headers, setHost: !('Host' in headers) }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }));
    });
    r.on('error', reject);
    r.end();
  });
}
const auth = { Authorization: `Bearer ${TOKEN}` };
const json = (r: { text: string }) => JSON.parse(r.text);

describe('flink dashboard server', () => {
  let dir: string;
  let index: CheckpointIndex;
  let rest: RestServer;
  let restUrl: string;
  let dash: DashboardServer;
  let url: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'flink-ts-dash-'));
    index = CheckpointIndex.open({ path: join(dir, 'index.sqlite') });
    rest = new RestServer(cluster, { host: '127.0.0.1', port: 0, authToken: TOKEN });
    restUrl = await rest.start();
    const job = { restoredFrom: null, logFile: null, checkpointDir: null, failureCause: null };
    index.upsertJob({ ...job, jobId: RUNNING, name: 'Live job', status: 'RUNNING', startTime: 1000, endTime: null, restUrl, pid: process.pid });
    index.upsertJob({ ...job, jobId: FINISHED, name: 'Done job', status: 'FINISHED', startTime: 100, endTime: 900, restUrl: 'http://127.0.0.1:9', pid: null });
    index.upsertJob({ ...job, jobId: LOST, name: 'Lost job', status: 'RUNNING', startTime: 50, endTime: null, restUrl: 'http://127.0.0.1:9', pid: DEAD_PID });
    index.upsertJob({ ...job, jobId: RESTORED, name: 'Done job', status: 'CANCELED', startTime: 10, endTime: 20, restUrl: null, pid: null, restoredFrom: join(dir, 'savepoint-3') });
    const snap = { jobId: FINISHED, failureCause: null, sizeBytes: 10, durationMs: 5 };
    index.upsertSnapshot({ ...snap, checkpointId: 1, kind: 'CHECKPOINT', status: 'DISCARDED', path: join(dir, 'chk-1'), triggerTime: 200 });
    index.upsertSnapshot({ ...snap, checkpointId: 2, kind: 'CHECKPOINT', status: 'FAILED', path: join(dir, 'chk-2'), triggerTime: 300, failureCause: 'timed out', sizeBytes: null });
    index.upsertSnapshot({ ...snap, checkpointId: 3, kind: 'SAVEPOINT', status: 'DISCARDED', path: join(dir, 'savepoint-3'), triggerTime: 400 });
    dash = new DashboardServer({ index, flinkVersion: 'test', port: 0, authToken: TOKEN });
    url = await dash.start();
  });

  after(async () => {
    await dash.close();
    await rest.close();
    index.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('binds loopback and serves the page without the token (its files hold no data), with a CSP', async () => {
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const page = await get(url, '/');
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(page.text, /web\/js\/app\.js/);
    assert.match(String(page.headers['content-security-policy']), /default-src 'self'/);
    const uplot = await get(url, '/web/vendor/uPlot.iife.min.js');
    assert.equal(uplot.status, 200);
    assert.match(String(uplot.headers['content-type']), /^text\/javascript/);
    assert.equal((await get(url, '/web/js/nope.js')).status, 404);
    // No file outside web/: dot segments are resolved by the URL parser, encoded slashes stay part of a name.
    for (const p of ['/web/%2e%2e/package.json', '/web/..%2fpackage.json', '/web/..%2f..%2fpackage.json']) {
      const r = await get(url, p, auth);
      assert.ok(r.status === 404 && !r.text.includes('"name"'), `${p}: ${r.status}`);
    }
  });

  test('the same Host/Origin guard and rest.auth.token as the REST API', async () => {
    const port = new URL(url).port;
    assert.equal((await get(url, '/', { Host: `evil.example:${port}` })).status, 403);
    assert.equal((await get(url, '/jobs/overview', { Host: `evil.example:${port}`, ...auth })).status, 403);
    assert.equal((await get(url, '/jobs/overview', { Origin: 'http://evil.example', ...auth })).status, 403);
    assert.equal((await get(url, '/jobs/overview')).status, 401);
    assert.equal((await get(url, '/jobs/overview', { Authorization: 'Bearer wrong' })).status, 401);
    assert.equal((await get(url, '/jobs/overview', { Origin: url, ...auth })).status, 200, 'its own origin');
  });

  test('read-only: nothing but GET is forwarded', async () => {
    const r = await get(url, `/jobs/${RUNNING}?mode=cancel`, auth, 'PATCH');
    assert.equal(r.status, 405);
    assert.match(json(r).errors[0], /read-only/);
  });

  test('the overview: the running job as its JobManager says, ended and lost ones from the catalog', async () => {
    const { jobs } = json(await get(url, '/jobs/overview', auth));
    const by = new Map<string, Record<string, unknown>>(jobs.map((j: { jid: string }) => [j.jid, j]));
    assert.deepEqual(jobs.map((j: { jid: string }) => j.jid), [RUNNING, FINISHED, LOST, RESTORED], 'newest first');
    assert.deepEqual([by.get(RUNNING)!.state, by.get(RUNNING)!.source], ['RUNNING', 'live']);
    assert.deepEqual([by.get(FINISHED)!.state, by.get(FINISHED)!.source, by.get(FINISHED)!.duration], ['FINISHED', 'catalog', 800]);
    assert.deepEqual([by.get(LOST)!.state, by.get(LOST)!.lost], ['FAILED', true]);
  });

  test("a running job's REST is proxied with the token", async () => {
    const r = await get(url, `/jobs/${RUNNING}/checkpoints`, auth);
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-flink-ts-source'], 'live');
    assert.equal(json(r).history[0].id, 7);
  });

  test("an ended job's checkpoints, details and exceptions in Flink's shapes from the catalog", async () => {
    const c = json(await get(url, `/jobs/${FINISHED}/checkpoints`, auth));
    assert.deepEqual(c.counts, { restored: 0, total: 3, in_progress: 0, completed: 2, failed: 1 });
    assert.deepEqual(c.history.map((h: { id: number; status: string; is_savepoint: boolean; discarded?: boolean }) => [h.id, h.status, h.is_savepoint, h.discarded]),
      [[3, 'COMPLETED', true, true], [2, 'FAILED', false, undefined], [1, 'COMPLETED', false, true]]);
    assert.equal(c.latest.failed.failure_message, 'timed out');
    assert.equal(c.latest.savepoint.id, 3);
    assert.deepEqual(c.summary.end_to_end_duration, { min: 5, max: 5, avg: 5 });
    const d = json(await get(url, `/jobs/${FINISHED}`, auth));
    assert.deepEqual([d.state, d['end-time'], d.vertices], ['FINISHED', 900, []]);
    const e = json(await get(url, `/jobs/${LOST}/exceptions`, auth));
    assert.match(e.exceptionHistory.entries[0].stacktrace, /ended without recording/);
    const nf = await get(url, `/jobs/${FINISHED}/vertices/${'d'.repeat(32)}/backpressure`, auth);
    assert.equal(nf.status, 404);
  });

  test("a job restored from another job's savepoint names it as its latest restore", async () => {
    const c = json(await get(url, `/jobs/${RESTORED}/checkpoints`, auth));
    assert.deepEqual(c.latest.restored, { id: 3, restore_timestamp: 10, is_savepoint: true, external_path: join(dir, 'savepoint-3') });
    assert.equal(c.counts.restored, 1);
  });

  test('savepoints per job name', async () => {
    const { jobs } = json(await get(url, '/flink-ts/savepoints', auth));
    assert.deepEqual(jobs.map((g: { name: string; savepoints: { id: number }[] }) => [g.name, g.savepoints.map((s) => s.id)]), [['Done job', [3]]]);
  });

  test("a job's own REST endpoint serves the page at / without the token, its API only with it", async () => {
    const page = await get(restUrl, '/');
    assert.equal(page.status, 200);
    assert.match(page.text, /flink-ts dashboard/);
    assert.equal((await get(restUrl, '/', { Host: `evil.example:${new URL(restUrl).port}` })).status, 403);
    assert.equal((await get(restUrl, '/jobs')).status, 401);
    assert.equal((await get(restUrl, '/web/style.css')).status, 200);
  });
});
