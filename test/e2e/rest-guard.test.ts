/**
 * The REST guard wired into a real cluster: a detached job whose configuration sets rest.auth.token. Every
 * mutating route (savepoint, stop, cancel, savepoint disposal, checkpoint) refuses a request without a Host
 * header, with a foreign Host (DNS rebinding), from another origin, and without or with a wrong token, and none
 * of those requests changes anything; the CLI, which reads the token from the same configuration, gets through.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/services.js';
import {
  STATE_MACHINE_JOB, assertOneLineError, cleanup, createWorkspace, ensureBuilt, flink, jobIdFrom, listJobs, savepointFolders,
  savepointPathFrom, show, waitFor, type Workspace,
} from './helpers.js';

const TOKEN = 'e2e-rest-token-5f1c';

interface Reply { status: number; text: string }

/** One request, byte for byte, so that it can lack a Host header (node:http's client always sends one). */
function raw(url: string, head: string[], body = ''): Promise<Reply> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect(Number(port), hostname, () => {
      s.end([...head, 'Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close', '', body].join('\r\n'));
    });
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString()));
    s.on('end', () => resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0), text: text.slice(text.indexOf('\r\n\r\n') + 4) }));
    s.on('error', reject);
  });
}

function send(url: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const r = httpRequest(url + path, { method, headers: { 'Content-Type': 'application/json', ...headers }, setHost: !('Host' in headers) }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    r.on('error', reject);
    if (body !== undefined) r.write(body);
    r.end();
  });
}

describe('REST guard in a running cluster (rest.auth.token set)', { timeout: 180_000 }, () => {
  let ws: Workspace;
  /** The same workspace's configuration without the token. */
  let noTokenConf: string;
  let jobId: string;
  let restUrl: string;
  let host: string;
  const auth = { Authorization: `Bearer ${TOKEN}` };
  const get = async (path: string) => {
    const r = await send(restUrl, 'GET', path, auth);
    assert.equal(r.status, 200, `GET ${path}: ${r.text}`);
    return JSON.parse(r.text) as Record<string, unknown>;
  };
  const jobState = async () => (await get(`/jobs/${jobId}`)).state;
  const completedCheckpoints = async () => ((await get(`/jobs/${jobId}/checkpoints`)).counts as { completed: number }).completed;

  before(async () => {
    await ensureBuilt();
    // No periodic checkpoints: any completed checkpoint would have been triggered over REST.
    ws = createWorkspace({ 'rest.auth.token': TOKEN, 'execution.checkpointing.interval': '1 h' });
    noTokenConf = join(ws.dir, 'conf-no-token');
    mkdirSync(noTokenConf);
    const conf = readFileSync(join(ws.confDir, 'flink-conf.yaml'), 'utf8');
    writeFileSync(join(noTokenConf, 'flink-conf.yaml'), conf.split('\n').filter((l) => !l.startsWith('rest.auth.token:')).join('\n'));
    const r = await flink(ws, ['run', '-d', STATE_MACHINE_JOB, '--output', join(ws.dir, 'out'), '--rate', '200', '--keys', '10']);
    assert.equal(r.exitCode, 0, show(r));
    jobId = jobIdFrom(r.stdout);
    const listed = await waitFor(async () => (await listJobs(ws)).find((j) => j.jobId === jobId && j.restUrl !== null), 30_000, 'the job registered with its endpoint');
    restUrl = listed.restUrl!;
    host = new URL(restUrl).host;
    await waitFor(async () => (await jobState()) === 'RUNNING', 30_000, 'the job RUNNING');
  });
  after(async () => {
    if (ws) await cleanup(ws);
  });

  test('every mutating route refuses a missing Host, a foreign Host, another origin and a missing or wrong token; nothing changes', async () => {
    // A real savepoint to aim the disposal requests at.
    const sp = await flink(ws, ['savepoint', jobId]);
    assert.equal(sp.exitCode, 0, show(sp));
    const savepoint = savepointPathFrom(sp.stdout);
    const checkpointsBefore = await completedCheckpoints();
    const routes = [
      { name: 'savepoint', method: 'POST', path: `/jobs/${jobId}/savepoints`, body: JSON.stringify({ 'target-directory': join(ws.dir, 'evil-sp'), 'cancel-job': false }) },
      { name: 'stop', method: 'POST', path: `/jobs/${jobId}/stop`, body: JSON.stringify({ targetDirectory: join(ws.dir, 'evil-sp'), drain: false }) },
      { name: 'cancel', method: 'PATCH', path: `/jobs/${jobId}?mode=cancel`, body: '' },
      { name: 'disposal', method: 'POST', path: '/savepoint-disposal', body: JSON.stringify({ 'savepoint-path': savepoint }) },
      { name: 'checkpoint', method: 'POST', path: `/jobs/${jobId}/checkpoints`, body: JSON.stringify({ checkpointType: 'FULL' }) },
    ];
    for (const r of routes) {
      const attempts: [string, Promise<Reply>, number][] = [
        ['no Host (HTTP/1.0)', raw(restUrl, [`${r.method} ${r.path} HTTP/1.0`, `Authorization: Bearer ${TOKEN}`], r.body), 400],
        ['foreign Host', send(restUrl, r.method, r.path, { Host: `evil.example:${new URL(restUrl).port}`, ...auth }, r.body), 403],
        ['cross-origin', send(restUrl, r.method, r.path, { Origin: 'http://evil.example', ...auth }, r.body), 403],
        ['https Origin on the http endpoint', send(restUrl, r.method, r.path, { Origin: `https://${host}`, ...auth }, r.body), 403],
        ['no token', send(restUrl, r.method, r.path, {}, r.body), 401],
        ['wrong token', send(restUrl, r.method, r.path, { Authorization: `Bearer ${TOKEN}x` }, r.body), 401],
      ];
      for (const [what, reply, status] of attempts) {
        const res = await reply;
        assert.equal(res.status, status, `${r.name}, ${what}: ${res.status} ${res.text}`);
        assert.ok(Array.isArray((JSON.parse(res.text) as { errors?: unknown }).errors), `${r.name}, ${what}: Flink's error body`);
      }
    }
    // Nothing got through: the job runs, no savepoint was written or disposed, no checkpoint was taken.
    assert.equal(await jobState(), 'RUNNING');
    assert.ok(existsSync(join(savepoint, '_metadata')), 'the savepoint survived the refused disposals');
    assert.ok(!existsSync(join(ws.dir, 'evil-sp')), 'no savepoint went to the refused requests\' target');
    assert.deepEqual(savepointFolders(ws.savepointsDir), [savepoint]);
    assert.equal(await completedCheckpoints(), checkpointsBefore);
  });

  test('the CLI without the token is refused in one line; the job is untouched', async () => {
    const env = { FLINK_CONF_DIR: noTokenConf };
    for (const args of [['cancel', jobId], ['savepoint', jobId], ['checkpoint', jobId], ['stop', jobId]]) {
      const r = await flink(ws, args, { env, timeoutMs: 30_000 });
      const line = assertOneLineError(r);
      assert.match(line, /token/, `${args[0]}: ${line}`);
    }
    assert.equal(await jobState(), 'RUNNING');
  });

  test('the CLI with the token from its configuration: checkpoint, disposal through -m, and stop', async () => {
    const before = await completedCheckpoints();
    const c = await flink(ws, ['checkpoint', jobId]);
    assert.equal(c.exitCode, 0, show(c));
    assert.equal(await completedCheckpoints(), before + 1);

    const sp = await flink(ws, ['savepoint', jobId]);
    assert.equal(sp.exitCode, 0, show(sp));
    const path = savepointPathFrom(sp.stdout);
    const d = await flink(ws, ['savepoint', '-d', path, '-m', restUrl]);
    assert.equal(d.exitCode, 0, show(d));
    assert.ok(!existsSync(join(path, '_metadata')), 'disposed by the JobManager');

    const s = await flink(ws, ['stop', jobId]);
    assert.equal(s.exitCode, 0, show(s));
    const stopped = savepointPathFrom(s.stdout);
    assert.ok(existsSync(join(stopped, '_metadata')));
    await waitFor(async () => (await listJobs(ws)).find((j) => j.jobId === jobId)?.status === 'FINISHED', 30_000, 'the job FINISHED after stop');
  });
});

