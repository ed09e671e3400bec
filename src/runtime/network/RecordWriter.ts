import type { PartitionerKind } from '../../graph/StreamGraph.js';
import { computeOperatorIndexForKeyGroup, keyHash } from '../../state/KeyGroupRangeAssignment.js';
import type { ChannelEvent } from './events.js';
import type { Transport } from './Transport.js';

/** Records per batch: the unit of serialization, transfer and credit. */
export const BATCH_SIZE = 1024;
/** Batches a consumer in the same worker can take ahead of processing (Flink's buffers-per-channel). */
export const INITIAL_CREDITS = 4;
/**
 * The same for a consumer in another worker. Its returned credit is read only when the producer's worker ends
 * its current time slice (up to 5 ms), while 4 batches of 1024 records are about 4 ms of a keyed consumer's
 * work: with 4 the producer stalled for credit 2.4-7.5% of a p=2 run. In-flight data per remote channel is what
 * the link's delay needs (the bandwidth-delay product), as Flink adds floating buffers to its exclusive ones.
 */
export const REMOTE_CREDITS = 8;

/** A channel's credits before its consumer returns any. */
export function initialCredits(producerWorker: number, consumerWorker: number): number {
  return producerWorker === consumerWorker ? INITIAL_CREDITS : REMOTE_CREDITS;
}

/**
 * One batch of records with their event timestamps (NaN: none), as it travels between tasks. A hash-partitioned
 * batch also carries each record's key hash (`keyHash`), so that the keyed consumer does not hash the key again.
 */
export interface Batch {
  records: unknown[];
  timestamps?: Float64Array;
  keyHashes?: Uint32Array;
}

/** Records an overtaking barrier jumped over: persisted as output channel state (Flink's ResultSubpartition state). */
export type OvertakenRecords = Batch[];

type Queued = Batch | { event: ChannelEvent; sent?: (overtaken: OvertakenRecords) => void; timer?: NodeJS.Timeout };

/**
 * One producer→consumer channel with credit-based flow control: a batch is sent only against a
 * credit, which the consumer returns once it has processed a batch. Without credit, batches (and any
 * event behind them, to keep order) wait in the backlog, and the producing task stops taking input:
 * that is backpressure.
 */
export class OutputChannel {
  private pending: unknown[] = [];
  /** Event timestamps parallel to `pending`, created by the first record that has one (NaN: none). */
  private pendingTs?: number[];
  /** Key hashes parallel to `pending`, written in place: created by a hash writer's first record, and every one of its records has one. */
  private pendingHashes?: Uint32Array;
  private readonly backlog: Queued[] = [];
  private credits: number;
  /** Bytes serialized for the consumer so far (Flink's numBytesOut; 0 inside one slot). */
  bytesOut = 0;

  constructor(
    private readonly transport: Transport,
    readonly channelId: number,
    readonly targetWorker: number,
    private readonly onAvailable: () => void,
  ) {
    this.credits = initialCredits(transport.self, targetWorker);
    transport.registerOutput(channelId, { onCredit: (n) => this.onCredit(n) });
  }

  add(record: unknown, timestamp?: number, hash?: number): void {
    if (hash !== undefined) (this.pendingHashes ??= new Uint32Array(BATCH_SIZE))[this.pending.length] = hash;
    if (timestamp !== undefined) {
      if (!this.pendingTs) this.pendingTs = new Array<number>(this.pending.length).fill(NaN);
      this.pendingTs.push(timestamp);
    } else if (this.pendingTs) {
      this.pendingTs.push(NaN);
    }
    this.pending.push(record);
    if (this.pending.length >= BATCH_SIZE) this.flush();
  }

  flush(): void {
    if (this.pending.length === 0) return;
    const records = this.pending;
    const timestamps = this.pendingTs ? Float64Array.from(this.pendingTs) : undefined;
    // A copy of the scratch array: it is transferred with the batch, or waits in the backlog.
    const keyHashes = this.pendingHashes?.slice(0, records.length);
    this.pending = [];
    this.pendingTs = undefined;
    this.send({ records, timestamps, keyHashes });
  }

  /** Sends a batch against a credit, or queues it behind the backlog. */
  private send(b: Batch): void {
    if (this.credits > 0 && this.backlog.length === 0) {
      this.credits--;
      this.bytesOut += this.transport.sendBatch(this.targetWorker, this.channelId, b.records, b.timestamps, b.keyHashes);
    } else {
      this.backlog.push(b);
    }
  }

  sendEvent(event: ChannelEvent): void {
    this.flush();
    if (this.backlog.length === 0) this.transport.sendEvent(this.targetWorker, this.channelId, event);
    else this.backlog.push({ event });
  }

