import { bid, keyedRecord, selectedAuction, toEuro, type KeyedRecord, type Query } from './nexmark.js';

/**
 * The limit each scenario is compared with: the same computation as a plain single-threaded loop,
 * with no framework, no threads and no serialization. Returns records per second.
 */
export function nexmarkLoop(query: Query, records: number): number {
  return query === 'q0' ? q0Loop(records) : query === 'q1' ? q1Loop(records) : q2Loop(records);
}

// One loop per query, so that each is as tight as a hand-written program would be (no per-record branch).
function q0Loop(records: number): number {
  const t0 = performance.now();
  let checksum = 0;
  for (let i = 0; i < records; i++) checksum += bid(i).price;
  return done(t0, records, checksum);
}

function q1Loop(records: number): number {
  const t0 = performance.now();
  let checksum = 0;
  for (let i = 0; i < records; i++) checksum += toEuro(bid(i)).price;
  return done(t0, records, checksum);
}

function q2Loop(records: number): number {
  const t0 = performance.now();
  let checksum = 0;
  for (let i = 0; i < records; i++) {
    const b = bid(i);
    if (selectedAuction(b)) checksum += b.price;
  }
  return done(t0, records, checksum);
}

function done(t0: number, records: number, checksum: number): number {
  const seconds = (performance.now() - t0) / 1000;
  if (Number.isNaN(checksum)) throw new Error('unreachable: keeps the loop from being optimised away');
  return records / seconds;
}

/** A running sum per key in a Map, emitting (key, sum) like the keyed job does. */
export function keyedSumLoop(keys: number, records: number): number {
  const t0 = performance.now();
  const sums = new Map<string, KeyedRecord>();
  let checksum = 0;
  for (let i = 0; i < records; i++) {
    const r = keyedRecord(i, keys);
    const prev = sums.get(r.key);
    const out = prev === undefined ? r : { key: r.key, sum: prev.sum + r.sum, emitted: r.emitted };
    sums.set(r.key, out);
    checksum += out.sum;
  }
  return done(t0, records, checksum);
}
