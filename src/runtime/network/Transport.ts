import type { MessagePort } from 'node:worker_threads';
import { decodeBatch, encodeBatch, transferables, wireBytes, type WireBatch } from './BatchCodec.js';
import type { ChannelEvent } from './events.js';

/** One message on the wire between two workers. */
interface WireMessage {
  c: number; // channel id
  d?: WireBatch; // a batch of records, encoded (BatchCodec)
  r?: unknown[]; // a batch handed over by reference (same worker)
  t?: Float64Array; // event timestamps of the batch's records, parallel to them (NaN: none)
  h?: Uint32Array; // key hashes of the batch's records, parallel to them (hash edges)
  e?: ChannelEvent;
  cr?: number; // credits returned to the producer
}

export interface InputChannelListener {
  /**
   * `bytes`: the batch's serialized size when it came from another slot (0 when handed over by reference);
   * `keyHashes`: each record's key hash, when a hash partitioner sent it.
   */
  onBatch(records: unknown[], timestamps: Float64Array | undefined, bytes: number, keyHashes?: Uint32Array): void;
  onEvent(e: ChannelEvent): void;
}

export interface OutputChannelListener {
  onCredit(n: number): void;
}

/**
 * Moves batches between subtasks. Subtasks in the same worker hand batches over by reference (like
 * chaining, no copy); across workers a batch is encoded once (BatchCodec: columns for flat records) and
 * its buffers transferred, one postMessage per batch. A MessagePort per worker pair keeps every channel in order.
 */
export class Transport {
  private readonly inputs = new Map<number, InputChannelListener>();
  private readonly outputs = new Map<number, OutputChannelListener>();
  /** Messages for channels whose subtask is not deployed yet (workers deploy concurrently). */
  private readonly early = new Map<number, WireMessage[]>();

  constructor(readonly self: number, private readonly peers: Map<number, MessagePort>) {
    for (const port of peers.values()) port.on('message', (m: WireMessage) => this.receive(m));
  }

  registerInput(channel: number, l: InputChannelListener): void {
    this.inputs.set(channel, l);
    this.replay(channel);
  }

  registerOutput(channel: number, l: OutputChannelListener): void {
    this.outputs.set(channel, l);
    this.replay(channel);
  }

  private replay(channel: number): void {
    const msgs = this.early.get(channel);
    if (!msgs) return;
    this.early.delete(channel);
    for (const m of msgs) this.receive(m);
  }

  /** Returns the bytes serialized for the batch (0 inside this worker: handed over by reference). */
  sendBatch(worker: number, channel: number, records: unknown[], timestamps?: Float64Array, keyHashes?: Uint32Array): number {
    if (worker === this.self) {
      this.local({ c: channel, r: records, t: timestamps, h: keyHashes });
      return 0;
    }
    const d = encodeBatch(records);
    // Timestamps travel as their own typed array, transferred like the records' buffers (no per-record wrapper).
    const transfer = transferables(d);
    if (timestamps) transfer.push(timestamps.buffer as ArrayBuffer);
    if (keyHashes) transfer.push(keyHashes.buffer as ArrayBuffer);
    const bytes = wireBytes(d); // read before the transfer detaches the buffers
    this.peers.get(worker)!.postMessage({ c: channel, d, t: timestamps, h: keyHashes } satisfies WireMessage, transfer);
    return bytes;
  }

  sendEvent(worker: number, channel: number, e: ChannelEvent): void {
    if (worker === this.self) return this.local({ c: channel, e });
    this.peers.get(worker)!.postMessage({ c: channel, e } satisfies WireMessage);
  }

  sendCredit(worker: number, channel: number, n: number): void {
    if (worker === this.self) return this.local({ c: channel, cr: n });
    this.peers.get(worker)!.postMessage({ c: channel, cr: n } satisfies WireMessage);
  }

  /** Same-worker delivery: asynchronous like a port, so a producer never re-enters its consumer. */
  private local(m: WireMessage): void {
    queueMicrotask(() => this.receive(m));
  }

  private receive(m: WireMessage): void {
    const listener = m.cr !== undefined ? this.outputs.get(m.c) : this.inputs.get(m.c);
    if (!listener) {
      (this.early.get(m.c) ?? this.early.set(m.c, []).get(m.c)!).push(m);
      return;
    }
    if (m.cr !== undefined) (listener as OutputChannelListener).onCredit(m.cr);
    else if (m.r) (listener as InputChannelListener).onBatch(m.r, m.t, 0, m.h);
    else if (m.d) (listener as InputChannelListener).onBatch(decodeBatch(m.d), m.t, wireBytes(m.d), m.h);
    else if (m.e) (listener as InputChannelListener).onEvent(m.e);
  }

  close(): void {
    for (const p of this.peers.values()) p.close();
  }
}
