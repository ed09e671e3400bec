import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import type { Dispatcher } from '../../src/rest/Dispatcher.js';
import { RestServer } from '../../src/rest/RestServer.js';
import { RestClient } from '../../src/rest/RestClient.js';
import { Configuration } from '../../src/config/Configuration.js';
import { FlinkTsOptions, RestOptions } from '../../src/config/ConfigOptions.js';

/** Just enough of a cluster for /config, /jobs and the mutating routes; `calls` records what got through. */
const calls: string[] = [];
const dispatcher = {
  flinkVersion: 'test',
  listJobs: () => [],
  triggerSavepoint: () => (calls.push('savepoint'), 'trigger-1'),
  stopWithSavepoint: () => (calls.push('stop'), 'trigger-2'),
  cancelJob: () => void calls.push('cancel'),
  disposeSavepoint: () => (calls.push('disposal'), 'trigger-3'),
  triggerCheckpoint: () => (calls.push('checkpoint'), 'trigger-4'),
} as unknown as Dispatcher;

const J = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
/** Every route that changes something, with a body it accepts. */
const MUTATING: { name: string; method: string; path: string; body?: string }[] = [
  { name: 'savepoint', method: 'POST', path: `/jobs/${J}/savepoints`, body: '{"target-directory":"/tmp/sp","cancel-job":false}' },
  { name: 'stop', method: 'POST', path: `/jobs/${J}/stop`, body: '{"targetDirectory":"/tmp/sp","drain":false}' },
  { name: 'cancel', method: 'PATCH', path: `/jobs/${J}?mode=cancel` },
  { name: 'disposal', method: 'POST', path: '/savepoint-disposal', body: '{"savepoint-path":"/tmp/sp/savepoint-1"}' },
  { name: 'checkpoint', method: 'POST', path: `/jobs/${J}/checkpoints`, body: '{"checkpointType":"FULL"}' },
];

