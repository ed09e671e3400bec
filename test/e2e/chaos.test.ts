/**
 * The chaos harness in quick mode: one SIGKILL exactly at every step of writing a checkpoint (each fault point
 * of src/core/FaultInjection.ts), then one at a random moment; after each, resume from the recovery point
 * the index reports; a point that does not fire in time is retried, and one that never fires fails the test. The
 * committed output must equal the model's output for every record the source had read at the final savepoint
 * (its position in the savepoint, not the output's length), byte for byte. The long mode is
 * `npm run chaos -- --kills 100 --seed 42` (docs/reliability.md). Bounded quick mode: the same with rounds that end
 * at the end of their input (FLIP-147's final checkpoint), also killed at the end of input, at the FileSink's
 * pre-commit and commit and after the final commit; each round's whole output must equal the model's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ensureBuilt } from './helpers.js';
import { BOUNDED_FAULT_POINTS, runChaos } from '../chaos/harness.js';
import { FAULT_POINTS } from '../../src/core/FaultInjection.js';

test('chaos (quick): a SIGKILL at every checkpoint-writing step and at a random moment loses nothing', { timeout: 600_000 }, async (t) => {
  await ensureBuilt();
  const r = await runChaos({ kills: FAULT_POINTS.length + 1, seed: 42, count: 6000, rate: 3000, everyPointFirst: true, faultShare: 0, log: (l) => t.diagnostic(l) });
  t.diagnostic(JSON.stringify(r));
  // Every fault point fired (its own line in the cluster's output says so), each at least once; a point that did
  // not fire in time was retried, and one that never fired fails the test.
  assert.deepEqual(r.pointsNeverReached, []);
  assert.deepEqual(Object.keys(r.faultKills).sort(), [...FAULT_POINTS].sort());
  assert.equal(r.randomKills, 1, 'one kill at a random moment');
  assert.equal(r.kills, r.randomKills + Object.values(r.faultKills).reduce((a, b) => a + b, 0));
  // The comparison covered what the final savepoint's source position accounts for, not what the output holds.
  assert.ok(r.linesCompared > 0);
});

test('chaos (quick, bounded): a SIGKILL at every checkpoint step, at the end of input, at pre-commit, commit and after the final commit repeats nothing', { timeout: 900_000 }, async (t) => {
  await ensureBuilt();
  const points = [...FAULT_POINTS, ...BOUNDED_FAULT_POINTS];
  const r = await runChaos({ kills: points.length, seed: 42, count: 4000, rate: 3000, bounded: true, boundedCount: 4000, everyPointFirst: true, faultShare: 0, log: (l) => t.diagnostic(l) });
  t.diagnostic(JSON.stringify(r));
  assert.deepEqual(r.pointsNeverReached, []);
  assert.deepEqual(Object.keys(r.faultKills).sort(), [...points].sort());
  assert.ok(r.linesCompared >= 4000 * r.rounds, 'every round compared its whole input');
});
