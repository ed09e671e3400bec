/**
 * Kafka connectors end to end (issue 12), on a real Kafka broker (KRaft, started once for this file) and
 * through the CLI: Kafka → keyed count → Kafka. The expected output is computed from the input by a model
 * (expectedCounts); a read_committed consumer must see exactly it, a read_uncommitted one may see more.
 */
import { after, before, describe, it } from 'node:test';
import { Producer, stringSerializers } from '@platformatic/kafka';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kafkaUnavailable, startKafka, type KafkaBroker } from '../support/kafka.js';
import { serviceSkipReason } from '../support/services.js';
import { addPartitions, createTopics, expectedCounts, produce, readTopic } from '../support/kafka-data.js';
import { MAX_QUEUED_BYTES, type KafkaSourceReader } from '../../src/connectors/kafka/KafkaSourceReader.js';
import { KafkaSource, type KafkaSourceBuilder } from '../../src/connectors/kafka/KafkaSource.js';
import { splitOwner } from '../../src/connectors/kafka/KafkaClients.js';
import { KafkaTransactions, NO_PRODUCER } from '../../src/connectors/kafka/KafkaTransactions.js';
import { OffsetResetStrategy, OffsetsInitializer } from '../../src/connectors/kafka/OffsetsInitializer.js';
import { SimpleStringSchema } from '../../src/connectors/kafka/serialization.js';
import {
  ROOT, assertOneLineError, cleanup, createWorkspace, ensureBuilt, flink, jobIdFrom, killCluster, latestCheckpoint, listJobs, readJobLog, savepointPathFrom,
  stateEntries, waitFor, waitForStatus,
  type Workspace, waitForFaultKill } from './helpers.js';

const JOB = join(ROOT, 'test', 'jobs', 'KafkaCountJob.ts');
const EXAMPLE = join(ROOT, 'examples', 'KafkaWordCount.ts');
const WINDOW_JOB = join(ROOT, 'test', 'jobs', 'KafkaWindowJob.ts');
const skip = serviceSkipReason('Kafka', kafkaUnavailable());

/** The records of `expected` that `got` lacks, counting duplicates (a multiset difference). */
function missingFrom(expected: string[], got: string[]): string[] {
  const left = new Map<string, number>();
  for (const r of got) left.set(r, (left.get(r) ?? 0) + 1);
  return expected.filter((r) => { const n = left.get(r) ?? 0; left.set(r, n - 1); return n <= 0; });
}

/** Deterministic words: `count` of them over `distinct` different words. */
function words(count: number, distinct: number, seed = 1): string[] {
  let x = seed;
  return Array.from({ length: count }, () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return `w${x % distinct}`;
  });
}

/**
 * Keeps appending words to `topic` (batches of 500) until stop() resolves: the job always has input ahead of
 * it, so a kill lands mid-run whatever the machine's speed, without timing assumptions.
 */
const feeders: { stop(): Promise<void> }[] = [];
function feeder(bootstrap: string, topic: string, seed: number): { stop(): Promise<void> } {
  let stopped = false;
  let batch = 0;
  const loop = (async () => {
    while (!stopped) {
      await produce(bootstrap, topic, words(500, 200, seed + batch++));
      await new Promise((r) => setTimeout(r, 50)); // volume only (at most ~10k records/s): correctness never depends on it
    }
  })();
  const f = { stop: async () => { stopped = true; await loop; } };
  feeders.push(f);
  return f;
}

/**
 * What a KafkaSource reader built by `configure` emits, with timestamps: bounded (latest at start), or unbounded
 * until `until` values; then checkpoint 1 is snapshotted and completed (offsets of unfinished splits committed).
 */
async function readWith(configure: (b: KafkaSourceBuilder<string>) => KafkaSourceBuilder<string>, until?: number, timeoutMs = 60_000): Promise<{ values: string[]; timestamps: (number | undefined)[] }> {
  const b = KafkaSource.builder<string>().setValueOnlyDeserializer(new SimpleStringSchema());
  if (until === undefined) b.setBounded(OffsetsInitializer.latest());
  const source = configure(b).build();
  const reader = source.createReader({ subtask: 0, parallelism: 1 });
  reader.addSplits(source.initialSplits(1));
  const values: string[] = [];
  const timestamps: (number | undefined)[] = [];
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const r = reader.pollNext((v, ts) => { values.push(v); timestamps.push(ts); }, 1000);
      if (r === 'end' || (until !== undefined && values.length >= until)) break;
      if (Date.now() > deadline) throw new Error(`reader did not end within ${timeoutMs} ms`);
      if (r > 0) await new Promise((res) => setTimeout(res, r));
    }
    reader.snapshotState(1);
    reader.notifyCheckpointComplete?.(1);
    const groupId = (source.config as { groupId?: string }).groupId;
    if (until !== undefined && groupId) {
      // The commit is fire-and-forget (monitoring only): poll the group until it shows the offsets.
      const { Consumer } = await import('@platformatic/kafka');
      const c = new Consumer({ clientId: 'test-offsets', groupId, bootstrapBrokers: [source.config.bootstrapServers] });
      try {
        await waitFor(async () => {
          const topics = [...new Set((reader.snapshotState(2) as { topic?: string }[]).map((x) => x.topic).filter((t): t is string => !!t))];
          const got = await c.listCommittedOffsets({ topics: topics.map((topic) => ({ topic, partitions: [0, 1] })) });
          return [...got.values()].every((offsets) => offsets.every((o) => o >= 0n));
        }, 60_000, `offsets of ${groupId} committed`, 300);
      } finally {
        await c.close(true as never);
      }
    }
    return { values, timestamps };
  } finally {
    reader.close?.();
  }
}

