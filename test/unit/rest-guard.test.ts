import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import type { Dispatcher } from '../../src/rest/Dispatcher.js';
import { RestServer } from '../../src/rest/RestServer.js';
import { RestClient } from '../../src/rest/RestClient.js';
import { Configuration } from '../../src/config/Configuration.js';
import { FlinkTsOptions, RestOptions } from '../../src/config/ConfigOptions.js';

/** Just enough of a cluster for /config, /jobs and a savepoint trigger. */
const dispatcher = {
  flinkVersion: 'test',
  listJobs: () => [],
  triggerSavepoint: () => 'trigger-1',
} as unknown as Dispatcher;

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

  test('malformed and oversized bodies get 4xx and the server keeps answering', async () => {
    const host = `127.0.0.1:${port(openUrl)}`;
    const bad = await req(openUrl, 'POST', '/jobs/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/savepoints', { Host: host, 'Content-Type': 'application/json' }, '{"target-directory": ');
    assert.equal(bad.status, 400);
    const big = await req(openUrl, 'POST', '/jobs/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/savepoints', { Host: host, 'Content-Type': 'application/json' }, ' '.repeat(1024 * 1024 + 1));
    assert.equal(big.status, 413);
    assert.equal((await req(openUrl, 'GET', '/config', { Host: host })).status, 200);
  });
});
