/**
 * The mini-cluster's REST measured against a real Apache Flink 2.2.1 session cluster (test/support/flink.ts):
 * for every endpoint we serve, the same request goes to both, with comparable jobs running (our
 * StateMachineExample detached, Flink's CountingJob from the test JAR, both checkpointing), and the answers
 * are compared structurally: every field of Flink's answer (name, JSON type, nesting), enum values, status
 * codes and the shape of asynchronous operations must be in ours, or be in DELIBERATE below.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { compareShape, type DeliberateDifference, type ShapeOptions } from '../support/jsonShape.js';
import { flinkCli, flinkSkip, startFlinkCluster, TEST_JOB_JAR, type FlinkCluster } from '../support/flink.js';
import { cleanup, createWorkspace, flink, jobIdFrom, show, STATE_MACHINE_JOB, waitFor, waitForStatus, type Workspace } from './helpers.js';

const skip = flinkSkip();

/** Where ours differs on purpose; each entry says why. Kept short: anything else is a failure. */
export const DELIBERATE: DeliberateDifference[] = [
  { path: /^GET \/taskmanagers\.taskmanagers\[\]\.(totalResource|freeResource|memoryConfiguration)\./, why: 'no JVM memory model: the fields are there, their values are 0' },
];

const JOB_STATUS = ['INITIALIZING', 'CREATED', 'RUNNING', 'FAILING', 'FAILED', 'CANCELLING', 'CANCELED', 'FINISHED', 'RESTARTING', 'SUSPENDED', 'RECONCILING'];
const EXECUTION_STATE = ['CREATED', 'SCHEDULED', 'DEPLOYING', 'RUNNING', 'FINISHED', 'CANCELING', 'CANCELED', 'FAILED', 'RECONCILING', 'INITIALIZING'];
const CHECKPOINT_STATUS = ['IN_PROGRESS', 'COMPLETED', 'FAILED'];

const OPTIONS: ShapeOptions = {
  deliberate: DELIBERATE,
  // Objects keyed by ids or names: only the shape of their values is compared.
  maps: [/\.tasks$/, /\.timestamps$/, /\.status-counts$/, /\.user-config$/],
  enums: [
    { path: /^GET \/jobs(\/overview)?\.jobs\[\]\.(state|status)$|^GET \/jobs\/:id(\/status)?\.(state|status)$/, values: JOB_STATUS },
    { path: /\.vertices\[\]\.status$/, values: EXECUTION_STATE },
    { path: /checkpoints.*\.(latest\.(completed|savepoint|failed)|history\[\]|tasks\{\})\.status$|details\/:cid(\/subtasks\/:vid)?\.status$/, values: CHECKPOINT_STATUS },
    { path: /\.checkpoint_type$/, values: ['CHECKPOINT', 'UNALIGNED_CHECKPOINT', 'SAVEPOINT', 'SYNC_SAVEPOINT'] },
    { path: /\.(latest\.(completed|savepoint|failed)|history\[\])\.className$|details\/:cid\.className$/, values: ['completed', 'failed', 'in_progress'] },
    { path: /\.subtasks\[\]\.(className|status)$/, values: ['completed', 'pending_or_failed'] },
    { path: /\.savepointFormat$/, values: ['CANONICAL', 'NATIVE'] },
    { path: /\.status\.id$/, values: ['IN_PROGRESS', 'COMPLETED'] },
    { path: /checkpoints\/config\.mode$/, values: ['exactly_once', 'at_least_once'] },
    { path: /\.application-status$/, values: ['SUCCEEDED', 'FAILED', 'CANCELED', 'UNKNOWN'] },
    { path: /backpressure(\.subtasks\[\])?\.(backpressureLevel|backpressure-level)$/, values: ['ok', 'low', 'high'] },
    { path: /backpressure\.status$/, values: ['deprecated', 'ok'] },
  ],
};

interface Side { base: string; jobId: string }
interface Answer { status: number; body: any }

