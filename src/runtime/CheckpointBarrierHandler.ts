import { encode } from '../core/Serializer.js';
import type { ChannelEvent } from './network/events.js';
import type { CheckpointBarrier } from '../checkpoint/CheckpointOptions.js';
import type { Batch } from './network/RecordWriter.js';

/** One input channel of a task, as its barrier handler sees it. */
export interface InputChannel {
  id: number;
  fromWorker: number;
  /** 1, or 2 for the second input of a two-input head operator. */
  input: 1 | 2;
  queue: QueueItem[];
  /** Aligning: records behind this channel's barrier wait until every channel has delivered it. */
  blocked: boolean;
  finished: boolean;
  /** EndOfData arrived (FLIP-147): no more records, but the channel still carries barriers until its EndOfPartition. */
  endOfData: boolean;
}

/** `replayed`: restored channel state; it returns no credit, since no producer sent it. */
export type QueueItem = (Batch & { replayed?: boolean }) | { event: ChannelEvent };

/** In-flight records of one input channel at an unaligned checkpoint (batches serialized when captured). */
export interface InputChannelState {
  /** Index of the channel in the task's input list (stable for one job graph and parallelism). */
  channel: number;
  batches: Uint8Array[];
}

/** A snapshot whose synchronous part is taken; it is written and acknowledged on complete(). */
export interface SnapshotInProgress {
  complete(inputState?: InputChannelState[]): void;
}

export interface BarrierHandlerHost {
  readonly inputs: readonly InputChannel[];
  readonly mode: 'EXACTLY_ONCE' | 'AT_LEAST_ONCE';
  /** Snapshots the operators and forwards the barrier (overtaking the output backlog when unaligned). */
  snapshot(b: CheckpointBarrier, unaligned: boolean, firstBarrierAt: number): SnapshotInProgress;
  /** `subsumed`: a newer checkpoint overtook it here, which is no failure of the checkpoint. */
  decline(checkpointId: number, reason: string, subsumed?: true): void;
  schedule(): void;
}

interface Alignment {
  barrier: CheckpointBarrier;
  /** Channels whose barrier has not arrived yet. */
  pending: Set<InputChannel>;
  /** When the first barrier arrived (epoch ms): start delay before it, alignment after it. */
  firstBarrierAt: number;
  /** Set once the checkpoint runs unaligned: the snapshot taken, and the in-flight data collected so far. */
  unaligned?: { snapshot: SnapshotInProgress; captured: Map<InputChannel, Uint8Array[]> };
}

/**
 * Flink's SingleCheckpointBarrierHandler (exactly-once: aligned, unaligned, and aligned with a timeout) and
 * CheckpointBarrierTracker (at-least-once), for one task.
 *
 * Aligned: when a channel delivers the barrier it is blocked (its later records are held) until the barrier
 * came on every channel; then the task snapshots and forwards the barrier. A finished channel counts as
 * barriered.
 *
 * Unaligned: the first barrier to *arrive* (it is handled on arrival, ahead of the queued records) triggers
 * the snapshot at once. Everything queued on channels that have not delivered the barrier, and whatever
 * arrives on them until it does, is in-flight data: it is still processed, and also stored with the
 * checkpoint, which is acknowledged when the last barrier has arrived. An aligned barrier with
 * `alignedTimeoutMs` switches to this once the timeout has passed since the checkpoint started.
 *
 * At-least-once: nothing is blocked; each checkpoint counts its barriers on its own (several may be in
 * flight) and snapshots when the last one arrives.
 */
export class CheckpointBarrierHandler {
  /** Highest checkpoint snapshotted (or given up) here: its late or repeated barriers are dropped. */
  private lastDone = 0;
  private readonly aborted = new Set<number>();
  private cur?: Alignment;
  private readonly counting = new Map<number, { barrier: CheckpointBarrier; seen: Set<InputChannel>; firstBarrierAt: number }>();
  private timeout?: { id: number; timer: NodeJS.Timeout };

  constructor(private readonly host: BarrierHandlerHost) {}

  /** The checkpoint being aligned, if any (for tests and inspection). */
  get aligningCheckpoint(): number | undefined {
    return this.cur?.barrier.checkpointId;
  }

  get isUnaligned(): boolean {
    return !!this.cur?.unaligned;
  }

  /** A checkpoint this task already snapshotted, gave up or saw aborted. */
  isStale(id: number): boolean {
    return id <= this.lastDone || this.aborted.has(id);
  }

