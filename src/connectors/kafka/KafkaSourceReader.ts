/**
 * The KafkaSource's reader in a subtask. A background fetch loop (Fetch requests to each partition's
 * leader, raw record batches) fills a bounded queue of decoded chunks; pollNext, called by the task between
 * barriers, emits from that queue and advances each split's offset, so the offsets a snapshot records are
 * exactly those of the records emitted before its barrier. A full queue pauses fetching (backpressure).
 */
import type { Consumer, ClusterMetadata } from '@platformatic/kafka';

/** The parts of a Fetch response this reader reads (the client's type is not exported). */
interface FetchResponse {
  responses: {
    topicId: string;
    partitions: {
      partitionIndex: number;
      errorCode: number;
      abortedTransactions?: { producerId: bigint; firstOffset: bigint }[];
      records?: {
        firstOffset: bigint; lastOffsetDelta: number; attributes: number; firstTimestamp: bigint; producerId: bigint;
        records: { offsetDelta: number; timestampDelta: bigint; key: Buffer | null; value: Buffer | null }[];
      }[];
    }[];
  }[];
}
import type { SourceReader, SourceReaderContext } from '../../api/sources.js';
import { faultPoint } from '../../core/FaultInjection.js';
import { FlinkError } from '../../core/FlinkError.js';
import { brokersOf, loadKafka, splitOwner } from './KafkaClients.js';
import type { KafkaDiscoverySplit, KafkaPartitionSplit, KafkaSourceConfig, KafkaSourceSplit } from './KafkaSourceSplit.js';
import { OffsetsInitializer } from './OffsetsInitializer.js';
import type { ConsumerRecord } from './serialization.js';

/**
 * Records and bytes (of keys and values as fetched) decoded ahead of the task at most, per subtask: fetching
 * pauses beyond either, so a slow task holds at most this plus one fetch response (PARTITION_MAX_BYTES per
 * partition) in memory.
 */
export const MAX_QUEUED_RECORDS = 20_000;
export const MAX_QUEUED_BYTES = 16 << 20;
const FETCH_MAX_WAIT_MS = 250;
const PARTITION_MAX_BYTES = 1 << 20;
const IS_TRANSACTIONAL = 1 << 4;
const IS_CONTROL = 1 << 5;

interface Chunk<T> {
  key: string;
  values: T[];
  timestamps: number[];
  /** Offset of each value's record (several values may share one). */
  offsets: number[];
  /** Fetch position after this chunk (past control and aborted records too). */
  end: number;
  next: number;
  /** Key and value bytes of the chunk's records. */
  bytes: number;
}

interface PartitionFetch {
  split: KafkaPartitionSplit;
  /** Next offset to fetch (ahead of split.offset by what is queued). */
  position: number;
  /** Aborted transactions announced by the broker and not yet passed (read_committed). */
  aborted: { producerId: bigint; firstOffset: bigint }[];
  abortedProducers: Set<bigint>;
}

export class KafkaSourceReader<T> implements SourceReader<T, KafkaSourceSplit> {
  private readonly splits = new Map<string, KafkaPartitionSplit>();
  /**
   * Splits of a bounded source read to their end, kept in the split state: a restore may rediscover this
   * subtask's partitions (when another subtask was still discovering at the checkpoint), and a partition
   * that is done must not then count as new and be read again from its starting offset.
   */
  private readonly finished = new Map<string, KafkaPartitionSplit>();
  private readonly fetches = new Map<string, PartitionFetch>();
  private discovery: KafkaDiscoverySplit[] = [];
  private readonly queue: Chunk<T>[] = [];
  private queued = 0;
  private queuedBytes = 0;
  /** Fetch requests sent (the backpressure test watches it stop). */
  fetchRequests = 0;
  private error?: Error;
  private consumer?: Consumer<Buffer, Buffer, Buffer, Buffer>;
  private commitPool?: import('@platformatic/kafka').ConnectionPool;
  /** Fetch requests go out on connections of their own (see fetchOnce). */
  private fetchPool?: import('@platformatic/kafka').ConnectionPool;
  private k?: typeof import('@platformatic/kafka');
  private runDone: Promise<void> = Promise.resolve();
  private running = false;
  private closed = false;
  private wakeFetcher?: () => void;
  /** Offsets snapshotted per checkpoint, committed to the group when it completes. */
  private readonly toCommit = new Map<number, { topic: string; partition: number; offset: number }[]>();
  private readonly isolationLevel: number;
  /** Splits announced to the context (per-split watermarks); `splitsChanged` when new ones may be unannounced. */
  private readonly announced = new Set<string>();
  private splitsChanged = false;

