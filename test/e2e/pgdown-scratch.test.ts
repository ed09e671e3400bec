/**
 * The PostgreSQL JdbcSink end to end (issue 12), on a real PostgreSQL cluster started once for this file and
 * through the CLI with real processes: gated indices → keyed count → PostgreSQL. The expected table is computed
 * from the input by a model (rows), never by another engine run.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { postgresUnavailable, serviceSkipReason, startPostgres, type PostgresCluster } from '../support/postgres.js';
import {
  ROOT, assertOneLineError, cleanup, createWorkspace, ensureBuilt, flink, jobIdFrom, killCluster, latestCheckpoint, readJobLog, show, waitFor, waitForStatus,
  type Workspace,
} from './helpers.js';

const JOB = join(ROOT, 'test', 'jobs', 'PostgresCountJob.ts');
const skip = serviceSkipReason('PostgreSQL', postgresUnavailable());

/** What a failure-free run writes for indices 0..count-1 over `keys` keys: per key k seen n times, (k, 1..n). */
function model(count: number, keys: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < count; i++) m.set(`k${i % keys}`, (m.get(`k${i % keys}`) ?? 0) + 1);
  return m;
}

describe('PostgreSQL JdbcSink (real cluster, through the CLI)', { skip, timeout: 900_000 }, () => {
  let pg: PostgresCluster;
  const workspaces: Workspace[] = [];
  const ws = (conf: Record<string, string> = {}) => {
    const w = createWorkspace({ 'restart-strategy.type': 'none', ...conf });
    workspaces.push(w);
    return w;
  };
  const creds = () => ['--url', pg.jdbcUrl, '--user', pg.user, '--password', pg.password];

  before(async () => {
    await ensureBuilt();
    pg = await startPostgres({ timeoutMs: 120_000 });
  }, { timeout: 180_000 });

  after(async () => {
    for (const w of workspaces) await cleanup(w);
    await pg?.stop();
  }, { timeout: 120_000 });

  /** Per key k seen n times the rows (k, 1..n) exactly once, nothing else, and no prepared transaction left. */
  function assertExactTable(table: string, count: number, keys: number): void {
    const rows = pg.query(`SELECT key, count(*), min(seq), max(seq) FROM ${table} GROUP BY key ORDER BY key`);
    const expected = [...model(count, keys)].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, n]) => `${k}\t${n}\t1\t${n}`);
    assert.deepEqual(rows, expected, 'per key every seq 1..n exactly once');
    assert.equal(Number(pg.query(`SELECT count(*) FROM ${table}`)[0]), count);
    assert.deepEqual(pg.query('SELECT gid FROM pg_prepared_xacts'), [], 'no prepared transaction left');
  }

  it('exactly once, the database down mid-run: the job fails over by its restart strategy and, once it is back, finishes with every row once', async () => {
    const count = 30_000;
    const keys = 30;
    pg.query('CREATE TABLE eo_down (key text NOT NULL, seq bigint NOT NULL, PRIMARY KEY (key, seq))');
    const w = ws({
      'execution.checkpointing.interval': process.env.CHK_INT ?? '2 s',
      'restart-strategy.type': 'fixed-delay', 'restart-strategy.fixed-delay.attempts': '100', 'restart-strategy.fixed-delay.delay': '1 s',
    });
    const gate = join(w.dir, 'gate');
    const args = [...creds(), '--table', 'eo_down', '--mode', 'exactly-once', '--count', String(count), '--keys', String(keys), '--gate', gate, '--hold-at', '15000', '--prefix', 'eo_down'];
    const run = await flink(w, ['run', '-d', '-p', '2', JOB, ...args], { timeoutMs: 120_000 });
    assert.equal(run.exitCode, 0, run.stderr);
    const jobId = jobIdFrom(run.stdout);
    await waitFor(() => latestCheckpoint(w, jobId) && Number(pg.query('SELECT count(*) FROM eo_down')[0]) > 0, 120_000, 'a completed checkpoint and committed rows', 200);
    pg.stopServer();
    try {
      writeFileSync(gate, ''); // records flow into a sink whose database is gone
      await waitFor(() => /switched from state RUNNING to RESTARTING/.test(readJobLog(w, jobId)), 120_000, 'the job to fail over', 200);
    } finally {
      await pg.startServer();
    }
    const final = await waitForStatus(w, jobId, ['FINISHED', 'FAILED', 'CANCELED'], 300_000);
    assert.equal(final.status, 'FINISHED', `the job ended ${final.status}`);
    if (process.env.PG_DEBUG) writeFileSync(`/tmp/pgdown-${jobId}.log`, readJobLog(w, jobId) + '\n----\n' + readFileSync(pg.logFile, 'utf8'));
    assertExactTable('eo_down', count, keys);
  });

});
