/**
 * Flink's own connectors built from flink-ts' descriptors (toFlinkConnector() → jvm/flink-runner's Connectors), on
 * the real Flink 2.2.1 session cluster and a real Kafka broker. The jobs are the runner JAR's Java check job
 * (ConnectorsCheckJob: no JavaScript in between), so each test pins down the Java half of a mapping and checks
 * its raw records with the JavaScript half (decode/encode): a file sink writes each raw record as base64, the
 * test decodes it with the source's own decode; a file of base64 lines feeds a sink the sink's own encode wrote.
 * The last test is Kafka → keyed count → Kafka EXACTLY_ONCE across savepoint, cancel and restore on the cluster,
 * compared with test/jobs/KafkaCountJob.ts on the mini-cluster over the same input.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flinkCli, flinkSkip, startFlinkCluster, type FlinkCluster } from '../support/flink.js';
import { kafkaUnavailable, startKafka, type KafkaBroker } from '../support/kafka.js';
import { serviceSkipReason, waitUntil } from '../support/services.js';
import { createTopics, expectedCounts, produce, readTopic } from '../support/kafka-data.js';
import { cleanup, createWorkspace, flink, ROOT, type Workspace } from './helpers.js';
import { DataGeneratorSource, NumberSequenceSource, TextFileSource } from '../../src/api/sources.js';
import { FileSink } from '../../src/api/sinks.js';
import type { FlinkSourceConnector } from '../../src/core/FlinkConnector.js';
import { KafkaSource } from '../../src/connectors/kafka/KafkaSource.js';
import { DeliveryGuarantee, KafkaRecordSerializationSchema, KafkaSink } from '../../src/connectors/kafka/KafkaSink.js';
import { defaultRunnerJar, ensureRunnerJar } from '../../src/flink/RunnerSubmission.js';
import { OffsetsInitializer } from '../../src/connectors/kafka/OffsetsInitializer.js';
import { SimpleStringSchema } from '../../src/connectors/kafka/serialization.js';

const RUNNER_JAR = defaultRunnerJar();
const CHECK_JOB = 'dev.flinkts.runner.connectors.ConnectorsCheckJob';
const COUNT_JOB = join(ROOT, 'test', 'jobs', 'KafkaCountJob.ts');
const skip = flinkSkip() ?? serviceSkipReason('Kafka', kafkaUnavailable());

/** Words as test/e2e/kafka.test.ts makes them: deterministic, `distinct` different ones. */
function words(count: number, distinct: number, seed: number): string[] {
  let x = seed;
  return Array.from({ length: count }, () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return `w${x % distinct}`;
  });
}

/** The lines of a file sink's finished part files (Flink's in-progress and pending files are hidden: .part-…). */
function finishedLines(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.startsWith('part-')).sort()
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').slice(0, -1)); // every line ends with '\n'; an empty record is an empty line
}

/** What a source's raw records decode to, from a file sink that wrote them as base64 lines. */
function decoded<T>(c: FlinkSourceConnector<T>, dir: string): T[] {
  const out: T[] = [];
  for (const line of finishedLines(dir)) c.decode!(Buffer.from(line, 'base64'), (v) => out.push(v));
  return out;
}

