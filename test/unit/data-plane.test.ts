import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageChannel } from 'node:worker_threads';
import fc from 'fast-check';
import { BATCH_SIZE, initialCredits, OutputChannel, RecordWriter } from '../../src/runtime/network/RecordWriter.js';
import { Transport, type InputChannelListener } from '../../src/runtime/network/Transport.js';
import type { ChannelEvent } from '../../src/runtime/network/events.js';
import { assignToKeyGroup, computeOperatorIndexForKeyGroup, keyHash } from '../../src/state/KeyGroupRangeAssignment.js';

type Item = { batch: unknown[] } | { event: ChannelEvent };

/** Records what arrives on one input channel. */
class Sink {
  readonly items: Item[] = [];
  onBatch = (records: unknown[]) => void this.items.push({ batch: records });
  onEvent = (e: ChannelEvent) => void this.items.push({ event: e });
  get batches(): unknown[][] {
    return this.items.flatMap((i) => ('batch' in i ? [i.batch] : []));
  }
  get records(): unknown[] {
    return this.batches.flat();
  }
}

const tick = () => new Promise<void>((r) => setImmediate(r));

async function until(cond: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const barrier = (id: number): ChannelEvent => ({ type: 'barrier', checkpointId: id, timestamp: 1000 + id, kind: 'CHECKPOINT', location: `/tmp/chk-${id}` });
const eop: ChannelEvent = { type: 'eop' };

/** A producer on `prodT` and a consumer on `consT` for one channel; `consumerWorker` is the consumer's worker index. */
function channel(prodT: Transport, consT: Transport, id: number, consumerWorker: number, producerWorker: number) {
  const sink = new Sink();
  consT.registerInput(id, sink);
  let available = 0;
  const out = new OutputChannel(prodT, id, consumerWorker, () => available++);
  return {
    sink,
    out,
    get availableCalls() {
      return available;
    },
    returnCredit: (n = 1) => consT.sendCredit(producerWorker, id, n),
  };
}

let probes = 0;
/**
 * Resolves once everything sent from `prodT` to `consT` before the call has been delivered: a probe batch on a
 * channel of its own travels the same (FIFO) path, so when it arrives nothing sent earlier is still in flight.
 * Negative assertions ("only N batches arrived") after it are sound, unlike after a sleep.
 */
async function delivered(prodT: Transport, consT: Transport, consumerWorker: number): Promise<void> {
  const id = 9000 + probes++;
  const probe = new Sink();
  consT.registerInput(id, probe);
  const out = new OutputChannel(prodT, id, consumerWorker, () => {});
  out.add('probe');
  out.flush();
  await until(() => probe.batches.length === 1, 'the probe batch');
}

/** Resolves once the credit messages sent from `consT` to `prodT` before the call have arrived (same idea). */
async function creditDelivered(prodT: Transport, consT: Transport, producerWorker: number, consumerWorker: number): Promise<void> {
  const id = 9000 + probes++;
  const out = new OutputChannel(prodT, id, consumerWorker, () => {});
  for (let b = 0; b <= initialCredits(producerWorker, consumerWorker); b++) {
    out.add(b);
    out.flush();
  }
  if (out.isAvailable) throw new Error('the probe should wait for credit'); // one batch backlogged
  consT.sendCredit(producerWorker, id, 1);
  await until(() => out.isAvailable, 'the probe credit');
}

function withPorts<T>(fn: (t0: Transport, t1: Transport) => Promise<T>): Promise<T> {
  const { port1, port2 } = new MessageChannel();
  const t0 = new Transport(0, new Map([[1, port1]]));
  const t1 = new Transport(1, new Map([[0, port2]]));
  return fn(t0, t1).finally(() => {
    t0.close();
    t1.close();
  });
}

for (const mode of ['in-thread', 'message-port'] as const) {
  describe(`data plane (${mode})`, () => {
    /** Runs fn with a producer transport, consumer transport and the consumer's and producer's worker indices. */
    const setup = <T>(fn: (prod: Transport, cons: Transport, consumerWorker: number, producerWorker: number) => Promise<T>) =>
      mode === 'in-thread'
        ? (() => {
            const t = new Transport(0, new Map());
            return fn(t, t, 0, 0).finally(() => t.close());
          })()
        : withPorts((t0, t1) => fn(t0, t1, 1, 0));
    const settle = mode === 'in-thread' ? tick : () => new Promise<void>((r) => setTimeout(r, 20));

    test('batches arrive in order, and events stay behind the batches sent before them', async () => {
      await setup(async (prod, cons, cw, pw) => {
        const c = channel(prod, cons, 3, cw, pw);
        const expected: Item[] = [];
        let next = 0;
        const sendRecords = (n: number) => {
          const recs = Array.from({ length: n }, () => next++);
          for (const r of recs) c.out.add(r);
        };
        // A full batch flushes by itself; a partial one only on flush()/sendEvent().
        sendRecords(BATCH_SIZE);
        expected.push({ batch: Array.from({ length: BATCH_SIZE }, (_, i) => i) });
        sendRecords(5);
        c.out.sendEvent(barrier(1));
        expected.push({ batch: [BATCH_SIZE, BATCH_SIZE + 1, BATCH_SIZE + 2, BATCH_SIZE + 3, BATCH_SIZE + 4] }, { event: barrier(1) });
        c.out.sendEvent(barrier(2));
        expected.push({ event: barrier(2) });
        sendRecords(1);
        c.out.flush();
        c.out.flush(); // nothing pending: no empty batch
        expected.push({ batch: [BATCH_SIZE + 5] });
        c.out.sendEvent(eop);
        expected.push({ event: eop });
        // Three batches: within the initial credit, so nothing waits for credit.
        await until(() => c.sink.items.length === expected.length, 'all items');
        await settle();
        assert.deepStrictEqual(c.sink.items, expected);
      });
    });

    test('without returned credit at most the initial credits\' batches are in flight; credit drains the backlog in order', async () => {
      await setup(async (prod, cons, cw, pw) => {
        const c = channel(prod, cons, 7, cw, pw);
        const credits = initialCredits(pw, cw); // more across workers
        const total = credits + 3;
        for (let b = 0; b < total; b++) {
          c.out.add(`r${b}`);
          c.out.flush();
          assert.equal(c.out.isAvailable, b < credits, `availability after batch ${b}`);
        }
        c.out.sendEvent(barrier(9)); // queued behind the waiting batches
        await until(() => c.sink.batches.length === credits, 'the credited batches');
        await delivered(prod, cons, cw); // anything more that was sent has arrived by now
        assert.equal(c.sink.batches.length, credits, 'only the credited batches were sent');
        assert.equal(c.sink.items.length, credits, 'the event waits behind the backlog');
        assert.equal(c.out.isAvailable, false);
        assert.equal(c.availableCalls, 0);

        c.returnCredit(1);
        await until(() => c.sink.batches.length === credits + 1, 'one more batch');
        await settle();
        assert.equal(c.sink.batches.length, credits + 1, 'one credit, one batch');
        assert.equal(c.out.isAvailable, false);
        assert.equal(c.availableCalls, 0, 'still backlogged');

        c.returnCredit(2);
        await until(() => c.sink.items.length === total + 1, 'the rest and the event');
        assert.equal(c.out.isAvailable, true);
        assert.ok(c.availableCalls >= 1, 'onAvailable was called once the backlog drained');
        assert.deepStrictEqual(c.sink.items, [...Array.from({ length: total }, (_, b) => ({ batch: [`r${b}`] })), { event: barrier(9) }]);

        // Credit that arrives with an empty backlog is kept for later batches.
        c.returnCredit(10);
        await settle();
        for (let b = 0; b < 5; b++) {
          c.out.add(b);
          c.out.flush();
        }
        assert.equal(c.out.isAvailable, true, 'enough credit banked for 5 batches');
      });
    });

    test('hash partitioning routes a key always to the same channel, the one computeOperatorIndexForKeyGroup names', async () => {
      await setup(async (prod, cons, cw, pw) => {
        await fc.assert(
          fc.asyncProperty(
            fc.integer({ min: 1, max: 5 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: n, max: 256 }))),
            fc.array(fc.oneof(fc.integer({ min: 0, max: 40 }), fc.string({ maxLength: 3 })), { minLength: 1, maxLength: 200 }),
            async ([n, maxP], keys) => {
              const base = nextChannelBase(n);
              const chans = Array.from({ length: n }, (_, i) => channel(prod, cons, base + i, cw, pw));
              const w = new RecordWriter('hash', chans.map((c) => c.out), (r) => (r as { key: unknown }).key, maxP, 0);
              keys.forEach((key, seq) => w.emit({ key, seq }));
              w.flush();
              await until(() => chans.reduce((s, c) => s + c.sink.records.length, 0) === keys.length, 'all records');
              const where = new Map<unknown, number>();
              chans.forEach((c, i) => {
                const recs = c.sink.records as { key: unknown; seq: number }[];
                for (const r of recs) {
                  assert.equal(i, computeOperatorIndexForKeyGroup(maxP, n, assignToKeyGroup(r.key, maxP)), `key ${String(r.key)}`);
                  if (where.has(r.key)) assert.equal(where.get(r.key), i, 'same key, same channel');
                  where.set(r.key, i);
                }
                const seqs = recs.map((r) => r.seq);
                assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'per-channel order preserved');
              });
            },
          ),
          { numRuns: mode === 'in-thread' ? 200 : 40 },
        );
      });
    });

    test('a hash-partitioned batch carries each record\'s key hash, through the credit backlog too; other batches carry none', async () => {
      await setup(async (prod, cons, cw, pw) => {
        const id = nextChannelBase(2);
        const got: { records: unknown[]; keyHashes?: Uint32Array }[] = [];
        const listener: InputChannelListener = { onBatch: (records, _ts, _bytes, keyHashes) => void got.push({ records, keyHashes }), onEvent: () => {} };
        cons.registerInput(id, listener);
        cons.registerInput(id + 1, listener);
        const out = new OutputChannel(prod, id, cw, () => {});
        const w = new RecordWriter('hash', [out], (r) => (r as { key: unknown }).key, 128, 0);
        // More batches than credits: the last ones wait in the backlog and leave on returned credit.
        const batches = initialCredits(pw, cw) + 2;
        const keys = Array.from({ length: batches * BATCH_SIZE }, (_, i) => (i % 3 === 0 ? i : `k${i}`));
        for (const key of keys) w.emit({ key });
        await until(() => got.length === initialCredits(pw, cw), 'the credited batches');
        cons.sendCredit(pw, id, 2);
        await until(() => got.length === batches, 'the backlogged batches');
        const hashes = got.flatMap((b) => [...(b.keyHashes ?? [])]);
        assert.equal(hashes.length, keys.length, 'every batch has its hashes');
        const records = got.flatMap((b) => b.records) as { key: unknown }[];
        records.forEach((r, i) => assert.equal(hashes[i], keyHash(r.key), `record ${i}`));
        // A rebalance (or forward, broadcast) batch has no key to hash.
        const plain = new RecordWriter('rebalance', [new OutputChannel(prod, id + 1, cw, () => {})], undefined, 128, 0);
        plain.emit({ key: 1 });
        plain.flush();
        await until(() => got.length === batches + 1, 'the rebalanced batch');
        assert.equal(got[batches].keyHashes, undefined);
      });
    });

    test('rebalance round-robins from the start channel; forward uses its one channel', async () => {
      await setup(async (prod, cons, cw, pw) => {
        const n = 3;
        const base = nextChannelBase(n);
        const chans = Array.from({ length: n }, (_, i) => channel(prod, cons, base + i, cw, pw));
        const w = new RecordWriter('rebalance', chans.map((c) => c.out), undefined, 128, 4); // starts at 4 % 3 = 1
        for (let i = 0; i < 10; i++) w.emit(i);
        w.flush();
        await until(() => chans.reduce((s, c) => s + c.sink.records.length, 0) === 10, 'records');
        assert.deepEqual(chans.map((c) => c.sink.records), [[2, 5, 8], [0, 3, 6, 9], [1, 4, 7]]);

        const f = channel(prod, cons, nextChannelBase(1), cw, pw);
        const fw = new RecordWriter('forward', [f.out], undefined, 128, 3);
        for (let i = 0; i < 4; i++) fw.emit(i);
        fw.flush();
        await until(() => f.sink.records.length === 4, 'forwarded records');
        assert.deepEqual(f.sink.records, [0, 1, 2, 3]);
      });
    });

    test('broadcast copies every record and event to every channel', async () => {
      await setup(async (prod, cons, cw, pw) => {
        const n = 3;
        const base = nextChannelBase(n);
        const chans = Array.from({ length: n }, (_, i) => channel(prod, cons, base + i, cw, pw));
        const w = new RecordWriter('broadcast', chans.map((c) => c.out), undefined, 128, 0);
        w.emit('a');
        w.emit({ b: 1 });
        w.broadcastEvent(barrier(4));
        w.emit('c');
        w.broadcastEvent(eop);
        await until(() => chans.every((c) => c.sink.items.length === 4), 'items');
        for (const c of chans) {
          assert.deepStrictEqual(c.sink.items, [{ batch: ['a', { b: 1 }] }, { event: barrier(4) }, { batch: ['c'] }, { event: eop }]);
        }
      });
    });

    test('RecordWriter is unavailable while any of its channels is backlogged', async () => {
      await setup(async (prod, cons, cw, pw) => {
        const base = nextChannelBase(2);
        const chans = [0, 1].map((i) => channel(prod, cons, base + i, cw, pw));
        const w = new RecordWriter('forward', [chans[0].out], undefined, 128, 0);
        const all = new RecordWriter('broadcast', chans.map((c) => c.out), undefined, 128, 0);
        for (let b = 0; b < initialCredits(pw, cw); b++) {
          w.emit(b);
          w.flush();
        }
        assert.equal(all.isAvailable, true);
        w.emit('x');
        w.flush();
        assert.equal(w.isAvailable, false);
        assert.equal(all.isAvailable, false, 'channel 0 is backlogged');
        chans[0].returnCredit(1);
        await until(() => all.isAvailable, 'availability');
      });
    });
  });
}