  /** The task snapshotted `id` on a trigger of the JobManager (every input finished): late barriers of it are dropped. */
  triggered(id: number): void {
    this.done(id);
  }

  /**
   * Called for every batch or event as it arrives from the transport, before it is queued. Returns true
   * when the event was consumed here (an overtaking barrier), so it must not be queued.
   */
  onArrival(ch: InputChannel, item: QueueItem): boolean {
    if (this.host.mode !== 'EXACTLY_ONCE') return false;
    const cur = this.cur;
    if ('records' in item) {
      if (cur?.unaligned && cur.pending.has(ch)) this.capture(ch, item);
      return false;
    }
    const e = item.event;
    if (e.type === 'eop') {
      // In order behind all of the channel's data: nothing more to capture from it.
      if (cur?.unaligned && cur.pending.delete(ch)) this.maybeCompleteUnaligned();
      return false;
    }
    if (e.type !== 'barrier' || this.isStale(e.checkpointId)) return false;
    const id = e.checkpointId;
    if (e.unaligned || (cur?.unaligned && cur.barrier.checkpointId === id)) {
      if (cur && id < cur.barrier.checkpointId) {
        // An older checkpoint overtaken by a newer one here: it can no longer complete.
        this.aborted.add(id);
        this.host.decline(id, `Checkpoint ${id} subsumed by ${cur.barrier.checkpointId} before its alignment completed.`, true);
        return true;
      }
      if (!cur || id > cur.barrier.checkpointId) this.start(e);
      if (!this.cur!.unaligned) this.switchToUnaligned();
      if (this.cur && this.cur.pending.delete(ch)) this.maybeCompleteUnaligned();
      return true;
    }
    // An aligned barrier that may time out: the clock runs from the checkpoint's start.
    if (e.alignedTimeoutMs !== undefined && (!this.timeout || this.timeout.id < id)) {
      clearTimeout(this.timeout?.timer);
      const timer = setTimeout(() => this.alignmentTimedOut(e), Math.max(0, e.timestamp + e.alignedTimeoutMs - Date.now()));
      this.timeout = { id, timer };
    }
    return false;
  }

  /** A barrier reached the head of its channel's queue. */
  processBarrier(ch: InputChannel, b: CheckpointBarrier): void {
    if (this.isStale(b.checkpointId)) return; // late barrier of an aborted, subsumed or finished checkpoint
    if (this.host.mode === 'AT_LEAST_ONCE') return this.track(ch, b);
    if (this.cur && b.checkpointId > this.cur.barrier.checkpointId) this.subsumeCurrent(b.checkpointId);
    if (!this.cur) this.start(b);
    const cur = this.cur!;
    if (cur.unaligned) {
      // Only reachable for a barrier queued before the switch on a channel the switch did not scan.
      if (cur.pending.delete(ch)) this.maybeCompleteUnaligned();
      return;
    }
    ch.blocked = true;
    cur.pending.delete(ch);
    this.maybeCompleteAligned();
  }

  /** End of partition reached the head of its queue: the channel counts as barriered from now on. */
  processEndOfPartition(ch: InputChannel): void {
    ch.finished = true;
    if (this.host.mode === 'AT_LEAST_ONCE') {
      for (const t of [...this.counting.values()]) this.maybeCompleteTracked(t.barrier);
      return;
    }
    if (!this.cur) return;
    this.cur.pending.delete(ch);
    if (this.cur.unaligned) this.maybeCompleteUnaligned();
    else this.maybeCompleteAligned();
  }

  /** The coordinator gave up on a checkpoint (timeout, decline elsewhere, subsumed). */
  abort(id: number): void {
    this.aborted.add(id);
    if (this.aborted.size > 64) this.aborted.delete(Math.min(...this.aborted));
    this.counting.delete(id);
    if (this.timeout?.id === id) {
      clearTimeout(this.timeout.timer);
      this.timeout = undefined;
    }
    if (this.cur?.barrier.checkpointId === id) {
      this.cur = undefined;
      this.unblockAll();
      this.host.schedule();
    }
  }

  dispose(): void {
    clearTimeout(this.timeout?.timer);
    this.timeout = undefined;
  }

  // ------------------------------------------------------------------ exactly-once

  private start(b: CheckpointBarrier): void {
    if (this.cur) this.subsumeCurrent(b.checkpointId);
    this.cur = { barrier: b, pending: new Set(this.host.inputs.filter((c) => !c.finished)), firstBarrierAt: Date.now() };
  }

