import { bid, keyedRecord, selectedAuction, toEuro, type KeyedRecord, type Query } from './nexmark.js';

/**
 * The limit each scenario is compared with: the same computation as a plain single-threaded loop,
 * with no framework, no threads and no serialization. Returns records per second.
 */
export function nexmarkLoop(query: Query, records: number): number {
  const t0 = performance.now();
  let emitted = 0;
  let checksum = 0;
  for (let i = 0; i < records; i++) {
    let b = bid(i);
    if (query === 'q1') b = toEuro(b);
    if (query === 'q2' && !selectedAuction(b)) continue;
    emitted++;
    checksum += b.price;
  }
  const seconds = (performance.now() - t0) / 1000;
  if (emitted < 0 || Number.isNaN(checksum)) throw new Error('unreachable: keeps the loop from being optimised away');
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
  const seconds = (performance.now() - t0) / 1000;
  if (Number.isNaN(checksum)) throw new Error('unreachable');
  return records / seconds;
}
