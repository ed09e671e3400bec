/**
 * Event timestamps on the data plane: they travel as a Float64Array parallel to a batch (not one wrapper per
 * record), in the same worker and across MessagePorts, also through the credit backlog; batches whose records
 * have no timestamp carry none, and watermark events keep their place among the batches.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageChannel } from 'node:worker_threads';
import { initialCredits, OutputChannel } from '../../src/runtime/network/RecordWriter.js';
import { Transport } from '../../src/runtime/network/Transport.js';
import type { ChannelEvent } from '../../src/runtime/network/events.js';

type Item = { records: unknown[]; ts?: number[] } | { event: ChannelEvent };

async function until(cond: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

for (const mode of ['in-thread', 'message-port'] as const) {
  describe(`timestamps on the data plane (${mode})`, () => {
    test('a batch carries its records\' timestamps in order (NaN where none), watermarks stay in place, backlog included', async () => {
      const { port1, port2 } = new MessageChannel();
      const [prod, cons, consumerWorker, producerWorker] = mode === 'in-thread'
        ? (() => { const t = new Transport(0, new Map()); return [t, t, 0, 0] as const; })()
        : [new Transport(0, new Map([[1, port1]])), new Transport(1, new Map([[0, port2]])), 1, 0] as const;
      try {
        const items: Item[] = [];
        cons.registerInput(7, {
          onBatch: (records, ts) => void items.push(ts ? { records, ts: [...ts] } : { records }),
          onEvent: (event) => void items.push({ event }),
        });
        const out = new OutputChannel(prod, 7, consumerWorker, () => {});
        const credits = initialCredits(producerWorker, consumerWorker);
        out.add('plain');
        out.flush(); // no timestamps at all: no array
        out.add('a', 10);
        out.add('b');
        out.add('c', -5);
        out.sendEvent({ type: 'watermark', timestamp: 9 });
        out.add('d');
        out.add('e', 20); // the array starts at the first record that has a timestamp
        out.flush();
        // More batches than credits: the rest wait in the backlog with their timestamps.
        for (let i = 0; i < credits; i++) {
          out.add(`x${i}`, 100 + i);
          out.flush();
        }
        out.sendEvent({ type: 'watermarkStatus', idle: true });
        await until(() => items.length >= 4, 'the batches within the credit');
        cons.sendCredit(producerWorker, 7, 10);
        const expected: Item[] = [
          { records: ['plain'] },
          { records: ['a', 'b', 'c'], ts: [10, NaN, -5] },
          { event: { type: 'watermark', timestamp: 9 } },
          { records: ['d', 'e'], ts: [NaN, 20] },
          ...Array.from({ length: credits }, (_, i) => ({ records: [`x${i}`], ts: [100 + i] })),
          { event: { type: 'watermarkStatus', idle: true } },
        ];
        await until(() => items.length === expected.length, 'everything');
        assert.deepStrictEqual(items, expected);
      } finally {
        prod.close();
        cons.close();
      }
    });
  });
}