  /** A newer checkpoint's barrier overtook an unfinished one: the older cannot complete here any more. */
  private subsumeCurrent(newer: number): void {
    const old = this.cur!;
    this.cur = undefined;
    this.aborted.add(old.barrier.checkpointId);
    this.unblockAll();
    this.host.decline(old.barrier.checkpointId, `Checkpoint ${old.barrier.checkpointId} subsumed by ${newer} before its alignment completed.`, true);
  }

  private maybeCompleteAligned(): void {
    const cur = this.cur;
    if (!cur || cur.pending.size > 0) return;
    this.cur = undefined;
    this.done(cur.barrier.checkpointId);
    this.unblockAll();
    this.host.snapshot(cur.barrier, false, cur.firstBarrierAt).complete();
    this.host.schedule();
  }

  private alignmentTimedOut(b: CheckpointBarrier): void {
    if (this.timeout?.id !== b.checkpointId) return;
    this.timeout = undefined;
    if (this.isStale(b.checkpointId)) return;
    if (this.cur && this.cur.barrier.checkpointId > b.checkpointId) return;
    if (!this.cur || this.cur.barrier.checkpointId < b.checkpointId) this.start(b);
    if (!this.cur!.unaligned) this.switchToUnaligned();
  }

  /**
   * Snapshot now; channels already barriered are released (what they hold is after the barrier); on the
   * others, the queued records up to their barrier are in-flight data.
   */
  private switchToUnaligned(): void {
    const cur = this.cur!;
    const id = cur.barrier.checkpointId;
    if (this.timeout?.id === id) {
      clearTimeout(this.timeout.timer);
      this.timeout = undefined;
    }
    const barrier: CheckpointBarrier = { ...cur.barrier, unaligned: true };
    this.unblockAll();
    cur.unaligned = { snapshot: this.host.snapshot(barrier, true, cur.firstBarrierAt), captured: new Map() };
    for (const ch of [...cur.pending]) {
      for (let i = 0; i < ch.queue.length; i++) {
        const item = ch.queue[i];
        if ('records' in item) {
          this.capture(ch, item);
          continue;
        }
        if (item.event.type === 'eop') {
          cur.pending.delete(ch);
          break;
        }
        if (item.event.type === 'barrier' && item.event.checkpointId === id) {
          ch.queue.splice(i, 1); // its work is done: the snapshot is taken
          cur.pending.delete(ch);
          break;
        }
      }
    }
    this.maybeCompleteUnaligned();
    this.host.schedule();
  }

  private capture(ch: InputChannel, batch: Batch): void {
    const cap = this.cur!.unaligned!.captured;
    const list = cap.get(ch) ?? cap.set(ch, []).get(ch)!;
    list.push(encode(batch.timestamps ? { records: batch.records, timestamps: batch.timestamps } : { records: batch.records }));
  }

  private maybeCompleteUnaligned(): void {
    const cur = this.cur;
    if (!cur?.unaligned || cur.pending.size > 0) return;
    this.cur = undefined;
    this.done(cur.barrier.checkpointId);
    const state: InputChannelState[] = [];
    for (const [ch, batches] of cur.unaligned.captured) state.push({ channel: this.host.inputs.indexOf(ch), batches });
    cur.unaligned.snapshot.complete(state.sort((a, b) => a.channel - b.channel));
  }

  private done(id: number): void {
    this.lastDone = Math.max(this.lastDone, id);
    if (this.timeout && this.timeout.id <= id) {
      clearTimeout(this.timeout.timer);
      this.timeout = undefined;
    }
  }

  private unblockAll(): void {
    for (const c of this.host.inputs) c.blocked = false;
  }

  // ------------------------------------------------------------------ at-least-once

  private track(ch: InputChannel, b: CheckpointBarrier): void {
    const t = this.counting.get(b.checkpointId) ?? this.counting.set(b.checkpointId, { barrier: b, seen: new Set(), firstBarrierAt: Date.now() }).get(b.checkpointId)!;
    t.seen.add(ch);
    this.maybeCompleteTracked(b);
  }

  private maybeCompleteTracked(b: CheckpointBarrier): void {
    const t = this.counting.get(b.checkpointId);
    if (!t || !this.host.inputs.every((c) => c.finished || t.seen.has(c))) return;
    this.counting.delete(b.checkpointId);
    // Barriers keep their order on every channel, so an older one still open here can never complete.
    for (const id of [...this.counting.keys()]) {
      if (id < b.checkpointId) {
        this.counting.delete(id);
        this.aborted.add(id);
      }
    }
    this.done(b.checkpointId);
    this.host.snapshot(b, false, t.firstBarrierAt).complete();
  }
}