  constructor(private readonly config: KafkaSourceConfig<T>, private readonly ctx: SourceReaderContext) {
    this.isolationLevel = (config.properties['isolation.level'] ?? 'read_uncommitted') === 'read_committed' ? 1 : 0;
  }

  addSplits(splits: KafkaSourceSplit[]): void {
    for (const s of splits) {
      if ('discover' in s) this.discovery.push(s);
      else this.splits.set(s.id, { ...s });
    }
    this.splitsChanged = true;
    if (!this.running) {
      this.running = true;
      this.runDone = this.run().catch((e) => {
        if (!this.closed) this.error = withCause(e, this.config.bootstrapServers);
      });
    }
  }

  pollNext(emit: (value: T, timestamp?: number, splitId?: string) => void, budget: number): number | 'end' {
    if (this.error) throw this.error;
    if (this.splitsChanged) this.announceSplits();
    let emitted = 0;
    while (emitted < budget && this.queue.length > 0) {
      const c = this.queue[0];
      const split = this.splits.get(c.key);
      if (!split) {
        this.queue.shift();
        this.queued -= c.values.length - c.next;
        this.queuedBytes -= c.bytes;
        continue;
      }
      const n = Math.min(budget - emitted, c.values.length - c.next);
      for (let i = c.next; i < c.next + n; i++) emit(c.values[i], c.timestamps[i], c.key);
      c.next += n;
      emitted += n;
      this.queued -= n;
      if (c.next >= c.values.length) {
        split.offset = c.end;
        this.queue.shift();
        this.queuedBytes -= c.bytes;
        if (split.stoppingOffset !== undefined && split.offset >= split.stoppingOffset) this.finishSplit(split);
      } else {
        split.offset = c.offsets[c.next - 1] + 1;
        // Values of one record share its offset: resume after the record only when all were emitted.
        if (c.offsets[c.next] === c.offsets[c.next - 1]) split.offset = c.offsets[c.next - 1];
      }
    }
    if (this.queued < MAX_QUEUED_RECORDS / 2 && this.queuedBytes < MAX_QUEUED_BYTES / 2) this.wakeFetcher?.();
    if (emitted > 0) return 0;
    if (this.running || this.discovery.length > 0 || this.splits.size > 0 || this.queue.length > 0) {
      if (this.config.stopping && this.discovery.length === 0 && this.splits.size === 0 && this.queue.length === 0) return 'end';
      // No partition (more subtasks than partitions): only discovery may bring one, no need to poll often.
      return this.splits.size === 0 && this.discovery.length === 0 ? 50 : 5;
    }
    return this.config.stopping ? 'end' : 50;
  }

  /** Records and bytes fetched and not yet emitted. */
  get buffered(): { records: number; bytes: number } {
    return { records: this.queued, bytes: this.queuedBytes };
  }

  snapshotState(checkpointId: number): KafkaSourceSplit[] {
    const parts = [...this.splits.values()].map((s) => ({ ...s }));
    if (this.config.groupId && this.config.properties['commit.offsets.on.checkpoint'] !== 'false') {
      this.toCommit.set(checkpointId, parts.filter((p) => p.offset >= 0).map((p) => ({ topic: p.topic, partition: p.partition, offset: p.offset })));
    }
    return [...this.discovery.map((d) => ({ ...d })), ...parts, ...[...this.finished.values()].map((f) => ({ ...f }))];
  }

  /** Offsets go to the consumer group for monitoring (lag), as Flink does; failures do not fail the job. */
  notifyCheckpointComplete(checkpointId: number): void {
    const offsets = this.toCommit.get(checkpointId);
    for (const id of this.toCommit.keys()) if (id <= checkpointId) this.toCommit.delete(id);
    if (!offsets?.length || !this.consumer) return;
    this.commitOffsets(offsets).catch(() => {});
  }

