/**
 * The chaos harness in quick mode: one SIGKILL exactly at every step of writing a checkpoint (each fault point
 * of src/checkpoint/FaultInjection.ts), then one at a random moment; after each, resume from the recovery point
 * the index reports. The committed output must equal a failure-free run's byte for byte. The long mode is
 * `npm run chaos -- --kills 100 --seed 42` (docs/reliability.md).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ensureBuilt } from './helpers.js';
import { runChaos } from '../chaos/harness.js';
import { FAULT_POINTS } from '../../src/core/FaultInjection.js';

test('chaos (quick): a SIGKILL at every checkpoint-writing step and at a random moment loses nothing', { timeout: 600_000 }, async (t) => {
  await ensureBuilt();
  const r = await runChaos({ kills: FAULT_POINTS.length + 1, seed: 42, count: 6000, rate: 3000, everyPointFirst: true, faultShare: 0, log: (l) => t.diagnostic(l) });
  t.diagnostic(JSON.stringify(r));
  assert.equal(r.kills, FAULT_POINTS.length + 1);
  // Every fault point was reached at least once (a point not reached in time is killed from outside instead).
  assert.ok(Object.keys(r.faultKills).length + r.faultsNotReached >= FAULT_POINTS.length);
  assert.ok(r.linesCompared > 0);
});
