/**
 * Kafka → keyed count → PostgreSQL, exactly once, on a real broker and a real PostgreSQL cluster, through the
 * CLI with real processes (issue 12). The table of a run killed from inside at the JDBC sink's pre-commit and
 * commit and at random, and restored each time from the checkpoint the index reports, must equal the model (and
 * a failure-free run's table); no prepared transaction may be left once the job ended; the prepared
 * transactions of checkpoints newer than the one restored are rolled back.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kafkaUnavailable, startKafka, type KafkaBroker } from '../support/kafka.js';
import { serviceSkipReason } from '../support/services.js';
import { createTopics, produce, readTopic } from '../support/kafka-data.js';
import { postgresUnavailable, startPostgres, type PostgresCluster } from '../support/postgres.js';
import { ROOT, cleanup, createWorkspace, ensureBuilt, flink, jobIdFrom, latestCheckpoint, show, waitFor, waitForStatus, type Workspace } from './helpers.js';

const JOB = join(ROOT, 'test', 'jobs', 'KafkaPostgresJob.ts');
const skip = serviceSkipReason('Kafka', kafkaUnavailable()) ?? serviceSkipReason('PostgreSQL', postgresUnavailable());

function words(count: number, distinct: number, seed = 3): string[] {
  let x = seed;
  return Array.from({ length: count }, () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return `w${x % distinct}`;
  });
}

/** Per word seen n times: `word\tn\t1\tn` (rows (word, 1..n) exactly once), sorted. */
function model(input: string[]): string[] {
  const n = new Map<string, number>();
  for (const w of input) n.set(w, (n.get(w) ?? 0) + 1);
  return [...n].sort(([a], [b]) => (a < b ? -1 : 1)).map(([w, c]) => `${w}\t${c}\t1\t${c}`);
}

describe('Kafka → PostgreSQL exactly once (real broker, real database, through the CLI)', { skip, timeout: 900_000 }, () => {
  let kafka: KafkaBroker;
  let pg: PostgresCluster;
  const workspaces: Workspace[] = [];

  before(async () => {
    await ensureBuilt();
    kafka = await startKafka({ timeoutMs: 180_000 });
    pg = await startPostgres({ timeoutMs: 120_000 });
  }, { timeout: 300_000 });

  after(async () => {
    for (const w of workspaces) await cleanup(w);
    await pg?.stop();
    await kafka?.stop();
  }, { timeout: 120_000 });

  const table = (t: string) => pg.query(`SELECT word, count(*), min(n), max(n) FROM ${t} GROUP BY word ORDER BY word`);

  it('killed at the pre-commit, at the commit and at random, restored each time: the table equals a failure-free run\'s, nothing left prepared', async () => {
    await createTopics(kafka.bootstrapServers, ['kp-in'], 3);
    await produce(kafka.bootstrapServers, 'kp-in', words(30_000, 300));
    const input = await readTopic(kafka.bootstrapServers, 'kp-in', 'read_uncommitted');
    const args = (t: string) => ['--bootstrap', kafka.bootstrapServers, '--input', 'kp-in', '--url', pg.jdbcUrl, '--user', pg.user, '--password', pg.password, '--table', t, '--prefix', t];
    const conf = { 'execution.checkpointing.interval': '150 ms', 'state.checkpoints.num-retained': '2' };

    // The failure-free run.
    pg.query('CREATE TABLE kp_ref (word text NOT NULL, n bigint NOT NULL, PRIMARY KEY (word, n))');
    const wr = createWorkspace(conf);
    workspaces.push(wr);
    const ref = await flink(wr, ['run', '-p', '2', JOB, ...args('kp_ref')], { timeoutMs: 240_000 });
    assert.equal(ref.exitCode, 0, show(ref));
    assert.deepEqual(table('kp_ref'), model(input), 'the failure-free run equals the model');

    pg.query('CREATE TABLE kp (word text NOT NULL, n bigint NOT NULL, PRIMARY KEY (word, n))');
    const w = createWorkspace(conf);
    workspaces.push(w);
    let from: string | undefined;
    let rolledBack = false;
    for (const fault of ['jdbc.pre-commit:2:kill', 'jdbc.commit:1:kill', 'random']) {
      const env = fault === 'random' ? {} : { FLINK_TS_FAULT: fault };
      const run = await flink(w, ['run', '-d', '--json', '-p', '2', ...(from ? ['-s', from] : []), JOB, ...args('kp')], { timeoutMs: 120_000, env });
      assert.equal(run.exitCode, 0, show(run));
      const { jobId, pid, outFile } = JSON.parse(run.stdout) as { jobId: string; pid: number; outFile: string };
      if (fault === 'random') {
        await waitFor(() => latestCheckpoint(w, jobId), 120_000, 'a checkpoint of the resumed job', 50);
        try { process.kill(pid, 'SIGKILL'); } catch { /* finished already */ }
      } else {
        const point = fault.split(':')[0]!.replace('.', '\\.');
        await waitFor(() => new RegExp(`FaultInjection: killing process \\d+ at ${point}`).test(existsSync(outFile) ? readFileSync(outFile, 'utf8') : ''), 180_000, `the kill at ${fault}`, 50);
      }
      await waitFor(() => { try { process.kill(pid, 0); return false; } catch { return true; } }, 10_000, `cluster process ${pid} to be gone`);
      const prepared = pg.query("SELECT gid FROM pg_prepared_xacts WHERE gid LIKE 'kp-%'");
      const next = latestCheckpoint(w, jobId) ?? from;
      const restoredId = next ? Number(/chk-(\d+)$/.exec(next)![1]) : 0;
      if (prepared.some((g) => Number(g.split('-').at(-1)) > restoredId)) rolledBack = true; // newer than the restore point
      process.stderr.write(`# ${fault}: prepared at the kill ${prepared.join(' ') || '(none)'}; resuming from ${next ?? 'scratch'}\n`);
      from = next;
    }
    assert.ok(rolledBack, 'a kill left a transaction of a checkpoint newer than the one restored prepared');
    const last = await flink(w, ['run', '-d', '-p', '2', ...(from ? ['-s', from] : []), JOB, ...args('kp')], { timeoutMs: 120_000 });
    assert.equal(last.exitCode, 0, show(last));
    const final = await waitForStatus(w, jobIdFrom(last.stdout), ['FINISHED', 'FAILED', 'CANCELED'], 300_000);
    assert.equal(final.status, 'FINISHED', `the last attempt ended ${final.status} (a committed duplicate (word, n) fails it)`);
    assert.deepEqual(table('kp'), table('kp_ref'), 'the table equals the failure-free run\'s');
    assert.deepEqual(pg.query("SELECT gid FROM pg_prepared_xacts"), [], 'no prepared transaction left');
  });
});