describe("Flink's own connectors from flink-ts descriptors, on a real Flink cluster and Kafka broker", { skip, timeout: 900_000 }, () => {
  let kafka: KafkaBroker;
  let cluster: FlinkCluster;
  let dir: string;
  const workspaces: Workspace[] = [];
  /** test/jobs/KafkaCountJob.ts' committed output on the mini-cluster over c-in (set by the Java Kafka test). */
  let miniOutput: string[] | undefined;
  const log = (l: string) => process.stderr.write(`# ${l}\n`);

  before(async () => {
    ensureRunnerJar(RUNNER_JAR, log);
    dir = mkdtempSync(join(tmpdir(), 'flink-connectors-e2e-'));
    // Both are kept as they come up, so that `after` stops the one that started when the other failed.
    const [k, c] = await Promise.allSettled([startKafka({ log }).then((b) => (kafka = b)), startFlinkCluster({ log }).then((f) => (cluster = f))]);
    for (const r of [k, c]) if (r.status === 'rejected') throw r.reason;
  });
  after(async () => {
    for (const w of workspaces) await cleanup(w);
    await Promise.all([kafka?.stop(), cluster?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the check job attached (bounded sources) or detached (-d); returns the job id. */
  async function check(source: { descriptor: object }, sink: { descriptor: object }, transform: string, extra: string[] = [], detached = false, savepoint?: string): Promise<string> {
    const args = ['run', '-m', cluster.address, ...(detached ? ['-d'] : []), ...(savepoint ? ['-s', savepoint] : []), '-c', CHECK_JOB, RUNNER_JAR,
      '--source', JSON.stringify(source.descriptor), '--sink', JSON.stringify(sink.descriptor), '--transform', transform, '--checkpoint-interval', '500', ...extra];
    const r = await flinkCli(args, { timeoutMs: 240_000 });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const id = /JobID ([0-9a-f]{32})/.exec(r.stdout)?.[1];
    assert.ok(id, r.stdout);
    return id;
  }

  async function jobState(id: string): Promise<string> {
    return ((await (await fetch(`${cluster.rest}/jobs/${id}`)).json()) as { state: string }).state;
  }

  it("DataGeneratorSource and fromSequence → FileSink: Flink's generator indexes, decoded by the job's own generator, give every record once", async () => {
    const gen = new DataGeneratorSource((i) => `rec-${i * 3}`, 500).toFlinkConnector();
    const out = join(dir, 'gen-out');
    await check(gen, FileSink.forRowFormat(out).build().toFlinkConnector(), 'base64', ['--parallelism', '2']);
    assert.deepEqual(decoded(gen, out).sort(), Array.from({ length: 500 }, (_, i) => `rec-${i * 3}`).sort());

    const seq = new NumberSequenceSource(-3, 96).toFlinkConnector();
    const seqOut = join(dir, 'seq-out');
    await check(seq, FileSink.forRowFormat(seqOut).build().toFlinkConnector(), 'base64', ['--parallelism', '3']);
    assert.deepEqual(decoded(seq, seqOut).sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i - 3));
    // Straight under the base path (BasePathBucketAssigner, no date buckets). Not one file per subtask: Flink's
    // enumerator hands the generator's splits to whichever reader asks first.
    const entries = readdirSync(seqOut, { withFileTypes: true });
    assert.ok(entries.some((e) => e.isFile() && e.name.startsWith('part-')), 'part files under the base path');
    assert.deepEqual(entries.filter((e) => e.isDirectory()).map((e) => e.name), [], 'no bucket folders');
  });

  it('readTextFile → FileSink: lines split as on the mini-cluster (\\r\\n, empty lines, a last line without \\n, UTF-8)', async () => {
    const inDir = join(dir, 'text-in');
    mkdirSync(inDir);
    writeFileSync(join(inDir, 'a.txt'), 'one\r\ntwo\n\ngrüße\nlast');
    writeFileSync(join(inDir, 'b.txt'), 'b1\nb2\n');
    writeFileSync(join(inDir, '.hidden'), 'never\n');
    const src = new TextFileSource(inDir).toFlinkConnector();
    const out = join(dir, 'text-out');
    await check(src, FileSink.forRowFormat(out).build().toFlinkConnector(), 'base64');
    assert.deepEqual(decoded(src, out).sort(), ['one', 'two', '', 'grüße', 'last', 'b1', 'b2'].sort());
  });

  it("KafkaSource → FileSink: the job's record deserializer sees each record's topic, partition, offset, timestamp, key and value", async () => {
    await createTopics(kafka.bootstrapServers, ['k-in'], 3);
    const input = words(300, 40, 5);
    const t0 = Date.now();
    await produce(kafka.bootstrapServers, 'k-in', input);
    const src = KafkaSource.builder<string>().setBootstrapServers(kafka.bootstrapServers).setTopics('k-in').setBounded(OffsetsInitializer.latest())
      .setDeserializer({ deserialize: (r, o) => o.collect(JSON.stringify([r.topic, r.partition, r.offset, r.timestamp, r.key?.toString() ?? null, r.value?.toString() ?? null])) })
      .build().toFlinkConnector();
    const out = join(dir, 'kafka-file-out');
    await check(src, FileSink.forRowFormat(out).build().toFlinkConnector(), 'base64', ['--parallelism', '2']);
    const records = decoded(src, out).map((s) => JSON.parse(s) as [string, number, number, number, string, string]);
    assert.deepEqual(records.map((r) => r[5]).sort(), [...input].sort());
    for (const [topic, , , ts, key, value] of records) {
      assert.equal(topic, 'k-in');
      assert.equal(key, value, 'produce() keys each word by itself');
      assert.ok(ts >= t0 - 60_000 && ts <= Date.now(), `timestamp ${ts} is the record's create time`);
    }
    for (let p = 0; p < 3; p++) {
      const offsets = records.filter((r) => r[1] === p).map((r) => r[2]).sort((a, b) => a - b);
      assert.deepEqual(offsets, offsets.map((_, i) => i), `partition ${p}: offsets 0..n-1, each once`);
    }
  });

  it('FileSource → KafkaSink EXACTLY_ONCE: raw records from the sink\'s own encode land as key and value, committed', async () => {
    await createTopics(kafka.bootstrapServers, ['f-out'], 2);
    const sink = KafkaSink.builder<[string, number]>().setBootstrapServers(kafka.bootstrapServers)
      .setRecordSerializer(KafkaRecordSerializationSchema.builder<[string, number]>().setTopic('f-out')
        .setKeySerializationSchema(([w]) => w).setValueSerializationSchema(([w, n]) => `${w}=${n}`).build())
      .setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE).setTransactionalIdPrefix('f-out').build().toFlinkConnector();
    const values: [string, number][] = Array.from({ length: 200 }, (_, i) => [`k${i % 7}`, i]);
    const inFile = join(dir, 'encoded.txt');
    writeFileSync(inFile, values.map((v) => Buffer.from(sink.encode!(v)).toString('base64')).join('\n') + '\n');
    await check(new TextFileSource(inFile).toFlinkConnector(), sink, 'unbase64');
    assert.deepEqual((await readTopic(kafka.bootstrapServers, 'f-out', 'read_committed')).sort(), values.map(([w, n]) => `${w}=${n}`).sort());
  });

  it('Kafka → keyed count → Kafka EXACTLY_ONCE on the cluster: stop-with-savepoint, restore, cancel (aborted), restore again: read_committed equals the mini-cluster job\'s output, read_uncommitted shows the aborted duplicates', async () => {
    const bootstrap = kafka.bootstrapServers;
    await createTopics(bootstrap, ['c-in', 'c-flink', 'c-mini'], 3);
    const first = words(2000, 60, 11);
    await produce(bootstrap, 'c-in', first);
    // The same source and sink settings as test/jobs/KafkaCountJob.ts (earliest, group, EXACTLY_ONCE, prefix).
    const source = KafkaSource.builder<string>().setBootstrapServers(bootstrap).setTopics('c-in').setGroupId('c-flink')
      .setStartingOffsets(OffsetsInitializer.earliest()).setValueOnlyDeserializer(new SimpleStringSchema()).build().toFlinkConnector();
    const sink = KafkaSink.builder<[string, number]>().setBootstrapServers(bootstrap)
      .setRecordSerializer(KafkaRecordSerializationSchema.builder<[string, number]>().setTopic('c-flink')
        .setKeySerializationSchema(([w]) => w).setValueSerializationSchema(([w, n]) => `${w}:${n}`).build())
      .setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE).setTransactionalIdPrefix('c-flink').build().toFlinkConnector();
    const uncommitted = () => readTopic(bootstrap, 'c-flink', 'read_uncommitted');
    const committed = () => readTopic(bootstrap, 'c-flink', 'read_committed');

    // Flink commits Kafka transactions on checkpoints and on stop-with-savepoint, not on a plain savepoint
    // (intermediate savepoints commit no side effects since Flink 1.15). Checkpoints are rare (10 min) in
    // phases 1 and 2, so what is committed is what the stop's savepoint committed.
    const rare = ['--parallelism', '2', '--checkpoint-interval', '600000'];
    const job1 = await check(source, sink, 'kafka-count', rare, true);
    await waitUntil(Date.now() + 180_000, async () => (await uncommitted()).length >= first.length, () => 'phase 1 did not write its output');
    const stop = await flinkCli(['stop', '-m', cluster.address, job1], { timeoutMs: 180_000 });
    assert.equal(stop.code, 0, stop.stderr);
    const savepoint = /Savepoint completed\. Path: (\S+)/.exec(stop.stdout)?.[1];
    assert.ok(savepoint, stop.stdout);
    await waitUntil(Date.now() + 60_000, async () => (await committed()).length >= first.length, () => 'stop-with-savepoint did not commit');
    assert.deepEqual((await committed()).sort(), expectedCounts(first), 'stop-with-savepoint committed everything before it, once');

    // Phase 2: restored, more input; its output goes into an open transaction, which the cancel aborts.
    const second = words(1000, 60, 12);
    await produce(bootstrap, 'c-in', second);
    const job2 = await check(source, sink, 'kafka-count', rare, true, savepoint);
    const expected = expectedCounts([...first, ...second]);
    await waitUntil(Date.now() + 180_000, async () => (await uncommitted()).length >= expected.length, () => 'phase 2 did not write its output');
    assert.equal((await committed()).length, first.length, 'nothing of phase 2 is committed');
    const cancel = await flinkCli(['cancel', '-m', cluster.address, job2], { timeoutMs: 120_000 });
    assert.equal(cancel.code, 0, cancel.stderr);
    await waitUntil(Date.now() + 60_000, async () => (await jobState(job2)) === 'CANCELED', () => 'job 2 not canceled');

    // Phase 3: the same savepoint again. Kafka offsets come from Flink's split state (not earliest, not the
    // group's committed offsets), counts from keyed state; phase 2's transaction stays aborted.
    const job3 = await check(source, sink, 'kafka-count', ['--parallelism', '2'], true, savepoint);
    await waitUntil(Date.now() + 180_000, async () => (await committed()).length >= expected.length, () => 'phase 3 did not commit its output');
    await new Promise((r) => setTimeout(r, 1500)); // more checkpoints: nothing more may come
    const onCluster = (await committed()).sort();
    assert.deepEqual(onCluster, expected, 'read_committed: each count once, none lost, none repeated');
    const seen = await uncommitted();
    log(`read_uncommitted sees ${seen.length} records, read_committed ${onCluster.length}`);
    assert.equal(seen.length - onCluster.length, expected.length - first.length, "read_uncommitted also sees phase 2's aborted output: every count after the savepoint twice");
    await flinkCli(['cancel', '-m', cluster.address, job3], { timeoutMs: 120_000 });

    // The same job on the mini-cluster (test/jobs/KafkaCountJob.ts, bounded over the same input).
    const ws = createWorkspace();
    workspaces.push(ws);
    const mini = await flink(ws, ['run', COUNT_JOB, '--bootstrap', bootstrap, '--input', 'c-in', '--output', 'c-mini', '--bounded', '--prefix', 'c-mini', '--group', 'c-mini'], { timeoutMs: 240_000 });
    assert.equal(mini.exitCode, 0, mini.stderr);
    miniOutput = (await readTopic(bootstrap, 'c-mini', 'read_committed')).sort();
    assert.deepEqual(onCluster, miniOutput, 'the cluster and the mini-cluster committed the same records');
  });

  it('test/jobs/KafkaCountJob.ts itself on the cluster (flink run -m, the runner): Flink\'s KafkaSource and KafkaSink EXACTLY_ONCE around the JavaScript count commit what the mini-cluster commits', async (t) => {
    if (!miniOutput) return t.skip('needs the mini-cluster output of the test before');
    const bootstrap = kafka.bootstrapServers;
    await createTopics(bootstrap, ['c-runner'], 3);
    const ws = createWorkspace();
    workspaces.push(ws);
    const r = await flink(ws, ['run', '-m', cluster.address, COUNT_JOB, '--bootstrap', bootstrap, '--input', 'c-in', '--output', 'c-runner', '--bounded', '--prefix', 'c-runner', '--group', 'c-runner'], { timeoutMs: 300_000 });
    assert.equal(r.exitCode, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /Job with JobID [0-9a-f]{32} has finished\./);
    const committed = (await readTopic(bootstrap, 'c-runner', 'read_committed')).sort();
    assert.deepEqual(committed, miniOutput, 'read_committed on the cluster equals the mini-cluster\'s');
    const uncommitted = await readTopic(bootstrap, 'c-runner', 'read_uncommitted');
    assert.ok(uncommitted.length >= committed.length);
    log(`runner job: read_committed ${committed.length}, read_uncommitted ${uncommitted.length}`);
  });

  it('KafkaCountJob.ts through the runner across stop-with-savepoint, restore, cancel (aborted) and restore again: Kafka offsets in Flink\'s savepoint, read_committed exact and equal to the mini-cluster\'s, read_uncommitted sees the aborted duplicates', async () => {
    const bootstrap = kafka.bootstrapServers;
    await createTopics(bootstrap, ['r-in', 'r-out'], 3);
    // The same input as c-in (same seeds), so the mini-cluster's output over c-in is this job's expected output.
    const first = words(2000, 60, 11);
    const second = words(1000, 60, 12);
    const expected = expectedCounts([...first, ...second]);
    if (miniOutput) assert.deepEqual(miniOutput, expected);
    await produce(bootstrap, 'r-in', first);
    const ws = createWorkspace();
    workspaces.push(ws);
    const job = ['--bootstrap', bootstrap, '--input', 'r-in', '--output', 'r-out', '--prefix', 'r-runner', '--group', 'r-runner'];
    const submit = async (interval: string, savepoint?: string): Promise<string> => {
      const r = await flink(ws, ['run', '-d', '-m', cluster.address, '-D', `execution.checkpointing.interval=${interval}`, '-p', '2', ...(savepoint ? ['-s', savepoint] : []), COUNT_JOB, ...job], { timeoutMs: 240_000 });
      assert.equal(r.exitCode, 0, `${r.stdout}\n${r.stderr}`);
      const id = /\b([0-9a-f]{32})\b/.exec(r.stdout)?.[1];
      assert.ok(id, r.stdout);
      return id;
    };
    const uncommitted = () => readTopic(bootstrap, 'r-out', 'read_uncommitted');
    const committed = () => readTopic(bootstrap, 'r-out', 'read_committed');

    const job1 = await submit('10min');
    await waitUntil(Date.now() + 240_000, async () => (await uncommitted()).length >= first.length, () => 'phase 1 did not write its output');
    const stop = await flinkCli(['stop', '-m', cluster.address, job1], { timeoutMs: 180_000 });
    assert.equal(stop.code, 0, stop.stderr);
    const savepoint = /Savepoint completed\. Path: (?:file:)?(\S+)/.exec(stop.stdout)?.[1];
    assert.ok(savepoint, stop.stdout);
    await waitUntil(Date.now() + 60_000, async () => (await committed()).length >= first.length, () => 'stop-with-savepoint did not commit');
    assert.deepEqual((await committed()).sort(), expectedCounts(first));

    await produce(bootstrap, 'r-in', second);
    const job2 = await submit('10min', savepoint);
    await waitUntil(Date.now() + 240_000, async () => (await uncommitted()).length >= expected.length, () => 'phase 2 did not write its output');
    assert.equal((await committed()).length, first.length, 'nothing of phase 2 is committed');
    const cancel = await flinkCli(['cancel', '-m', cluster.address, job2], { timeoutMs: 120_000 });
    assert.equal(cancel.code, 0, cancel.stderr);
    await waitUntil(Date.now() + 60_000, async () => (await jobState(job2)) === 'CANCELED', () => 'job 2 not canceled');

    const job3 = await submit('500ms', savepoint);
    await waitUntil(Date.now() + 240_000, async () => (await committed()).length >= expected.length, () => 'phase 3 did not commit its output');
    await new Promise((r) => setTimeout(r, 1500));
    const onCluster = (await committed()).sort();
    assert.deepEqual(onCluster, expected, 'read_committed: each count once, none lost, none repeated (offsets and counts from the savepoint)');
    const seen = await uncommitted();
    log(`runner job across restores: read_uncommitted ${seen.length}, read_committed ${onCluster.length}`);
    assert.equal(seen.length - onCluster.length, expected.length - first.length, "read_uncommitted also sees phase 2's aborted output");
    await flinkCli(['cancel', '-m', cluster.address, job3], { timeoutMs: 120_000 });
  });
});
