import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ROOT, cleanup, createWorkspace, startAttached, waitFor } from './helpers.js';

const BROADCAST_JOB = join(ROOT, 'test', 'jobs', 'BroadcastJob.ts');
const EVENTS = 300;
const RULES = 5;
const PARALLELISM = 3;
const HOLD_AT = 150;

describe('broadcast state (e2e)', () => {
  test('connect(broadcast): every rule reaches every parallel instance, the keyed side reads them, every event once', { timeout: 90_000 }, async (t) => {
    const ws = createWorkspace();
    t.after(() => cleanup(ws));
    const gate = join(ws.dir, 'gate');
    const { child, output } = startAttached(ws, [
      'run', '-p', String(PARALLELISM), BROADCAST_JOB, '--events', String(EVENTS), '--rules', String(RULES), '--gate', gate, '--hold-at', String(HOLD_AT),
    ]);
    const lines = () => output.stdout.split('\n').map((l) => l.replace(/^\d+> /, '')).filter((l) => /^(rule|event),/.test(l));
    // Events from HOLD_AT on wait for the gate; open it once every instance has printed every rule (after its put).
    await waitFor(() => lines().filter((l) => l.startsWith('rule,')).length === RULES * PARALLELISM, 60_000, 'every rule on every instance');
    writeFileSync(gate, '');
    const r = await child;
    assert.equal(r.exitCode, 0, `${output.stdout}\n${output.stderr}`);

    // The broadcast side: each instance holds rules 0..j right after putting rule j (they arrive in order).
    const rules = lines().filter((l) => l.startsWith('rule,')).sort();
    const expectedRules = [];
    for (let j = 0; j < RULES; j++) {
      for (let s = 0; s < PARALLELISM; s++) expectedRules.push(`rule,${j},${s},${Array.from({ length: j + 1 }, (_, k) => k).join(';')}`);
    }
    assert.deepEqual(rules, expectedRules.sort());

    // The keyed side: every event exactly once; what it read is a prefix of the rules with their values, and
    // the events released after every instance had every rule read all of them.
    const all = Array.from({ length: RULES }, (_, k) => `${k}=rule-${k}`);
    const events = lines().filter((l) => l.startsWith('event,'));
    const seen = events.map((l) => {
      const [, i, key, visible] = l.split(',') as [string, string, string, string];
      return { i: Number(i), key: Number(key), visible: visible === '' ? [] : visible.split(';') };
    });
    assert.deepEqual(seen.map((e) => `${e.i},${e.key}`).sort(), Array.from({ length: EVENTS }, (_, i) => `${i},${i % 7}`).sort());
    for (const e of seen) {
      assert.deepEqual(e.visible, all.slice(0, e.visible.length), `event ${e.i} read a prefix of the rules, with their values`);
      if (e.i >= HOLD_AT) assert.deepEqual(e.visible, all, `event ${e.i}, released after every rule arrived, reads every rule`);
    }
  });
});