describe('a detached job at a pinned REST address (rest.port), and the host names it answers to', { timeout: 120_000 }, () => {
  let ws: Workspace;
  let port: number;
  let jobId: string;
  const run = (out: string) => flink(ws, [
    'run', '-d', '-D', `rest.port=${port}`, '-D', 'rest.address=jm.flink-ts.test', '-D', 'rest.allowed-hosts=proxy.example, flink-jm.default.svc',
    STATE_MACHINE_JOB, '--output', join(ws.dir, out), '--rate', '50', '--keys', '4',
  ]);

  before(async () => {
    await ensureBuilt();
    port = await freePort();
    ws = createWorkspace();
    const r = await run('a');
    assert.equal(r.exitCode, 0, show(r));
    jobId = jobIdFrom(r.stdout);
    await waitFor(async () => (await listJobs(ws)).find((j) => j.jobId === jobId)?.status === 'RUNNING', 30_000, 'the job RUNNING');
  });
  after(async () => {
    if (ws) await cleanup(ws);
  });

  test('the endpoint is at rest.port', async () => {
    assert.equal((await listJobs(ws)).find((j) => j.jobId === jobId)?.restUrl, `http://127.0.0.1:${port}`);
  });

  test('Host: rest.address, this machine\'s name and rest.allowed-hosts are answered; other names get 403', async () => {
    const url = `http://127.0.0.1:${port}`;
    for (const host of [`jm.flink-ts.test:${port}`, 'proxy.example', `flink-jm.default.svc:${port}`, `${hostname()}:${port}`, `localhost:${port}`, `127.0.0.1:${port}`]) {
      const r = await send(url, 'GET', '/overview', { Host: host });
      assert.equal(r.status, 200, `Host ${host}: ${r.text}`);
    }
    const evil = await send(url, 'GET', '/overview', { Host: 'evil.example' });
    assert.equal(evil.status, 403);
    assert.match(evil.text, /Host 'evil\.example' is not allowed/);
  });

  test('a second job on the same pinned port fails in one line, and the first keeps running', async () => {
    const r = await run('b');
    const line = assertOneLineError(r);
    assert.match(line, new RegExp(`${port}`), line);
    assert.equal((await listJobs(ws)).find((j) => j.jobId === jobId)?.status, 'RUNNING');
  });
});