async function call(side: Side, method: string, path: string, body?: unknown): Promise<Answer> {
  const res = await fetch(`${side.base}${path.replace(':id', side.jobId)}`, {
    method, signal: AbortSignal.timeout(30_000), ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
}

/** Polls an asynchronous operation until it is COMPLETED. */
async function completed(side: Side, path: string): Promise<Answer> {
  return waitFor(async () => {
    const a = await call(side, 'GET', path);
    return a.status !== 200 || a.body?.status?.id === 'COMPLETED' ? a : undefined;
  }, 60_000, `${path} to complete`, 100);
}

function assertSameShape(label: string, real: Answer, ours: Answer): void {
  assert.equal(ours.status, real.status, `${label}: status ${ours.status}, Flink ${real.status}; ours ${JSON.stringify(ours.body).slice(0, 300)}`);
  const diffs = compareShape(real.body, ours.body, OPTIONS, label);
  assert.deepEqual(diffs, [], `${label}:\n  ${diffs.join('\n  ')}\nFlink: ${JSON.stringify(real.body).slice(0, 1500)}\nours:  ${JSON.stringify(ours.body).slice(0, 1500)}`);
}

describe('REST shapes: the mini-cluster against Apache Flink 2.2.1', { skip, timeout: 600_000 }, () => {
  let cluster: FlinkCluster;
  let ws: Workspace;
  let real: Side;
  let ours: Side;

  before(async () => {
    cluster = await startFlinkCluster({ log: (l) => process.stderr.write(`# ${l}\n`) });
    const run = await flinkCli(['run', '-m', cluster.address, '-d', TEST_JOB_JAR, '--out', join(cluster.dir, 'out.txt'), '--rate', '50', '--checkpoint-interval', '400']);
    assert.equal(run.code, 0, run.stderr);
    real = { base: cluster.rest, jobId: /JobID ([0-9a-f]{32})/.exec(run.stdout)![1]! };
    ws = createWorkspace({ 'execution.checkpointing.interval': '400 ms', 'parallelism.default': '1' });
    const r = await flink(ws, ['run', '-d', STATE_MACHINE_JOB, '--output', join(ws.dir, 'out'), '--rate', '50', '--keys', '4']);
    assert.equal(r.exitCode, 0, show(r));
    const jobId = jobIdFrom(r.stdout);
    const listed = await waitForStatus(ws, jobId, 'RUNNING', 30_000);
    ours = { base: listed.restUrl!, jobId };
    // Both have completed checkpoints before anything is compared.
    for (const side of [real, ours]) {
      await waitFor(async () => ((await call(side, 'GET', '/jobs/:id/checkpoints')).body?.counts?.completed ?? 0) >= 2, 60_000, 'two completed checkpoints');
    }
  });

  after(async () => {
    await cluster?.stop();
    if (ws) await cleanup(ws);
  });

  const GETS = [
    '/config', '/overview', '/jobs', '/jobs/overview', '/jobs/:id', '/jobs/:id/status', '/jobs/:id/execution-result',
    '/jobs/:id/exceptions', '/jobs/:id/config', '/jobs/:id/plan', '/jobs/:id/checkpoints', '/jobs/:id/checkpoints/config',
    '/jobmanager/config', '/taskmanagers',
  ];
  for (const path of GETS) {
    test(`GET ${path}`, async () => {
      assertSameShape(`GET ${path}`, await call(real, 'GET', path), await call(ours, 'GET', path));
    });
  }

  test('GET /jobs/:id/checkpoints/details/:cid and its subtasks', async () => {
    const details = async (side: Side) => {
      const stats = (await call(side, 'GET', '/jobs/:id/checkpoints')).body;
      const cid = stats.latest.completed.id as number;
      const d = await call(side, 'GET', `/jobs/:id/checkpoints/details/${cid}`);
      const vertex = Object.keys(d.body.tasks ?? {}).sort()[0];
      return { d, s: await call(side, 'GET', `/jobs/:id/checkpoints/details/${cid}/subtasks/${vertex}`) };
    };
    const [r, o] = [await details(real), await details(ours)];
    assertSameShape('GET /jobs/:id/checkpoints/details/:cid', r.d, o.d);
    assertSameShape('GET /jobs/:id/checkpoints/details/:cid/subtasks/:vid', r.s, o.s);
    // A checkpoint no longer (or never) in the history, and a malformed id.
    for (const path of ['/jobs/:id/checkpoints/details/999999', '/jobs/:id/checkpoints/details/abc']) {
      assertSameShape(`GET ${path}`, await call(real, 'GET', path), await call(ours, 'GET', path));
    }
  });

  test('vertex metrics, aggregated subtask metrics, backpressure and watermarks; our metric names are Flink\'s', async () => {
    const vertices = async (side: Side) => ((await call(side, 'GET', '/jobs/:id')).body.vertices as Array<{ id: string }>).map((v) => v.id);
    const [rv, ov] = [await vertices(real), await vertices(ours)];
    // Flink fetches task metrics on demand (every 10 s at most): wait until both report backpressure from them.
    for (const [side, ids] of [[real, rv], [ours, ov]] as const) {
      for (const vid of ids.slice(0, 2)) {
        await waitFor(async () => (await call(side, 'GET', `/jobs/:id/vertices/${vid}/backpressure`)).body?.status === 'ok', 60_000, 'backpressure from metrics', 500);
      }
    }
    const paths = (i: number) => [
      '/metrics', '/metrics?get=0.numRecordsIn,0.numRecordsOut,0.busyTimeMsPerSecond,0.numRecordsInPerSecond,0.currentInputWatermark',
      '/subtasks/metrics', '/subtasks/metrics?get=numRecordsIn,numRecordsOutPerSecond,busyTimeMsPerSecond,backPressuredTimeMsPerSecond',
      '/subtasks/metrics?get=numRecordsIn&agg=sum,max', '/backpressure', '/watermarks',
    ].map((p) => [`GET /jobs/:id/vertices/:v${i}${p}`, p] as const);
    for (const i of [0, 1]) {
      for (const [label, p] of paths(i)) {
        assertSameShape(label, await call(real, 'GET', `/jobs/:id/vertices/${rv[i]}${p}`), await call(ours, 'GET', `/jobs/:id/vertices/${ov[i]}${p}`));
      }
      // Every metric we serve is one Flink's task has, by the same name (Flink has many more: buffers, mailbox, ...).
      const names = async (side: Side, vid: string) => new Set(((await call(side, 'GET', `/jobs/:id/vertices/${vid}/subtasks/metrics`)).body as Array<{ id: string }>).map((m) => m.id));
      const [rn, on] = [await names(real, rv[i]!), await names(ours, ov[i]!)];
      assert.deepEqual([...on].filter((n) => !rn.has(n)), [], `metric names Flink's vertex ${i} does not have`);
    }
    for (const p of ['/backpressure', '/metrics', '/watermarks']) {
      const path = `/jobs/:id/vertices/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee${p}`;
      assertSameShape(`GET ${path}`, await call(real, 'GET', path), await call(ours, 'GET', path));
    }
  });

  test('errors: unknown job, malformed ids, unknown path', async () => {
    for (const path of ['/jobs/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee', '/jobs/xyz', '/jobs/:id/savepoints/0123456789abcdef0123456789abcdee']) {
      assertSameShape(`GET ${path}`, await call(real, 'GET', path), await call(ours, 'GET', path));
    }
  });

  test('POST /jobs/:id/checkpoints: 202, the result; a client triggerId names it, twice is once', async () => {
    const both = async (body: unknown) => [await call(real, 'POST', '/jobs/:id/checkpoints', body), await call(ours, 'POST', '/jobs/:id/checkpoints', body)] as const;
    const [r, o] = await both({});
    assertSameShape('POST /jobs/:id/checkpoints', r, o);
    assertSameShape('GET /jobs/:id/checkpoints/:tid', await completed(real, `/jobs/:id/checkpoints/${r.body['request-id']}`), await completed(ours, `/jobs/:id/checkpoints/${o.body['request-id']}`));
    const triggerId = '0123456789abcdef0123456789abcdef';
    const [r1, o1] = await both({ triggerId, checkpointType: 'FULL' });
    assertSameShape('POST /jobs/:id/checkpoints {triggerId}', r1, o1);
    assert.equal(o1.body['request-id'], triggerId);
    const oursFirst = await completed(ours, `/jobs/:id/checkpoints/${triggerId}`);
    const [r2, o2] = await both({ triggerId, checkpointType: 'FULL' });
    assertSameShape('POST /jobs/:id/checkpoints {same triggerId}', r2, o2);
    assert.deepEqual(await completed(ours, `/jobs/:id/checkpoints/${triggerId}`), oursFirst, 'the same trigger id is the same checkpoint');
    const [r3, o3] = await both({ triggerId: 'xyz' });
    assert.equal(o3.status, r3.status);
  });

  test('POST /jobs/:id/savepoints: success, failure-cause with serialized-throwable, unknown job', async () => {
    const cases: Array<[string, string, unknown]> = [
      ['success', '/jobs/:id/savepoints', {}],
      ['failure', '/jobs/:id/savepoints', { 'target-directory': '/proc/flink-ts-not-writable/sp' }],
      ['unknown job', '/jobs/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee/savepoints', {}],
      ['unknown job, checkpoint', '/jobs/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee/checkpoints', {}],
    ];
    for (const [label, path, body] of cases) {
      const [r, o] = [await call(real, 'POST', path, body), await call(ours, 'POST', path, body)];
      assertSameShape(`POST ${path} (${label})`, r, o);
      const rr = await completed(real, `${path}/${r.body['request-id']}`);
      const or = await completed(ours, `${path}/${o.body['request-id']}`);
      assertSameShape(`GET ${path}/:tid (${label})`, rr, or);
      if (label === 'success') {
        const [rd, od] = [await call(real, 'POST', '/savepoint-disposal', { 'savepoint-path': rr.body.operation.location }), await call(ours, 'POST', '/savepoint-disposal', { 'savepoint-path': or.body.operation.location })];
        assertSameShape('POST /savepoint-disposal', rd, od);
        assertSameShape('GET /savepoint-disposal/:tid', await completed(real, `/savepoint-disposal/${rd.body['request-id']}`), await completed(ours, `/savepoint-disposal/${od.body['request-id']}`));
      }
    }
  });

  test('POST /jobs/:id/stop: 202, SYNC_SAVEPOINT in the statistics, the location, the execution result', async () => {
    const [r, o] = [await call(real, 'POST', '/jobs/:id/stop', { drain: false }), await call(ours, 'POST', '/jobs/:id/stop', { drain: false })];
    assertSameShape('POST /jobs/:id/stop', r, o);
    // Ours ends with its job: read the statistics and the result while the unread trigger keeps the endpoint up.
    const latestSavepoint = (side: Side) => waitFor(async () => {
      const s = (await call(side, 'GET', '/jobs/:id/checkpoints')).body;
      return s?.latest?.savepoint?.status === 'COMPLETED' && s.latest.savepoint.checkpoint_type !== 'SAVEPOINT' ? s.latest.savepoint : undefined;
    }, 60_000, 'the stop-with-savepoint in the statistics', 100);
    const [rs, os] = [await latestSavepoint(real), await latestSavepoint(ours)];
    assert.equal(rs.checkpoint_type, 'SYNC_SAVEPOINT');
    assert.equal(os.checkpoint_type, 'SYNC_SAVEPOINT');
    const finished = (side: Side) => waitFor(async () => {
      const a = await call(side, 'GET', '/jobs/:id/execution-result');
      return a.body?.status?.id === 'COMPLETED' ? a : undefined;
    }, 60_000, 'the execution result', 100);
    assertSameShape('GET /jobs/:id/execution-result (finished)', await finished(real), await finished(ours));
    assertSameShape('GET /jobs/:id/savepoints/:tid (stop)', await completed(real, `/jobs/:id/savepoints/${r.body['request-id']}`), await completed(ours, `/jobs/:id/savepoints/${o.body['request-id']}`));
  });
});