describe('Kafka connectors on a real broker', { skip, timeout: 600_000 }, () => {
  let kafka: KafkaBroker;
  const workspaces: Workspace[] = [];
  const ws = (o: Record<string, string> = {}) => {
    const w = createWorkspace(o);
    workspaces.push(w);
    return w;
  };

  before(async () => {
    await ensureBuilt();
    kafka = await startKafka({ timeoutMs: 180_000 });
  }, { timeout: 240_000 });

  after(async () => {
    for (const f of feeders) await f.stop().catch(() => {});
    for (const w of workspaces) await cleanup(w);
    await kafka?.stop();
  }, { timeout: 120_000 });

  it('bounded: stops at the offsets that were latest at start, the job finishes, output exactly once', async () => {
    const input = words(3000, 50);
    await createTopics(kafka.bootstrapServers, ['b-in', 'b-out'], 4);
    await produce(kafka.bootstrapServers, 'b-in', input);
    const w = ws();
    const r = await flink(w, ['run', JOB, '--bootstrap', kafka.bootstrapServers, '--input', 'b-in', '--output', 'b-out', '--bounded', '--prefix', 'bounded'], { timeoutMs: 180_000 });
    assert.equal(r.exitCode, 0, r.stderr);
    // Records written after the job ended are not part of its input.
    await produce(kafka.bootstrapServers, 'b-in', ['late']);
    assert.deepEqual(await readTopic(kafka.bootstrapServers, 'b-out', 'read_committed').then((x) => x.sort()), expectedCounts(input));
  });

  it('broker unreachable at start: one line naming the bootstrap servers, stable exit code, no hang', async () => {
    const w = ws();
    const t0 = Date.now();
    const r = await flink(w, ['run', JOB, '--bootstrap', '127.0.0.1:1', '--input', 'x', '--output', 'y', '--timeout', '3000'], { timeoutMs: 60_000 });
    const line = assertOneLineError(r);
    assert.match(line, /127\.0\.0\.1:1/);
    assert.match(line, /bootstrap\.servers/);
    assert.notEqual(r.exitCode, 0);
    assert.ok(Date.now() - t0 < 45_000, `took ${Date.now() - t0} ms`);
    const again = await flink(w, ['run', JOB, '--bootstrap', '127.0.0.1:1', '--input', 'x', '--output', 'y', '--timeout', '3000'], { timeoutMs: 60_000 });
    assert.equal(again.exitCode, r.exitCode, 'the exit code is stable');
  });

  it('EXACTLY_ONCE: SIGKILL of the detached cluster, restore rescaled (p2 → p3) from the checkpoint the index reports: read_committed sees every record once', async () => {
    await createTopics(kafka.bootstrapServers, ['e-in', 'e-out'], 6);
    await produce(kafka.bootstrapServers, 'e-in', words(10_000, 200, 7));
    const feed = feeder(kafka.bootstrapServers, 'e-in', 100);
    const w = ws({ 'execution.checkpointing.interval': '300 ms' });
    const args = ['--bootstrap', kafka.bootstrapServers, '--input', 'e-in', '--output', 'e-out', '--prefix', 'eo'];
    const run = await flink(w, ['run', '-d', '-p', '2', JOB, ...args], { timeoutMs: 120_000 });
    assert.equal(run.exitCode, 0, run.stderr);
    const jobId = jobIdFrom(run.stdout);
    await waitForStatus(w, jobId, 'RUNNING', 60_000);
    // Kill once a checkpoint completed and some output is visible, while the job is still working on its input.
    await waitFor(async () => latestCheckpoint(w, jobId) && (await readTopic(kafka.bootstrapServers, 'e-out', 'read_uncommitted')).length > 0, 120_000, 'a completed checkpoint and some output', 300);
    await killCluster(w, jobId, 'SIGKILL');
    await feed.stop();
    await produce(kafka.bootstrapServers, 'e-in', words(5000, 200, 99)); // input that only the restored job sees
    // The model runs on what the topic holds (a producer retry on a loaded machine could add a record).
    const expected = expectedCounts(await readTopic(kafka.bootstrapServers, 'e-in', 'read_uncommitted'));
    const chk = latestCheckpoint(w, jobId)!;
    const before = await readTopic(kafka.bootstrapServers, 'e-out', 'read_committed');
    assert.ok(before.length < expected.length, `the kill came before the job had written everything (${before.length}/${expected.length})`);

    const resumed = await flink(w, ['run', '-d', '-p', '3', '-s', chk, JOB, ...args], { timeoutMs: 120_000 });
    assert.equal(resumed.exitCode, 0, resumed.stderr);
    const jobId2 = jobIdFrom(resumed.stdout);
    let committed: string[] = [];
    try {
      await waitFor(async () => {
        committed = await readTopic(kafka.bootstrapServers, 'e-out', 'read_committed');
        return committed.length >= expected.length;
      }, 240_000, 'the committed output to be complete', 500);
    } catch (e) {
      // Say what was missing and what the restored job was doing: a bare timeout teaches nothing.
      const uncommitted = await readTopic(kafka.bootstrapServers, 'e-out', 'read_uncommitted').catch(() => []);
      const missing = missingFrom(expected, committed);
      const log = readJobLog(w, jobId2).trimEnd().split('\n').slice(-25).join('\n');
      const tx = await KafkaTransactions.create(kafka.bootstrapServers, 'test-diagnosis');
      const open = await tx.ongoingTransactions('eo-').catch((x: Error) => [`(not listed: ${x.message})`]).finally(() => tx.close());
      throw new Error(`${(e as Error).message}: read_committed ${committed.length}/${expected.length} (${missing.length} missing, e.g. ${missing.slice(0, 3).join(' ')}), ` +
        `read_uncommitted ${uncommitted.length}, transactions open: ${open.join(' ') || 'none'}, latest checkpoint ${latestCheckpoint(w, jobId2) ?? 'none'}; the restored job's log ends:\n${log}`);
    }
    // One more checkpoint's worth of time would reveal duplicates: wait for two more completed checkpoints.
    const at = latestCheckpoint(w, jobId2);
    await waitFor(() => { const l = latestCheckpoint(w, jobId2); return l && l !== at && Number(l.split('-').at(-1)) > Number((at ?? 'chk-0').split('-').at(-1)) + 1; }, 60_000, 'two more checkpoints', 200);
    committed = await readTopic(kafka.bootstrapServers, 'e-out', 'read_committed');
    assert.deepEqual(committed.sort(), expected, 'read_committed: every expected record exactly once');
    const uncommitted = await readTopic(kafka.bootstrapServers, 'e-out', 'read_uncommitted');
    // read_uncommitted also sees the failed attempt's aborted transactions: a superset, duplicates allowed.
    assert.ok(missingFrom(expected, uncommitted).length === 0, 'read_uncommitted sees every committed record');
    process.stderr.write(`# read_committed ${committed.length} records, read_uncommitted ${uncommitted.length} (${uncommitted.length - committed.length} from aborted transactions)\n`);
    const cancel = await flink(w, ['cancel', jobId2], { timeoutMs: 60_000 });
    assert.equal(cancel.exitCode, 0, cancel.stderr);
  });
  // FLIP-147 and the sink's fault points: a bounded EXACTLY_ONCE job killed from inside at the pre-commit, at the
  // commit and after the final checkpoint's commit, each restored from the checkpoint the index reports (or run
  // again when none completed): read_committed sees every expected record once; read_uncommitted beside it also
  // sees the aborted or re-written transactions, so the test can tell a duplicate from none.
  for (const fault of ['kafka.pre-commit:1:kill', 'kafka.commit:1:kill', 'task.final-checkpoint:2:kill']) {
    it(`EXACTLY_ONCE, bounded, killed at ${fault.split(':')[0]}: the restore repeats nothing (read_committed exact, read_uncommitted can see more)`, async () => {
      const topic = `f${fault.split('.')[0]!.slice(0, 4)}${fault.split(':')[0]!.length}`;
      await createTopics(kafka.bootstrapServers, [`${topic}-in`, `${topic}-out`], 3);
      const input = words(6000, 120, 5);
      await produce(kafka.bootstrapServers, `${topic}-in`, input);
      const expected = expectedCounts(await readTopic(kafka.bootstrapServers, `${topic}-in`, 'read_uncommitted'));
      const w = ws({ 'execution.checkpointing.interval': '200 ms' });
      const args = ['--bootstrap', kafka.bootstrapServers, '--input', `${topic}-in`, '--output', `${topic}-out`, '--bounded', '--prefix', topic];
      const run = await flink(w, ['run', '-d', '--json', '-p', '2', JOB, ...args], { timeoutMs: 120_000, env: { FLINK_TS_FAULT: fault } });
      assert.equal(run.exitCode, 0, run.stderr);
      const { jobId, outFile } = JSON.parse(run.stdout) as { jobId: string; outFile: string };
      await waitForFaultKill(outFile, fault, jobId);
      const chk = latestCheckpoint(w, jobId);
      const resumed = await flink(w, ['run', '-d', '-p', '2', ...(chk ? ['-s', chk] : []), JOB, ...args], { timeoutMs: 120_000 });
      assert.equal(resumed.exitCode, 0, resumed.stderr);
      const final = await waitForStatus(w, jobIdFrom(resumed.stdout), ['FINISHED', 'FAILED', 'CANCELED'], 240_000);
      assert.equal(final.status, 'FINISHED');
      const committed = await readTopic(kafka.bootstrapServers, `${topic}-out`, 'read_committed');
      assert.deepEqual(committed.sort(), expected, 'read_committed: every expected record exactly once');
      const uncommitted = await readTopic(kafka.bootstrapServers, `${topic}-out`, 'read_uncommitted');
      assert.ok(uncommitted.length >= committed.length, 'read_uncommitted sees at least what is committed');
      process.stderr.write(`# ${fault}: restored from ${chk ?? 'nothing'}; read_committed ${committed.length}, read_uncommitted ${uncommitted.length}\n`);
    });
  }

  // d6f4372 (ci-f): a restore gives every subtask a discovery split when any subtask still held one at the
  // checkpoint; a bounded reader that had dropped the partitions it read to their end took them for new ones and
  // read them again from the earliest offset. The hold makes that checkpoint certain: subtask 0 never gets past
  // its discovery, subtask 1 reads its partitions to their end, and the test waits until their counts are
  // committed (so a checkpoint completed after that) before it kills the cluster.
  it('EXACTLY_ONCE restore: open transactions are aborted (fenced) on the restoring subtask\'s ids, after a gap in the ids too (found by listing), and nowhere else', async () => {
    await createTopics(kafka.bootstrapServers, ['gap-out'], 1);
    /** What a killed attempt leaves: a transaction with records, open on the broker. */
    const linger = async (transactionalId: string, values: string[]) => {
      const p = new Producer({ clientId: 'test-lingering', bootstrapBrokers: [kafka.bootstrapServers], serializers: stringSerializers, idempotent: true, transactionalId, ...NO_PRODUCER });
      const txn = await p.beginTransaction();
      await txn.send({ messages: values.map((v) => ({ topic: 'gap-out', key: v, value: v })) });
      p.close(true, () => {}); // as a killed process: nothing is ended
    };
    // Old subtask 0 recorded nextSeq 0 and died with gap-0-0 open and gap-0-3 open (gap-0-1, -2 never reached the
    // coordinator); old subtask 1 died with gap-1-0 open.
    await linger('gap-0-0', ['a']);
    await linger('gap-0-3', ['b', 'c']);
    await linger('gap-1-0', ['d']);
    await produce(kafka.bootstrapServers, 'gap-out', ['plain']); // not transactional: readable once every open transaction before it ended
    const committed = () => readTopic(kafka.bootstrapServers, 'gap-out', 'read_committed');
    assert.deepEqual(await committed(), [], 'the open transactions hold read_committed back');
    const tx = await KafkaTransactions.create(kafka.bootstrapServers, 'test-recovery');
    const timeout = 60_000;
    try {
      assert.deepEqual(await tx.ongoingTransactions('gap-'), ['gap-0-0', 'gap-0-3', 'gap-1-0']);
      // New subtask 0 of 2 takes over old subtask 0: the probe aborts gap-0-0 and stops at gap-0-1; the listing finds gap-0-3.
      const listed = await tx.recover({ prefix: 'gap', owned: [{ subtask: 0, nextSeq: 0, pending: [] }], owns: (s) => s % 2 === 0, transactionTimeoutMs: timeout });
      assert.deepEqual(listed, ['gap-0-3']);
      assert.deepEqual(await tx.ongoingTransactions('gap-'), ['gap-1-0'], 'another subtask\'s transaction is left to it');
      assert.deepEqual(await committed(), [], 'still held back by gap-1-0');
      assert.deepEqual(await tx.recover({ prefix: 'gap', owned: [{ subtask: 1, nextSeq: 0, pending: [] }], owns: (s) => s % 2 === 1, transactionTimeoutMs: timeout }), []);
      assert.deepEqual(await tx.ongoingTransactions('gap-'), []);
    } finally {
      await tx.close();
    }
    assert.deepEqual(await committed(), ['plain'], 'aborted, not committed: only the plain record');
    assert.deepEqual((await readTopic(kafka.bootstrapServers, 'gap-out', 'read_uncommitted')).sort(), ['a', 'b', 'c', 'd', 'plain']);
  });

  it('EXACTLY_ONCE, bounded, restored from a checkpoint taken while subtask 0 was still discovering and subtask 1 had read its partitions to their end: nothing is counted twice', async () => {
    const topic = 'rd-in';
    await createTopics(kafka.bootstrapServers, [topic, 'rd-out'], 4);
    const byPartition = [0, 1, 2, 3].map((p) => words(1500, 60, 40 + p));
    for (const [p, values] of byPartition.entries()) await produce(kafka.bootstrapServers, topic, values, p);
    const read = byPartition.filter((_, p) => splitOwner(topic, p, 2) === 1).flat();
    assert.equal(read.length, 3000, 'subtask 1 owns two of the four partitions');
    const expected = expectedCounts(await readTopic(kafka.bootstrapServers, topic, 'read_uncommitted'));
    const w = ws({ 'execution.checkpointing.interval': '200 ms' });
    const args = ['--bootstrap', kafka.bootstrapServers, '--input', topic, '--output', 'rd-out', '--bounded', '--prefix', 'rd'];
    const run = await flink(w, ['run', '-d', '--json', '-p', '2', JOB, ...args], { timeoutMs: 120_000, env: { FLINK_TS_FAULT: 'kafka.discover@0:1:hold' } });
    assert.equal(run.exitCode, 0, run.stderr);
    const { jobId, pid, outFile } = JSON.parse(run.stdout) as { jobId: string; pid: number; outFile: string };
    await waitFor(async () => (await readTopic(kafka.bootstrapServers, 'rd-out', 'read_committed')).length >= read.length, 180_000, "subtask 1's counts committed", 300);
    // Exactly subtask 1's partitions: subtask 0 is held before it knows any.
    assert.deepEqual((await readTopic(kafka.bootstrapServers, 'rd-out', 'read_committed')).sort(), expectedCounts(read).sort());
    await killCluster(w, jobId, 'SIGKILL', pid);
    assert.match(readFileSync(outFile, 'utf8'), /FaultInjection: holding kafka\.discover of subtask 0 \(pass 1\)/);
    const chk = latestCheckpoint(w, jobId)!;
    const splits = stateEntries(chk, 'SourceReaderState', 'kafka-words').map((e) => (e.value as { id: string }).id);
    assert.ok(splits.includes('discover-0-of-2'), `the checkpoint holds subtask 0's discovery split (${splits.join(', ')})`);

    const resumed = await flink(w, ['run', '-d', '-p', '2', '-s', chk, JOB, ...args], { timeoutMs: 120_000 });
    assert.equal(resumed.exitCode, 0, resumed.stderr);
    const final = await waitForStatus(w, jobIdFrom(resumed.stdout), ['FINISHED', 'FAILED', 'CANCELED'], 240_000);
    assert.equal(final.status, 'FINISHED');
    const committed = await readTopic(kafka.bootstrapServers, 'rd-out', 'read_committed');
    const uncommitted = await readTopic(kafka.bootstrapServers, 'rd-out', 'read_uncommitted');
    process.stderr.write(`# restored from ${chk} (splits ${splits.join(', ')}); read_committed ${committed.length} of ${expected.length}, read_uncommitted ${uncommitted.length}\n`);
    assert.equal(committed.length, expected.length, 'read_committed: one count per input record (more: a partition was read twice)');
    assert.deepEqual(committed.sort(), expected, 'read_committed: every record counted exactly once');
  });

  it('AT_LEAST_ONCE: after a SIGKILL and a restore nothing is lost (duplicates allowed, counted)', async () => {
    await createTopics(kafka.bootstrapServers, ['a-in', 'a-out'], 4);
    await produce(kafka.bootstrapServers, 'a-in', words(10_000, 100, 3));
    const feed = feeder(kafka.bootstrapServers, 'a-in', 300);
    const w = ws({ 'execution.checkpointing.interval': '300 ms' });
    const args = ['--bootstrap', kafka.bootstrapServers, '--input', 'a-in', '--output', 'a-out', '--guarantee', 'AT_LEAST_ONCE'];
    const run = await flink(w, ['run', '-d', '-p', '2', JOB, ...args], { timeoutMs: 120_000 });
    assert.equal(run.exitCode, 0, run.stderr);
    const jobId = jobIdFrom(run.stdout);
    await waitFor(async () => latestCheckpoint(w, jobId) && (await readTopic(kafka.bootstrapServers, 'a-out', 'read_uncommitted')).length > 0, 120_000, 'a completed checkpoint and some output', 300);
    await killCluster(w, jobId, 'SIGKILL');
    await feed.stop();
    const expected = expectedCounts(await readTopic(kafka.bootstrapServers, 'a-in', 'read_uncommitted'));
    const resumed = await flink(w, ['run', '-d', '-p', '2', '-s', latestCheckpoint(w, jobId)!, JOB, ...args], { timeoutMs: 120_000 });
    assert.equal(resumed.exitCode, 0, resumed.stderr);
    let out: string[] = [];
    const missing = () => {
      const have = new Set(out);
      return expected.filter((r) => !have.has(r));
    };
    await waitFor(async () => {
      out = await readTopic(kafka.bootstrapServers, 'a-out', 'read_committed');
      return missing().length === 0;
    }, 240_000, 'every expected record in the output', 500).catch((e: Error) => { throw new Error(`${e.message}; ${missing().length} missing`); });
    process.stderr.write(`# at least once: ${out.length} records for ${expected.length} expected (${out.length - expected.length} duplicates)\n`);
    assert.ok(out.length >= expected.length);
    await flink(w, ['cancel', jobIdFrom(resumed.stdout)], { timeoutMs: 60_000 });
  });

  /** Waits until read_committed holds `expected.length` records and two more checkpoints passed, then compares. */
  async function assertExactOutput(w: Workspace, jobId: string, topic: string, expected: string[]): Promise<void> {
    let committed: string[] = [];
    await waitFor(async () => {
      committed = await readTopic(kafka.bootstrapServers, topic, 'read_committed');
      return committed.length >= expected.length;
    }, 240_000, `the committed output of ${topic} to be complete`, 500).catch((e: Error) => { throw new Error(`${e.message} (${committed.length}/${expected.length})`); });
    const at = Number((latestCheckpoint(w, jobId) ?? 'chk-0').split('-').at(-1));
    await waitFor(() => Number((latestCheckpoint(w, jobId) ?? 'chk-0').split('-').at(-1)) >= at + 2, 60_000, 'two more checkpoints', 200);
    committed = await readTopic(kafka.bootstrapServers, topic, 'read_committed');
    assert.deepEqual(committed.sort(), expected, 'read_committed: every expected record exactly once');
  }

  it('savepoint → cancel → run -s -p 3 from -p 2 on a 6-partition topic: offsets and keyed state redistributed, output exact; partitions added while the job runs are picked up', async () => {
    await createTopics(kafka.bootstrapServers, ['r-in', 'r-out'], 6);
    await produce(kafka.bootstrapServers, 'r-in', words(8000, 300, 21));
    const w = ws({ 'execution.checkpointing.interval': '300 ms' });
    const args = ['--bootstrap', kafka.bootstrapServers, '--input', 'r-in', '--output', 'r-out', '--prefix', 'rescale', '--discovery', '500'];
    const run = await flink(w, ['run', '-d', '-p', '2', JOB, ...args], { timeoutMs: 120_000 });
    assert.equal(run.exitCode, 0, run.stderr);
    const jobId = jobIdFrom(run.stdout);
    await waitFor(async () => (await readTopic(kafka.bootstrapServers, 'r-out', 'read_committed')).length > 0, 120_000, 'some committed output', 300);
    const sp = await flink(w, ['savepoint', jobId, w.savepointsDir], { timeoutMs: 120_000 });
    assert.equal(sp.exitCode, 0, sp.stderr);
    const savepoint = savepointPathFrom(sp.stdout);
    const cancel = await flink(w, ['cancel', jobId], { timeoutMs: 60_000 });
    assert.equal(cancel.exitCode, 0, cancel.stderr);
    await waitForStatus(w, jobId, 'CANCELED', 60_000);
    // Input only the restored job sees, in the old partitions.
    await produce(kafka.bootstrapServers, 'r-in', words(3000, 300, 22));

    const resumed = await flink(w, ['run', '-d', '-p', '3', '-s', savepoint, JOB, ...args], { timeoutMs: 120_000 });
    assert.equal(resumed.exitCode, 0, resumed.stderr);
    const jobId2 = jobIdFrom(resumed.stdout);
    await waitForStatus(w, jobId2, 'RUNNING', 60_000);
    // Two partitions added while it runs, with words nobody else has: discovery (every 500 ms) reads them from
    // their start. With the rest, the output is the model of everything the topic holds.
    await addPartitions(kafka.bootstrapServers, 'r-in', 8);
    await produce(kafka.bootstrapServers, 'r-in', words(700, 20, 23).map((x) => `new6-${x}`), 6);
    await produce(kafka.bootstrapServers, 'r-in', words(500, 20, 24).map((x) => `new7-${x}`), 7);
    const expected = expectedCounts(await readTopic(kafka.bootstrapServers, 'r-in', 'read_uncommitted'));
    await assertExactOutput(w, jobId2, 'r-out', expected);
    assert.ok(expected.some((r) => r.startsWith('new7-')), 'the model holds the new partitions');
    // Completed checkpoints commit the source's offsets to the group: all 8 partitions, at the input's end.
    const { Consumer } = await import('@platformatic/kafka');
    const c = new Consumer({ clientId: 'test-offsets', groupId: 'kafka-count', bootstrapBrokers: [kafka.bootstrapServers] });
    try {
      let sum = -1;
      await waitFor(async () => {
        const got = await c.listCommittedOffsets({ topics: [{ topic: 'r-in', partitions: [0, 1, 2, 3, 4, 5, 6, 7] }] });
        const offsets = got.get('r-in') ?? [];
        sum = offsets.every((o) => o >= 0n) ? offsets.reduce((a, o) => a + Number(o), 0) : -1;
        return sum === expected.length;
      }, 60_000, 'the group offsets of r-in at the end of the input', 300).catch((e: Error) => { throw new Error(`${e.message} (sum ${sum}, ${expected.length} records)`); });
    } finally {
      await c.close(true as never);
    }
    await flink(w, ['cancel', jobId2], { timeoutMs: 60_000 });
  });

  it('topic missing: one line naming the topic and the bootstrap servers, stable exit code, no hang', async () => {
    const w = ws();
    const t0 = Date.now();
    const r = await flink(w, ['run', JOB, '--bootstrap', kafka.bootstrapServers, '--input', 'no-such-topic', '--output', 'b-out', '--timeout', '5000'], { timeoutMs: 60_000 });
    const line = assertOneLineError(r);
    assert.match(line, /Kafka topic 'no-such-topic' not found on the brokers at /);
    assert.ok(line.includes(kafka.bootstrapServers), line);
    assert.ok(Date.now() - t0 < 45_000, `took ${Date.now() - t0} ms`);
    const again = await flink(w, ['run', JOB, '--bootstrap', kafka.bootstrapServers, '--input', 'no-such-topic', '--output', 'b-out', '--timeout', '5000'], { timeoutMs: 60_000 });
    assert.equal(again.exitCode, r.exitCode, 'the exit code is stable');
    assert.equal((await listJobs(w)).length, 0, 'refused before deployment: no job');
  });

  it('a deserializer that throws: the job fails over with topic, partition and offset; after the restarts it ends FAILED with that root cause', async () => {
    await createTopics(kafka.bootstrapServers, ['d-in', 'd-out'], 1);
    await produce(kafka.bootstrapServers, 'd-in', ['a', 'b', 'c', 'poison', 'd']);
    const w = ws({ 'restart-strategy.type': 'fixed-delay', 'restart-strategy.fixed-delay.attempts': '2', 'restart-strategy.fixed-delay.delay': '200 ms', 'execution.checkpointing.interval': '300 ms' });
    const t0 = Date.now();
    const r = await flink(w, ['run', JOB, '--bootstrap', kafka.bootstrapServers, '--input', 'd-in', '--output', 'd-out', '--poison', 'poison', '--prefix', 'poison'], { timeoutMs: 180_000 });
    const line = assertOneLineError(r, 1);
    assert.match(line, /Failed to deserialize the Kafka record at d-in-0 offset 3: unparseable word 'poison'/);
    assert.match(line, /fixed-delay restart strategy allowed 2 attempt\(s\)/);
    assert.ok(Date.now() - t0 < 150_000, `took ${Date.now() - t0} ms`);
    const jobId = jobIdFrom(r.stdout);
    assert.equal(readJobLog(w, jobId).split('\n').filter((l) => /switched from state RUNNING to RESTARTING/.test(l)).length, 2, 'failed over twice, then no more');
    assert.equal((await listJobs(w)).find((j) => j.jobId === jobId)?.status, 'FAILED');
    // Nothing lost: the input is untouched and the failed job committed nothing past the bad record.
    assert.deepEqual(await readTopic(kafka.bootstrapServers, 'd-in', 'read_uncommitted'), ['a', 'b', 'c', 'poison', 'd']);
    for (const rec of await readTopic(kafka.bootstrapServers, 'd-out', 'read_committed')) assert.match(rec, /^[abc]:1$/);
  });

  it('transaction.timeout.ms shorter than twice the checkpoint interval: a clear warning in the job log, the job runs', async () => {
    await createTopics(kafka.bootstrapServers, ['t-in', 't-out'], 1);
    await produce(kafka.bootstrapServers, 't-in', ['x', 'y']);
    // The bounded job ends at its final checkpoint, the first periodic one: 5 s in, well inside the 9 s timeout.
    const w = ws({ 'execution.checkpointing.interval': '5 s' });
    const r = await flink(w, ['run', JOB, '--bootstrap', kafka.bootstrapServers, '--input', 't-in', '--output', 't-out', '--bounded', '--prefix', 'tto', '--transaction-timeout', '9000'], { timeoutMs: 180_000 });
    assert.equal(r.exitCode, 0, r.stderr);
    const log = readJobLog(w, jobIdFrom(r.stdout));
    assert.match(log, /WARN .*KafkaSink\(t-out\) EXACTLY_ONCE: transaction\.timeout\.ms = 9000 ms is shorter than twice the checkpoint interval \(5000 ms\)/);
    assert.deepEqual((await readTopic(kafka.bootstrapServers, 't-out', 'read_committed')).sort(), ['x:1', 'y:1']);
  });

  it('backpressure: a reader nobody polls stops fetching; what it holds stays bounded (records and bytes)', async () => {
    await createTopics(kafka.bootstrapServers, ['bp-in'], 4);
    // 48 MB of 2 KB records: three times the reader's byte bound.
    const value = 'v'.repeat(2048);
    for (let p = 0; p < 4; p++) await produce(kafka.bootstrapServers, 'bp-in', Array.from({ length: 6000 }, (_, i) => `${p}-${i}-${value}`), p, 200);
    const source = KafkaSource.builder<string>().setBootstrapServers(kafka.bootstrapServers).setTopics('bp-in')
      .setStartingOffsets(OffsetsInitializer.earliest()).setValueOnlyDeserializer(new SimpleStringSchema()).build();
    const reader = source.createReader({ subtask: 0, parallelism: 1 }) as KafkaSourceReader<string>;
    reader.addSplits(source.initialSplits(1));
    try {
      await waitFor(() => reader.buffered.bytes >= MAX_QUEUED_BYTES, 120_000, 'the reader to fill its buffer', 100);
      await new Promise((r) => setTimeout(r, 1000));
      const requests = reader.fetchRequests;
      const held = reader.buffered;
      await new Promise((r) => setTimeout(r, 3000));
      assert.equal(reader.fetchRequests, requests, 'no fetch while the buffer is full');
      assert.deepEqual(reader.buffered, held);
      // At most the bound plus one response (1 MB per partition).
      assert.ok(held.bytes <= MAX_QUEUED_BYTES + 4 * (1 << 20) + 4 * 2100, `buffered ${held.bytes} bytes`);
      assert.ok(held.records < 24_000, `buffered ${held.records} of 24000 records`);
      // Draining resumes fetching; everything arrives once.
      const seen = new Set<string>();
      let n = 0;
      await waitFor(() => {
        reader.pollNext((v) => { n++; seen.add(v.slice(0, v.indexOf('-', v.indexOf('-') + 1))); }, 5000);
        return n >= 24_000;
      }, 120_000, 'all records after draining', 10);
      assert.equal(seen.size, 24_000);
      assert.ok(reader.fetchRequests > requests);
    } finally {
      reader.close?.();
    }
  });

  it('per-partition watermarks: the reader announces each partition, names the partition of every record, and releases finished ones', async () => {
    await createTopics(kafka.bootstrapServers, ['wm-in'], 2);
    await produce(kafka.bootstrapServers, 'wm-in', ['a0', 'a1', 'a2'], 0);
    await produce(kafka.bootstrapServers, 'wm-in', ['b0'], 1);
    const source = KafkaSource.builder<string>().setBootstrapServers(kafka.bootstrapServers).setTopics('wm-in')
      .setBounded(OffsetsInitializer.latest()).setValueOnlyDeserializer(new SimpleStringSchema()).build();
    assert.equal(source.perSplitWatermarks, true);
    const events: string[] = [];
    const reader = source.createReader({ subtask: 0, parallelism: 1, splitStarted: (id) => events.push(`start ${id}`), splitFinished: (id) => events.push(`finish ${id}`) });
    reader.addSplits(source.initialSplits(1));
    const bySplit: Record<string, string[]> = {};
    try {
      await waitFor(() => reader.pollNext((v, _ts, split) => { (bySplit[split!] ??= []).push(v); }, 100) === 'end', 60_000, 'the bounded reader to end', 20);
    } finally {
      reader.close?.();
    }
    assert.deepEqual(bySplit, { 'wm-in-0': ['a0', 'a1', 'a2'], 'wm-in-1': ['b0'] });
    assert.deepEqual(events.filter((e) => e.startsWith('start')).sort(), ['start wm-in-0', 'start wm-in-1']);
    assert.deepEqual(events.filter((e) => e.startsWith('finish')).sort(), ['finish wm-in-0', 'finish wm-in-1']);
    for (const id of ['wm-in-0', 'wm-in-1']) assert.ok(events.indexOf(`start ${id}`) < events.indexOf(`finish ${id}`));
  });

  /** Records with explicit Kafka timestamps (the event time) into one partition. */
  async function produceAt(topic: string, partition: number, records: [string, number][]): Promise<void> {
    const { Producer, stringSerializers } = await import('@platformatic/kafka');
    const p = new Producer({ clientId: 'test-producer-ts', bootstrapBrokers: [kafka.bootstrapServers], serializers: stringSerializers });
    try {
      await p.send({ messages: records.map(([value, ts]) => ({ topic, partition, key: value, value, timestamp: BigInt(ts) })) });
    } finally {
      await p.close();
    }
  }

  it('per-partition watermarks through the CLI: an empty partition holds the windows back until it has data or is idle', async () => {
    for (const t of ['pw-in', 'pi-in']) {
      await createTopics(kafka.bootstrapServers, [t, t.replace('-in', '-out')], 2);
      await produceAt(t, 0, [['a', 10_000], ['a', 10_100], ['a', 11_500]]);
    }
    const w = ws();
    const run = await flink(w, ['run', '-d', '-p', '1', WINDOW_JOB, '--bootstrap', kafka.bootstrapServers, '--input', 'pw-in', '--output', 'pw-out'], { timeoutMs: 120_000 });
    assert.equal(run.exitCode, 0, run.stderr);
    const jobId = jobIdFrom(run.stdout);
    // Partition 0 read to its end (a checkpoint records it), then time for many watermark ticks: one generator for
    // the subtask would be at 11499 and fire [10000, 11000); partition 1 has no records and holds it back.
    await waitFor(() => {
      const chk = latestCheckpoint(w, jobId);
      return chk && stateEntries(chk, 'SourceReaderState', 'words').some((e) => (e.value as { id: string; offset: number }).id === 'pw-in-0' && (e.value as { offset: number }).offset === 3);
    }, 120_000, 'a checkpoint with partition 0 read to its end', 300);
    await new Promise((r) => setTimeout(r, 3000));
    assert.deepEqual(await readTopic(kafka.bootstrapServers, 'pw-out', 'read_uncommitted'), [], 'no window fired while partition 1 is behind');
    // Partition 1 moves to 20000: the watermark is now partition 0's (11499); [10000, 11000) fires, nothing later.
    await produceAt('pw-in', 1, [['b', 20_000]]);
    await waitFor(async () => (await readTopic(kafka.bootstrapServers, 'pw-out', 'read_uncommitted')).length > 0, 60_000, 'the first window', 300);
    await new Promise((r) => setTimeout(r, 2000));
    assert.deepEqual(await readTopic(kafka.bootstrapServers, 'pw-out', 'read_uncommitted'), ['a:2@10000']);
    await flink(w, ['cancel', jobId], { timeoutMs: 60_000 });

    // withIdleness: partition 1 goes idle and stops holding the watermark back, without any record of its own.
    // Partition 0 is kept active (records at 11600.., still inside the next window): as in Flink, a subtask
    // whose partitions all go idle together goes idle without advancing its watermark.
    const idle = await flink(w, ['run', '-d', '-p', '1', WINDOW_JOB, '--bootstrap', kafka.bootstrapServers, '--input', 'pi-in', '--output', 'pi-out', '--idle', '500'], { timeoutMs: 120_000 });
    assert.equal(idle.exitCode, 0, idle.stderr);
    const idleJob = jobIdFrom(idle.stdout);
    let tick = 0;
    await waitFor(async () => {
      if (tick < 300) await produceAt('pi-in', 0, [['a', 11_600 + tick++]]);
      return (await readTopic(kafka.bootstrapServers, 'pi-out', 'read_uncommitted')).length > 0;
    }, 120_000, 'the window with partition 1 idle', 200)
      .catch((e: Error) => { throw new Error(`${e.message}\n${readJobLog(w, idleJob).split('\n').slice(-30).join('\n')}`); });
    assert.deepEqual(await readTopic(kafka.bootstrapServers, 'pi-out', 'read_uncommitted'), ['a:2@10000']);
    await flink(w, ['cancel', idleJob], { timeoutMs: 60_000 });
  });

  it('examples/KafkaWordCount.ts --bounded: the README connector commands', async () => {
    await createTopics(kafka.bootstrapServers, ['lines', 'counts'], 2);
    await produce(kafka.bootstrapServers, 'lines', ['to be or not', 'to be']);
    const w = ws();
    const r = await flink(w, ['run', EXAMPLE, '--bootstrap', kafka.bootstrapServers, '--bounded'], { timeoutMs: 180_000 });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.deepEqual((await readTopic(kafka.bootstrapServers, 'counts', 'read_committed')).sort(), ['be,1', 'be,2', 'not,1', 'or,1', 'to,1', 'to,2']);
  });
  it('EXACTLY_ONCE and flink stop: the stop-with-savepoint commits the open transaction before the job ends', async () => {
    await createTopics(kafka.bootstrapServers, ['s-in', 's-out'], 2);
    await produce(kafka.bootstrapServers, 's-in', words(5000, 50, 11));
    const expected = expectedCounts(await readTopic(kafka.bootstrapServers, 's-in', 'read_uncommitted'));
    // No periodic checkpoint within the test: everything the job writes stays in its open transactions.
    const w = ws({ 'execution.checkpointing.interval': '10 min' });
    const run = await flink(w, ['run', '-d', '-p', '2', JOB, '--bootstrap', kafka.bootstrapServers, '--input', 's-in', '--output', 's-out', '--prefix', 'stop'], { timeoutMs: 120_000 });
    assert.equal(run.exitCode, 0, run.stderr);
    const jobId = jobIdFrom(run.stdout);
    await waitFor(async () => (await readTopic(kafka.bootstrapServers, 's-out', 'read_uncommitted')).length >= expected.length, 120_000, 'all output written (uncommitted)', 300);
    assert.equal((await readTopic(kafka.bootstrapServers, 's-out', 'read_committed')).length, 0, 'nothing is committed before a checkpoint');
    const stop = await flink(w, ['stop', '-p', w.savepointsDir, jobId], { timeoutMs: 120_000 });
    assert.equal(stop.exitCode, 0, stop.stderr);
    await waitForStatus(w, jobId, 'FINISHED', 60_000);
    assert.deepEqual((await readTopic(kafka.bootstrapServers, 's-out', 'read_committed')).sort(), expected);
  });
  it('KafkaSource: topic pattern, earliest/latest/timestamp/committedOffsets starting offsets, record timestamps as event time', async () => {
    const b = kafka.bootstrapServers;
    await createTopics(b, ['pat-a', 'pat-b', 'other'], 2);
    await produce(b, 'pat-a', ['a1', 'a2']);
    await produce(b, 'pat-b', ['b1']);
    await produce(b, 'other', ['o1']);
    const t0 = Date.now();
    const pattern = await readWith((x) => x.setBootstrapServers(b).setTopicPattern(/^pat-/).setGroupId('pattern-group'), 3);
    assert.deepEqual(pattern.values.sort(), ['a1', 'a2', 'b1']);
    assert.ok(pattern.timestamps.every((ts) => typeof ts === 'number' && ts > t0 - 120_000 && ts <= Date.now()), 'the Kafka record timestamp is the event time');
    // latest(): nothing of what was there at start.
    assert.deepEqual((await readWith((x) => x.setBootstrapServers(b).setTopics('pat-a').setStartingOffsets(OffsetsInitializer.latest()))).values, []);
    // timestamp(): only records at or after it.
    const cut = Date.now() + 1;
    await waitFor(() => Date.now() > cut, 5000, 'the clock to pass the cut');
    await produce(b, 'pat-a', ['a3']);
    assert.deepEqual((await readWith((x) => x.setBootstrapServers(b).setTopics('pat-a').setStartingOffsets(OffsetsInitializer.timestamp(cut)))).values, ['a3']);
    // committedOffsets(): the pattern reader committed its end offsets for pattern-group on checkpoint 1.
    await produce(b, 'pat-b', ['b2']);
    const committed = await readWith((x) => x.setBootstrapServers(b).setTopics('pat-a', 'pat-b').setGroupId('pattern-group').setStartingOffsets(OffsetsInitializer.committedOffsets()));
    assert.deepEqual(committed.values.sort(), ['a3', 'b2']);
    // No committed offsets and reset NONE: a clear error; EARLIEST: from the start.
    await assert.rejects(readWith((x) => x.setBootstrapServers(b).setTopics('other').setGroupId('fresh-group').setStartingOffsets(OffsetsInitializer.committedOffsets())), /No committed offset of group 'fresh-group'/);
    assert.deepEqual((await readWith((x) => x.setBootstrapServers(b).setTopics('other').setGroupId('fresh-group').setStartingOffsets(OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST)))).values, ['o1']);
  });
});