let channelBase = 1000;
function nextChannelBase(n: number): number {
  const b = channelBase;
  channelBase += n;
  return b;
}

describe('Transport across MessagePorts', () => {
  test('records are serialized on the way: structured-clone types arrive intact, as copies', async () => {
    await withPorts(async (t0, t1) => {
      const c = channel(t0, t1, 1, 1, 0);
      const rec = { d: new Date(5), n: 12n, m: new Map([[{ k: 1 }, new Set([1])]]), u: new Uint8Array([1, 2]), arr: [1, undefined] };
      c.out.add(rec);
      const big = Array.from({ length: BATCH_SIZE - 1 }, (_, i) => 'x'.repeat(i % 50));
      for (const r of big) c.out.add(r);
      await until(() => c.sink.records.length === BATCH_SIZE, 'a full batch');
      assert.deepStrictEqual(c.sink.records[0], rec);
      assert.notEqual(c.sink.records[0], rec, 'a copy, not the same object');
      assert.deepStrictEqual(c.sink.records.slice(1), big);
    });
  });

  test('batches for an input channel registered later are buffered and replayed in order', async () => {
    await withPorts(async (t0, t1) => {
      const out = new OutputChannel(t0, 42, 1, () => {});
      out.add('a');
      out.flush();
      out.sendEvent(barrier(1));
      out.add('b');
      out.sendEvent(eop);
      await delivered(t0, t1, 1); // they have arrived, with no listener yet
      const sink = new Sink();
      t1.registerInput(42, sink);
      assert.deepStrictEqual(sink.items, [{ batch: ['a'] }, { event: barrier(1) }, { batch: ['b'] }, { event: eop }], 'replayed synchronously at registration');
      out.add('c');
      out.flush();
      await until(() => sink.items.length === 5, 'a later batch');
      assert.deepStrictEqual(sink.items[4], { batch: ['c'] });
    });
  });

  test('credit for an output channel registered later is buffered and counted', async () => {
    await withPorts(async (t0, t1) => {
      const sink = new Sink();
      t1.registerInput(77, sink);
      t1.sendCredit(0, 77, 2);
      await creditDelivered(t0, t1, 0, 1); // the credit has arrived, before the output channel exists
      const out = new OutputChannel(t0, 77, 1, () => {});
      const credits = initialCredits(0, 1);
      for (let b = 0; b < credits + 2; b++) {
        out.add(b);
        out.flush();
      }
      assert.equal(out.isAvailable, true, 'initial credits + 2');
      out.add('over');
      out.flush();
      assert.equal(out.isAvailable, false);
      await until(() => sink.batches.length === credits + 2, 'credited batches');
    });
  });

  test('one port pair carries several channels in both directions independently', async () => {
    await withPorts(async (t0, t1) => {
      const ab = channel(t0, t1, 1, 1, 0); // worker 0 -> worker 1
      const ba = channel(t1, t0, 2, 0, 1); // worker 1 -> worker 0
      for (let i = 0; i < 3; i++) {
        ab.out.add(`ab${i}`);
        ba.out.add(`ba${i}`);
        ab.out.flush();
        ba.out.flush();
      }
      await until(() => ab.sink.batches.length === 3 && ba.sink.batches.length === 3, 'both directions');
      assert.deepEqual(ab.sink.records, ['ab0', 'ab1', 'ab2']);
      assert.deepEqual(ba.sink.records, ['ba0', 'ba1', 'ba2']);
    });
  });
});