  /**
   * OffsetCommit as a consumer outside the group (generation -1, empty member id), on its own connection: the
   * client's commit() needs a group membership (and a null member id makes the broker drop the connection).
   */
  private async commitOffsets(offsets: { topic: string; partition: number; offset: number }[]): Promise<void> {
    const k = await loadKafka();
    const brokers = brokersOf(this.config.bootstrapServers).map((b) => ({ host: b.slice(0, b.lastIndexOf(':')), port: Number(b.slice(b.lastIndexOf(':') + 1)) }));
    this.commitPool ??= new k.ConnectionPool(`flink-ts-commit-${this.ctx.subtask}`, {});
    const groupId = this.config.groupId!;
    const any = await this.commitPool.getFirstAvailable(brokers);
    // The first group of a fresh cluster creates __consumer_offsets: the coordinator is "not available" meanwhile.
    let c;
    for (let attempt = 0; attempt < 30 && !this.closed; attempt++) {
      // The client throws on a coordinator error code: retried here like "not available".
      const found = await k.findCoordinatorV6.api.async(any, 0, [groupId]).catch(() => undefined);
      c = found?.coordinators.find((x) => x.key === groupId);
      if (c && c.errorCode === 0) break;
      if (c && ![14, 15, 16].includes(c.errorCode)) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    if (!c || c.errorCode !== 0) return;
    const conn = await this.commitPool.get({ host: c.host, port: c.port });
    const byTopic = new Map<string, { partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number; committedMetadata: null }[]>();
    for (const o of offsets) byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), { partitionIndex: o.partition, committedOffset: BigInt(o.offset), committedLeaderEpoch: -1, committedMetadata: null }]);
    await k.offsetCommitV8.api.async(conn, groupId, -1, '', null, [...byTopic].map(([name, partitions]) => ({ name, partitions })));
  }

  close(): void {
    this.closed = true;
    this.wakeFetcher?.();
    // After the fetch loop has seen `closed` (at most one fetch wait): closing under a request in flight
    // makes the client throw from its callbacks.
    void this.runDone.finally(() => {
      this.consumer?.close(true, () => {});
      this.commitPool?.close(() => {});
      this.fetchPool?.close(() => {});
    });
  }

  // ---------------------------------------------------------------- background

  private finishSplit(split: KafkaPartitionSplit): void {
    this.finished.set(split.id, { ...split });
    this.splits.delete(split.id);
    this.fetches.delete(split.id);
    if (this.announced.delete(split.id)) this.ctx.splitFinished?.(split.id);
  }

  /** Per-split watermarks: every partition this reader owns has its own output from when it is assigned. */
  private announceSplits(): void {
    this.splitsChanged = false;
    for (const id of this.splits.keys()) {
      if (!this.announced.has(id)) {
        this.announced.add(id);
        this.ctx.splitStarted?.(id);
      }
    }
  }

  private async run(): Promise<void> {
    const c = this.config;
    const k = (this.k = await loadKafka());
    const { Consumer } = k;
    this.fetchPool = new k.ConnectionPool(`flink-ts-fetch-${this.ctx.subtask}`, {});
    this.consumer = new Consumer({
      clientId: `flink-ts-source-${this.ctx.subtask}`,
      groupId: c.groupId ?? `flink-ts-${process.pid}-${this.ctx.subtask}`,
      bootstrapBrokers: brokersOf(c.bootstrapServers),
      timeout: Number(c.properties['request.timeout.ms'] ?? 30_000),
      retries: 10,
      retryDelay: 500,
    });
    const interval = this.discoveryInterval();
    let nextDiscovery = Date.now() + interval;
    while (!this.closed) {
      if (this.discovery.length > 0) await this.discover(this.discovery.map((d) => d.discover), false);
      else if (interval > 0 && Date.now() >= nextDiscovery) {
        await this.discover([{ owner: this.ctx.subtask, of: this.ctx.parallelism }], true);
        nextDiscovery = Date.now() + interval;
      }
      await this.resolveStartingOffsets();
      if (this.fetches.size === 0) {
        if (this.config.stopping || (this.splits.size === 0 && interval <= 0)) break; // nothing (more) to read
        await new Promise((r) => setTimeout(r, Math.min(FETCH_MAX_WAIT_MS * 4, Math.max(10, nextDiscovery - Date.now()))));
        continue;
      }
      if (this.queued >= MAX_QUEUED_RECORDS || this.queuedBytes >= MAX_QUEUED_BYTES) {
        await new Promise<void>((r) => { this.wakeFetcher = r; });
        this.wakeFetcher = undefined;
        continue;
      }
      await this.fetchOnce();
    }
    this.running = false;
  }

  private async metadata(topics: string[]): Promise<ClusterMetadata> {
    return this.consumer!.metadata({ topics, forceUpdate: true });
  }

  private async topicNames(): Promise<string[]> {
    if (this.config.topics) return this.config.topics;
    const md = await this.consumer!.metadata({ topics: [] as string[], forceUpdate: true }).catch(() => undefined);
    let names = md ? [...md.topics.keys()] : [];
    if (names.length === 0) {
      const { Admin } = await loadKafka();
      const admin = new Admin({ clientId: 'flink-ts-discovery', bootstrapBrokers: brokersOf(this.config.bootstrapServers) });
      try {
        names = await admin.listTopics();
      } finally {
        await admin.close().catch(() => {});
      }
    }
    return names.filter((t) => !t.startsWith('__') && this.config.topicPattern!.test(t)).sort();
  }

  /**
   * The partitions of `shares` (Flink's getSplitOwner assignment) that this reader does not read yet become
   * partition splits. Every partition is always read by its splitOwner (restores reassign by it too, see
   * KafkaSource.assignSplits), so a partition this subtask owns and does not read is new. Partitions found
   * by the periodic discovery (`later`) start at the earliest offset, as in Flink: they were created after the
   * job started.
   */
  private async discover(shares: { owner: number; of: number }[], later: boolean): Promise<void> {
    await faultPoint('kafka.discover', shares.map((d) => `discover-${d.owner}-of-${d.of}`).join(', '), this.ctx.subtask);
    const topics = await this.topicNames();
    const md = topics.length ? await this.metadata(topics) : undefined;
    const found: KafkaPartitionSplit[] = [];
    for (const d of shares) {
      for (const t of topics) {
        const tm = md!.topics.get(t);
        if (!tm) {
          if (later) continue; // deleted meanwhile: its splits fail or idle on their own
          throw new FlinkError('not-found', `Kafka topic '${t}' not found on the brokers at ${this.config.bootstrapServers}`);
        }
        for (let p = 0; p < tm.partitionsCount; p++) {
          if (splitOwner(t, p, d.of) === d.owner) found.push({ id: `${t}-${p}`, topic: t, partition: p, offset: -1, ...(later && { startFromEarliest: true }) });
        }
      }
    }
    for (const s of found) if (!this.splits.has(s.id) && !this.finished.has(s.id)) this.splits.set(s.id, s);
    if (!later) this.discovery = [];
    this.splitsChanged = true;
  }

  /** partition.discovery.interval.ms: Flink's default 5 minutes for unbounded sources; off when bounded or <= 0. */
  private discoveryInterval(): number {
    if (this.config.stopping) return 0;
    const v = this.config.properties['partition.discovery.interval.ms'];
    if (v === undefined) return 300_000;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new FlinkError('config', `Invalid value '${v}' for partition.discovery.interval.ms: expected milliseconds (<= 0 disables discovery)`);
    return n;
  }

  private async listOffsets(init: OffsetsInitializer, splits: KafkaPartitionSplit[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const byTopic = new Map<string, number[]>();
    for (const s of splits) byTopic.set(s.topic, [...(byTopic.get(s.topic) ?? []), s.partition]);
    const topics = [...byTopic.keys()];
    const partitions = Object.fromEntries(byTopic);
    const spec = init.spec;
    const list = async (timestamp: bigint): Promise<Map<string, bigint[]>> => {
      const r = await this.consumer!.listOffsets({ topics, partitions, timestamp, isolationLevel: this.isolationLevel });
      return r;
    };
    if (spec.kind === 'committed') {
      const committed = await this.consumer!.listCommittedOffsets({ topics: topics.map((topic) => ({ topic, partitions: byTopic.get(topic)! })) });
      const fallback = spec.reset === 'NONE' ? undefined : await list(spec.reset === 'EARLIEST' ? -2n : -1n);
      for (const s of splits) {
        const o = committed.get(s.topic)?.[s.partition];
        if (o !== undefined && o >= 0n) out.set(s.id, Number(o));
        else if (fallback) out.set(s.id, Number(fallback.get(s.topic)![s.partition]));
        else throw new FlinkError('not-found', `No committed offset of group '${this.config.groupId}' for ${s.topic}-${s.partition} and the reset strategy is NONE`);
      }
      return out;
    }
    if (spec.kind === 'timestamp') {
      const r = await this.consumer!.listOffsetsWithTimestamps({ topics, partitions, timestamp: BigInt(spec.timestamp), isolationLevel: this.isolationLevel });
      const latest = await list(-1n);
      for (const s of splits) {
        const o = r.get(s.topic)?.get(s.partition)?.offset;
        out.set(s.id, o !== undefined && o >= 0n ? Number(o) : Number(latest.get(s.topic)![s.partition]));
      }
      return out;
    }
    const r = await list(spec.kind === 'earliest' ? -2n : -1n);
    for (const s of splits) out.set(s.id, Number(r.get(s.topic)![s.partition]));
    return out;
  }

  /** New splits get their starting (and stopping) offsets; splits already at their end finish. */
  private async resolveStartingOffsets(): Promise<void> {
    for (const later of [false, true]) {
      const fresh = [...this.splits.values()].filter((s) => s.offset < 0 && !!s.startFromEarliest === later);
      if (fresh.length === 0) continue;
      const start = await this.listOffsets(later ? OffsetsInitializer.earliest() : this.config.starting, fresh);
      for (const s of fresh) {
        s.offset = start.get(s.id)!;
        delete s.startFromEarliest;
      }
    }
    const unbounded = [...this.splits.values()].filter((s) => this.config.stopping && s.stoppingOffset === undefined);
    if (unbounded.length > 0) {
      const stop = await this.listOffsets(this.config.stopping!, unbounded);
      for (const s of unbounded) s.stoppingOffset = stop.get(s.id)!;
    }
    for (const s of this.splits.values()) {
      if (s.stoppingOffset !== undefined && s.offset >= s.stoppingOffset && !this.queue.some((c) => c.key === s.id)) {
        this.finishSplit(s);
        continue;
      }
      if (!this.fetches.has(s.id)) this.fetches.set(s.id, { split: s, position: s.offset, aborted: [], abortedProducers: new Set() });
    }
  }

  private async fetchOnce(): Promise<void> {
    const topics = [...new Set([...this.fetches.values()].map((f) => f.split.topic))];
    const md = await this.consumer!.metadata({ topics });
    const byLeader = new Map<number, PartitionFetch[]>();
    for (const f of this.fetches.values()) {
      if (f.split.stoppingOffset !== undefined && f.position >= f.split.stoppingOffset) continue;
      const leader = md.topics.get(f.split.topic)?.partitions[f.split.partition]?.leader;
      if (leader === undefined || leader < 0) continue;
      byLeader.set(leader, [...(byLeader.get(leader) ?? []), f]);
    }
    if (byLeader.size === 0) {
      await new Promise((r) => setTimeout(r, FETCH_MAX_WAIT_MS));
      return;
    }
    await Promise.all([...byLeader].map(async ([node, fs]) => {
      const byTopic = new Map<string, PartitionFetch[]>();
      for (const f of fs) byTopic.set(f.split.topic, [...(byTopic.get(f.split.topic) ?? []), f]);
      const request = [...byTopic].map(([topic, list]) => ({
        topicId: md.topics.get(topic)!.id,
        partitions: list.map((f) => ({ partition: f.split.partition, currentLeaderEpoch: -1, fetchOffset: BigInt(f.position), lastFetchedEpoch: -1, partitionMaxBytes: PARTITION_MAX_BYTES })),
      }));
      // The raw Fetch API, not consumer.fetch(): its read_committed filter throws from a callback (and so never
      // answers) when a response holds the abort marker of a transaction listed in an earlier response. This
      // reader filters aborted transactions itself (decode).
      const broker = md.brokers.get(node);
      if (!broker) return;
      const conn = await this.fetchPool!.get({ host: broker.host, port: broker.port });
      this.fetchRequests++;
      const res: FetchResponse = await this.k!.fetchV17.api.async(conn, FETCH_MAX_WAIT_MS, 1, 16 << 20, this.isolationLevel, 0, -1, request, [], '');
      this.onFetched(res, md, byTopic);
    }));
  }

  private onFetched(res: FetchResponse, md: ClusterMetadata, byTopic: Map<string, PartitionFetch[]>): void {
    if (this.closed) return;
    const nameOf = new Map([...md.topics].map(([name, t]) => [t.id, name]));
    for (const tr of res.responses) {
      const topic = nameOf.get(tr.topicId);
      if (!topic) continue;
      for (const pr of tr.partitions) {
        const f = byTopic.get(topic)?.find((x) => x.split.partition === pr.partitionIndex);
        if (!f || !this.fetches.has(f.split.id)) continue;
        if (pr.errorCode !== 0) {
          if (pr.errorCode === 1) throw new FlinkError('restore', `Offset ${f.position} is out of range for ${topic}-${pr.partitionIndex} (records deleted by retention?)`);
          continue; // leadership changes and the like: retried with fresh metadata
        }
        for (const a of pr.abortedTransactions ?? []) f.aborted.push({ producerId: a.producerId, firstOffset: a.firstOffset });
        f.aborted.sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : 1));
        this.decode(f, pr.records ?? []);
      }
    }
  }

  /** Record batches into one chunk, skipping control batches and (read_committed) aborted transactions. */
  private decode(f: PartitionFetch, batches: NonNullable<FetchResponse['responses'][number]['partitions'][number]['records']>): void {
    const { split } = f;
    const chunk: Chunk<T> = { key: split.id, values: [], timestamps: [], offsets: [], end: f.position, next: 0, bytes: 0 };
    const stop = split.stoppingOffset ?? Infinity;
    const out = { collect: (v: T) => { chunk.values.push(v); chunk.timestamps.push(current.timestamp); chunk.offsets.push(current.offset); } };
    let current: ConsumerRecord = { topic: split.topic, partition: split.partition, offset: 0, timestamp: 0, key: null, value: null };
    for (const b of batches) {
      const last = Number(b.firstOffset) + b.lastOffsetDelta;
      if (last < f.position) continue; // a batch from before the requested offset
      // Aborted transactions whose first offset we reached: their producer's batches are skipped until its marker.
      while (f.aborted.length > 0 && f.aborted[0].firstOffset <= b.firstOffset + BigInt(b.lastOffsetDelta)) f.abortedProducers.add(f.aborted.shift()!.producerId);
      if (b.attributes & IS_CONTROL) {
        if (b.records[0]?.key && b.records[0].key.readInt16BE(2) === 0) f.abortedProducers.delete(b.producerId);
        chunk.end = Math.min(last + 1, stop);
        continue;
      }
      const skip = this.isolationLevel === 1 && (b.attributes & IS_TRANSACTIONAL) !== 0 && f.abortedProducers.has(b.producerId);
      for (const r of b.records) {
        const offset = Number(b.firstOffset) + r.offsetDelta;
        if (offset < f.position || offset >= stop) continue;
        chunk.end = offset + 1;
        if (skip) continue;
        chunk.bytes += (r.key?.length ?? 0) + (r.value?.length ?? 0);
        current = {
          topic: split.topic, partition: split.partition, offset,
          timestamp: Number(b.firstTimestamp + r.timestampDelta), key: r.key, value: r.value,
        };
        try {
          this.config.deserializer.deserialize(current, out);
        } catch (e) {
          throw new FlinkError('job-failed', `Failed to deserialize the Kafka record at ${split.topic}-${split.partition} offset ${offset}: ${(e as Error).message}`, { cause: e });
        }
      }
      if (!skip) chunk.end = Math.max(chunk.end, Math.min(last + 1, stop));
      else chunk.end = Math.min(last + 1, stop);
    }
    if (chunk.end === f.position) return;
    f.position = chunk.end;
    this.queue.push(chunk);
    this.queued += chunk.values.length;
    this.queuedBytes += chunk.bytes;
  }
}

/** The client's aggregate errors name only the operation: add the innermost reason and the brokers. */
function withCause(e: unknown, bootstrapServers: string): Error {
  if (e instanceof FlinkError) return e;
  const err = e instanceof Error ? e : new Error(String(e));
  let inner: unknown = err;
  for (let i = 0; i < 5; i++) {
    const next = (inner as { errors?: unknown[] }).errors?.at(-1) ?? (inner as { cause?: unknown }).cause;
    if (!next) break;
    inner = next;
  }
  const why = inner !== err ? `: ${(inner as Error).message ?? String(inner)}` : '';
  return new Error(`Kafka source (bootstrap.servers ${bootstrapServers}): ${err.message.replace(/\.$/, '')}${why}`, { cause: err });
}