  /**
   * An unaligned barrier: sent at once, ahead of the backlog. Returns the records it overtook (pending ones
   * included), which the task stores with its checkpoint; they are still delivered, after the barrier.
   */
  sendPriorityEvent(event: ChannelEvent): OvertakenRecords {
    this.flush();
    const overtaken = this.backlog.flatMap((q) => ('records' in q ? [copyBatch(q)] : []));
    this.transport.sendEvent(this.targetWorker, this.channelId, event);
    return overtaken;
  }

  /**
   * An aligned barrier with an alignment timeout: it keeps its place, but if it still waits in the backlog
   * at `deadline` (epoch ms) it becomes a priority event. `sent` gets the records it overtook (none when it
   * left in order).
   */
  sendEventWithTimeout(event: ChannelEvent, deadline: number, sent: (overtaken: OvertakenRecords) => void): void {
    this.flush();
    if (this.backlog.length === 0) {
      this.transport.sendEvent(this.targetWorker, this.channelId, event);
      return sent([]);
    }
    const q: Queued = { event, sent };
    q.timer = setTimeout(() => {
      const at = this.backlog.indexOf(q);
      if (at < 0) return;
      this.backlog.splice(at, 1);
      const overtaken = this.backlog.slice(0, at).flatMap((b) => ('records' in b ? [copyBatch(b)] : []));
      // Downstream must treat it as overtaking too: what it jumped over is in this task's snapshot.
      this.transport.sendEvent(this.targetWorker, this.channelId, event.type === 'barrier' ? { ...event, unaligned: true } : event);
      sent(overtaken);
      if (this.backlog.length === 0) this.onAvailable();
    }, Math.max(0, deadline - Date.now()));
    this.backlog.push(q);
  }

  get isAvailable(): boolean {
    return this.backlog.length === 0;
  }

  /** Channel state of a restored unaligned checkpoint: re-sent before anything new (without key hashes: they are not stored). */
  restoreOvertaken(batches: OvertakenRecords): void {
    // Timestamps copied: the sent buffer is transferred, and the restored one may share its buffer with others.
    for (const b of batches) this.send({ records: b.records, timestamps: b.timestamps?.slice() });
  }

  /** A task that ends or fails drops its timers. */
  dispose(): void {
    for (const q of this.backlog) if ('event' in q) clearTimeout(q.timer);
  }

  private onCredit(n: number): void {
    this.credits += n;
    while (this.backlog.length > 0) {
      const q = this.backlog[0];
      if ('event' in q) {
        this.transport.sendEvent(this.targetWorker, this.channelId, q.event);
        clearTimeout(q.timer);
        q.sent?.([]);
      } else {
        if (this.credits === 0) break;
        this.credits--;
        this.bytesOut += this.transport.sendBatch(this.targetWorker, this.channelId, q.records, q.timestamps, q.keyHashes);
      }
      this.backlog.shift();
    }
    if (this.backlog.length === 0) this.onAvailable();
  }
}

/** A copy the sender cannot change or detach: timestamp buffers are transferred when a batch is sent. Key hashes are not channel state. */
function copyBatch(b: Batch): Batch {
  return b.timestamps ? { records: b.records.slice(), timestamps: b.timestamps.slice() } : { records: b.records.slice() };
}

/** Routes a task's output records to the channels of one outgoing edge, by partitioner. */
export class RecordWriter {
  private next = 0;

  constructor(
    private readonly partitioner: PartitionerKind,
    readonly channels: OutputChannel[],
    private readonly keySelector: ((v: unknown) => unknown) | undefined,
    private readonly maxParallelism: number,
    startChannel: number,
  ) {
    this.next = startChannel % channels.length;
  }

  emit(record: unknown, timestamp?: number): void {
    const chs = this.channels;
    switch (this.partitioner) {
      case 'forward':
        chs[0].add(record, timestamp);
        return;
      case 'rebalance':
        chs[this.next].add(record, timestamp);
        this.next = this.next + 1 === chs.length ? 0 : this.next + 1;
        return;
      case 'hash': {
        const h = keyHash(this.keySelector!(record));
        chs[computeOperatorIndexForKeyGroup(this.maxParallelism, chs.length, h % this.maxParallelism)].add(record, timestamp, h);
        return;
      }
      case 'broadcast':
        for (const c of chs) c.add(record, timestamp);
        return;
    }
  }

  broadcastEvent(e: ChannelEvent): void {
    for (const c of this.channels) c.sendEvent(e);
  }

  dispose(): void {
    for (const c of this.channels) c.dispose();
  }

  flush(): void {
    for (const c of this.channels) c.flush();
  }

  get isAvailable(): boolean {
    for (const c of this.channels) if (!c.isAvailable) return false;
    return true;
  }
}
