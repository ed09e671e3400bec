/**
 * The benchmark compares like with like: the hand loops (bench/lib/handloops.ts, the limit) compute exactly what
 * the jobs compute from bench/lib/nexmark.ts's generators, and Apache Flink's peer jobs (jvm/flink-bench) read
 * exactly the same records (equal checksums of the first records of every input and query output).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keyedSum, nexmarkRange } from '../../bench/lib/handloops.js';
import { bid, keyedRecord, selectedAuction, toEuro, type Bid } from '../../bench/lib/nexmark.js';
import { generatorChecksums } from '../../bench/lib/generatorChecksum.js';
import { ensureFlinkBenchJar, flinkGeneratorChecksums } from '../../bench/lib/flinkPeer.js';
import { flinkSkip } from '../support/flink.js';

const fold = (c: number, b: Bid) => (c + b.auction + b.bidder + b.price + (b.dateTime & 0xffff)) | 0;

describe('bench hand loops', () => {
  it('fold the same records as the generators, through each query', () => {
    for (const [from, to] of [[0, 50_000], [2 ** 31 - 10_000, 2 ** 31 - 1]]) {
      let q0 = 0, q1 = 0, q2 = 0;
      for (let i = from; i < to; i++) {
        const b = bid(i);
        q0 = fold(q0, b);
        q1 = fold(q1, toEuro(b));
        if (selectedAuction(b)) q2 = fold(q2, b);
      }
      assert.equal(nexmarkRange('q0', from, to), q0);
      assert.equal(nexmarkRange('q1', from, to), q1);
      assert.equal(nexmarkRange('q2', from, to), q2);
    }
  });

  it('sum per key what the keyed job sums, split between threads by key', () => {
    const keys = 1000;
    const records = 5000;
    const sums = new Map<string, number>();
    let whole = 0;
    for (let i = 0; i < records; i++) {
      const r = keyedRecord(i, keys);
      const sum = (sums.get(r.key) ?? 0) + r.sum;
      sums.set(r.key, sum);
      whole = (whole + sum + r.key.length) | 0;
    }
    assert.equal(keyedSum(keys, records, 0, 1), whole);
    assert.equal((keyedSum(keys, records, 0, 2) + keyedSum(keys, records, 1, 2)) | 0, whole);
  });
});

const skip = flinkSkip();
describe('Apache Flink peer (jvm/flink-bench)', { skip, timeout: 300_000 }, () => {
  it('generates the same records as bench/lib/nexmark.ts', async () => {
    ensureFlinkBenchJar(() => {});
    const n = 200_000;
    const keys = 50_000;
    assert.deepEqual(await flinkGeneratorChecksums(n, keys), generatorChecksums(n, keys));
  });
});
