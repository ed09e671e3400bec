/**
 * The chaos harness's long mode:
 *
 *   npm run chaos -- --kills 100 --seed 42 [--count 20000] [--rate 4000] [--min-delay 200] [--max-delay 1500] [--fault-share 0.5]
 *   npm run chaos -- --bounded --kills 40 --seed 42 [--bounded-count 4000]   rounds end at the end of input (FLIP-147)
 *   CHAOS_STATE_BACKEND=embedded npm run chaos -- ...                          the same against the embedded backend (incremental)
 *
 * Prints one line per kill and a JSON summary at the end; exits 1 on the first violated invariant or output
 * difference (the message names the seed, so the run can be repeated).
 */
import { parseArgs } from 'node:util';
import { ensureBuilt } from '../e2e/helpers.js';
import { runChaos } from './harness.js';

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '100' },
    seed: { type: 'string', default: String(Date.now() % 100000) },
    count: { type: 'string', default: '5000' },
    rate: { type: 'string', default: '4000' },
    'min-delay': { type: 'string', default: '200' },
    'max-delay': { type: 'string', default: '1500' },
    'fault-share': { type: 'string', default: '0.5' },
    bounded: { type: 'boolean', default: false },
    'bounded-count': { type: 'string', default: '4000' },
  },
});

await ensureBuilt();
const t0 = Date.now();
try {
  const r = await runChaos({
    kills: Number(values.kills), seed: Number(values.seed), count: Number(values.count), rate: Number(values.rate),
    minDelayMs: Number(values['min-delay']), maxDelayMs: Number(values['max-delay']), faultShare: Number(values['fault-share']),
    everyPointFirst: true, bounded: values.bounded, boundedCount: Number(values['bounded-count']),
    log: (l) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${l}`),
  });
  console.log(JSON.stringify(r, null, 2));
} catch (e) {
  console.error(`chaos: FAILED: ${(e as Error).message}`);
  process.exitCode = 1;
}
