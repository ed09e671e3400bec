import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ROOT, cleanup, createWorkspace, flink, show } from './helpers.js';

const BROADCAST_JOB = join(ROOT, 'test', 'jobs', 'BroadcastJob.ts');

describe('broadcast state (e2e)', () => {
  test('connect(broadcast): every rule reaches every parallel instance, every event is processed once', { timeout: 60_000 }, async (t) => {
    const ws = createWorkspace();
    t.after(() => cleanup(ws));
    const r = await flink(ws, ['run', '-p', '3', BROADCAST_JOB, '--events', '300', '--rules', '5']);
    assert.equal(r.exitCode, 0, show(r));
    const lines = r.stdout.split('\n').map((l) => l.replace(/^\d+> /, '')).filter((l) => /^(rule|event),/.test(l));
    const rules = lines.filter((l) => l.startsWith('rule,')).sort();
    const expectedRules = [];
    for (let j = 0; j < 5; j++) for (let s = 0; s < 3; s++) expectedRules.push(`rule,${j},${s},true`);
    assert.deepEqual(rules, expectedRules.sort());
    const events = lines.filter((l) => l.startsWith('event,')).sort();
    assert.deepEqual(events, Array.from({ length: 300 }, (_, i) => `event,${i},${i % 7}`).sort());
  });
});
