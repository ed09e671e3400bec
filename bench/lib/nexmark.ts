/**
 * A Nexmark-style bid stream, generated from the record's index so that the job and the hand-written
 * loop produce exactly the same records. Field names follow Nexmark's Bid (dateTime in epoch ms).
 */
export interface Bid {
  auction: number;
  bidder: number;
  price: number;
  dateTime: number;
  /** Emission time (performance.timeOrigin-based ms), only in latency runs. */
  emitted?: number;
}

const BASE_TIME = Date.UTC(2026, 0, 1);

/**
 * A 32-bit integer hash (Murmur3's finalizer) so that fields look random but are reproducible. It stays an
 * int32 and is read as unsigned (`>>> 0`) where it is used: an unsigned value kept in a variable is a double to
 * V8, and `%` on doubles is a slow floating-point remainder (the generator ran 2-3x slower that way).
 */
function mix(i: number): number {
  let h = Math.imul(i ^ (i >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

export function bid(i: number): Bid {
  const h = mix(i);
  return { auction: 1000 + (h >>> 0) % 10_000, bidder: 1000 + (h >>> 7) % 100_000, price: 100 + (h >>> 11), dateTime: BASE_TIME + i };
}

export function timedBid(i: number): Bid {
  const b = bid(i);
  b.emitted = performance.timeOrigin + performance.now();
  return b;
}

/** Nexmark q1: the price in euros. */
export function toEuro(b: Bid): Bid {
  return { auction: b.auction, bidder: b.bidder, price: Math.floor(b.price * 0.908), dateTime: b.dateTime, emitted: b.emitted };
}

/** Nexmark q2: the bids of a few auctions. */
export function selectedAuction(b: Bid): boolean {
  return b.auction % 123 === 0;
}

export type Query = 'q0' | 'q1' | 'q2';

export interface KeyedRecord {
  key: string;
  sum: number;
  emitted?: number;
}

/** The keyed-aggregation scenario's input: one per record, over `keys` distinct string keys. */
export function keyedRecord(i: number, keys: number, timed = false): KeyedRecord {
  return { key: `key-${i % keys}`, sum: 1, emitted: timed ? performance.timeOrigin + performance.now() : undefined };
}