/** A raw request, byte for byte (so it can lack a Host header, which node:http's client always sends). */
function raw(url: string, head: string, body = ''): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect(Number(port), hostname, () => {
      s.end(`${head}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    });
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString()));
    s.on('end', () => resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0), text: text.slice(text.indexOf('\r\n\r\n') + 4) }));
    s.on('error', reject);
  });
}

function req(url: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; text: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const r = httpRequest(url + path, { method, headers, setHost: !('Host' in headers) }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }));
    });
    r.on('error', reject);
    if (body !== undefined) r.write(body);
    r.end();
  });
}

describe('REST endpoint hardening', () => {
  let open: RestServer;
  let openUrl: string;
  let locked: RestServer;
  let lockedUrl: string;
  const port = (u: string) => new URL(u).port;

  before(async () => {
    open = new RestServer(dispatcher, { host: '127.0.0.1', port: 0, allowedHosts: ['jm.internal'] });
    openUrl = await open.start();
    locked = new RestServer(dispatcher, { host: '127.0.0.1', port: 0, authToken: 's3cret-token' });
    lockedUrl = await locked.start();
  });
  after(async () => {
    await open.close();
    await locked.close();
  });

  test('binds loopback by default (rest.bind-address defaults to 127.0.0.1)', async () => {
    assert.equal(Configuration.fromMap({}).get(RestOptions.BIND_ADDRESS), '127.0.0.1');
    const s = new RestServer(dispatcher);
    try {
      assert.match(await s.start(), /^http:\/\/127\.0\.0\.1:\d+$/);
    } finally {
      await s.close();
    }
  });

  test('Host: IP literals, localhost and configured names pass; other names are refused (DNS rebinding)', async () => {
    for (const host of [`127.0.0.1:${port(openUrl)}`, `localhost:${port(openUrl)}`, 'LOCALHOST', `[::1]:${port(openUrl)}`, 'jm.internal:8081', 'app.localhost']) {
      assert.equal((await req(openUrl, 'GET', '/config', { Host: host })).status, 200, host);
    }
    for (const host of ['evil.example', `evil.example:${port(openUrl)}`, 'localhost.evil.example', 'a b', 'user@127.0.0.1', '']) {
      const r = await req(openUrl, 'GET', '/config', { Host: host });
      assert.equal(r.status, 403, `${JSON.stringify(host)}: ${r.text}`);
      assert.match(JSON.parse(r.text).errors[0], /not allowed/);
    }
  });

  test('cross-origin browser requests are refused; same-origin and no Origin pass', async () => {
    const host = `127.0.0.1:${port(openUrl)}`;
    const cross = await req(openUrl, 'POST', '/jobs/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/savepoints', { Host: host, Origin: 'https://evil.example', 'Content-Type': 'text/plain' }, '{}');
    assert.equal(cross.status, 403);
    assert.match(JSON.parse(cross.text).errors[0], /Cross-origin/);
    assert.equal((await req(openUrl, 'GET', '/config', { Host: host, Origin: 'null' })).status, 403);
    assert.equal((await req(openUrl, 'GET', '/config', { Host: host, Origin: `http://127.0.0.1:${Number(port(openUrl)) + 1}` })).status, 403);
    assert.equal((await req(openUrl, 'GET', '/config', { Host: host, Origin: `http://${host}` })).status, 200);
    assert.equal((await req(openUrl, 'GET', '/config', { Host: host })).status, 200);
  });

  test('with rest.auth.token: 401 without or with a wrong token, 200 with it; the client sends it', async () => {
    const none = await req(lockedUrl, 'GET', '/jobs', {});
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'Bearer');
    assert.equal((await req(lockedUrl, 'GET', '/jobs', { Authorization: 'Bearer wrong' })).status, 401);
    assert.equal((await req(lockedUrl, 'GET', '/jobs', { Authorization: 'Bearer s3cret-tokenX' })).status, 401);
    assert.equal((await req(lockedUrl, 'GET', '/jobs', { Authorization: 'Basic czNjcmV0LXRva2Vu' })).status, 401);
    assert.equal((await req(lockedUrl, 'GET', '/jobs', { Authorization: 'Bearer s3cret-token' })).status, 200);
    await assert.rejects(new RestClient(lockedUrl).jobIds(), /requires a token/);
    assert.deepEqual(await new RestClient(lockedUrl, { token: 's3cret-token' }).jobIds(), []);
    assert.equal(Configuration.fromMap({ 'rest.auth.token': 'abc' }).getOptional(FlinkTsOptions.REST_AUTH_TOKEN), 'abc');
  });

  test('a request without a Host header is refused (400) on every route, before the dispatcher sees it', async () => {
    for (const version of ['1.0', '1.1']) {
      for (const r of [...MUTATING, { name: 'config', method: 'GET', path: '/config', body: undefined }]) {
        calls.length = 0;
        const res = await raw(openUrl, `${r.method} ${r.path} HTTP/${version}`, r.body);
        assert.equal(res.status, 400, `${r.name} over HTTP/${version}: ${res.text}`);
        assert.deepEqual(calls, [], `${r.name} over HTTP/${version} reached the dispatcher`);
      }
    }
    // Our own answer (not only Node's HTTP/1.1 check), with a reason.
    const res = await raw(openUrl, `POST /savepoint-disposal HTTP/1.0`, MUTATING[3]!.body);
    assert.match(JSON.parse(res.text).errors[0], /Missing Host header/);
    // The same raw request with a good Host goes through: the refusal is about the header alone.
    calls.length = 0;
    const ok = await raw(openUrl, `POST /savepoint-disposal HTTP/1.0\r\nHost: 127.0.0.1:${port(openUrl)}`, MUTATING[3]!.body);
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(calls, ['disposal']);
  });

  test('every mutating route: foreign Host, cross-origin (also https on this http endpoint), and missing/wrong token are refused; the right request passes', async () => {
    const openHost = `127.0.0.1:${port(openUrl)}`;
    const lockedHost = `127.0.0.1:${port(lockedUrl)}`;
    const auth = { Authorization: 'Bearer s3cret-token' };
    for (const r of MUTATING) {
      const send = (url: string, headers: Record<string, string>) =>
        req(url, r.method, r.path, { 'Content-Type': 'application/json', ...headers }, r.body);
      calls.length = 0;
      assert.equal((await send(openUrl, { Host: 'evil.example' })).status, 403, `${r.name}: foreign Host`);
      assert.equal((await send(openUrl, { Host: openHost, Origin: 'http://evil.example' })).status, 403, `${r.name}: cross-origin`);
      assert.equal((await send(openUrl, { Host: openHost, Origin: `https://${openHost}` })).status, 403, `${r.name}: https Origin`);
      assert.equal((await send(lockedUrl, { Host: lockedHost })).status, 401, `${r.name}: no token`);
      assert.equal((await send(lockedUrl, { Host: lockedHost, Authorization: 'Bearer s3cret-tokeN' })).status, 401, `${r.name}: wrong token`);
      // Host and Origin are checked before the token: a valid token does not make a rebinding page's request pass.
      assert.equal((await send(lockedUrl, { Host: 'evil.example', ...auth })).status, 403, `${r.name}: foreign Host with the token`);
      assert.equal((await send(lockedUrl, { Host: lockedHost, Origin: 'http://evil.example', ...auth })).status, 403, `${r.name}: cross-origin with the token`);
      assert.deepEqual(calls, [], `${r.name}: a refused request reached the dispatcher`);
      const good = await send(lockedUrl, { Host: lockedHost, Origin: `http://${lockedHost}`, ...auth });
      assert.ok(good.status === 200 || good.status === 202, `${r.name}: ${good.status} ${good.text}`);
      assert.deepEqual(calls, [r.name]);
    }
  });

  test('malformed and oversized bodies get 4xx and the server keeps answering', async () => {
    const host = `127.0.0.1:${port(openUrl)}`;
    const bad = await req(openUrl, 'POST', '/jobs/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/savepoints', { Host: host, 'Content-Type': 'application/json' }, '{"target-directory": ');
    assert.equal(bad.status, 400);
    const big = await req(openUrl, 'POST', '/jobs/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/savepoints', { Host: host, 'Content-Type': 'application/json' }, ' '.repeat(1024 * 1024 + 1));
    assert.equal(big.status, 413);
    assert.equal((await req(openUrl, 'GET', '/config', { Host: host })).status, 200);
  });
});
