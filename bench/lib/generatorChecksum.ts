import { bid, keyedRecord, selectedAuction, toEuro, type Bid } from './nexmark.js';

/**
 * Checksums of the first n records of every benchmark input and query output, computed exactly as
 * jvm/flink-bench's Generators.checksums does: FNV-1a over 32-bit words. Equal checksums mean the Java peer
 * processes the same records as the flink-ts jobs.
 */
export interface GeneratorChecksums {
  records: number;
  keys: number;
  keyed: number;
  bids: number;
  q1: number;
  q2: number;
}

const FNV_OFFSET = 0x811c9dc5;

function fnv(h: number, word: number): number {
  return Math.imul(h ^ word, 0x01000193);
}

function fnvBid(h: number, b: Bid): number {
  h = fnv(h, b.auction);
  h = fnv(h, b.bidder);
  h = fnv(h, b.price);
  h = fnv(h, b.dateTime % 2 ** 32); // ToInt32 of the low word, as Java's (int) of a long
  return fnv(h, Math.floor(b.dateTime / 2 ** 32));
}

export function generatorChecksums(n: number, keys: number): GeneratorChecksums {
  let keyed = FNV_OFFSET;
  let bids = FNV_OFFSET;
  let q1 = FNV_OFFSET;
  let q2 = FNV_OFFSET;
  for (let i = 0; i < n; i++) {
    const r = keyedRecord(i, keys);
    for (let c = 0; c < r.key.length; c++) keyed = fnv(keyed, r.key.charCodeAt(c));
    keyed = fnv(keyed, r.sum);
    const b = bid(i);
    bids = fnvBid(bids, b);
    q1 = fnvBid(q1, toEuro(b));
    if (selectedAuction(b)) q2 = fnvBid(q2, b);
  }
  return { records: n, keys, keyed: keyed >>> 0, bids: bids >>> 0, q1: q1 >>> 0, q2: q2 >>> 0 };
}
