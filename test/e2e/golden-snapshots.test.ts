/**
 * Format compatibility: savepoints written once by an earlier flink-ts (test/fixtures/golden/, see generate.ts
 * there) must restore with this one. Each is copied to a temporary folder (a restore must not need to write next
 * to it, and the fixture stays untouched), inspected with `flink state`, and restored at the parallelism it was
 * taken with and rescaled; the output must be exactly the model's lines of the events after the savepoint's
 * source position.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import {
  ROOT, cleanup, committedLines, createWorkspace, ensureBuilt, flink, listTree, recordsEmittedAt, referenceLines, show,
} from './helpers.js';

const JOB = join(ROOT, 'test', 'jobs', 'StateKindsJob.ts');
const ARGS = ['--count', '600', '--keys', '12'];
const GOLDEN = join(ROOT, 'test', 'fixtures', 'golden');

const FIXTURES: { name: string; conf: Record<string, string>; what: string }[] = [
  { name: 'statekinds-canonical-v1', conf: {}, what: 'on the heap backend' },
  { name: 'statekinds-canonical-v1', conf: { 'state.backend.type': 'embedded' }, what: 'on the embedded backend (canonical is backend-neutral)' },
  { name: 'statekinds-native-embedded-v1', conf: { 'state.backend.type': 'embedded' }, what: 'on the embedded backend' },
];

describe('golden snapshots (format compatibility)', () => {
  for (const f of FIXTURES) {
    test(`${f.name} ${f.what}: inspected, restored at parallelism 2 and rescaled to 3, exactly the events after its position`, { timeout: 120_000 }, async (t) => {
      await ensureBuilt();
      const ws = createWorkspace(f.conf);
      t.after(() => cleanup(ws));
      const fixture = join(GOLDEN, f.name);
      const before = listTree(fixture);
      const copy = join(ws.dir, f.name);
      cpSync(fixture, copy, { recursive: true });

      const st = await flink(ws, ['state', copy, '--json']);
      assert.equal(st.exitCode, 0, show(st));
      const summary = JSON.parse(st.stdout) as { kind: string; operators: { uid?: string; states: { name: string }[] }[] };
      assert.equal(summary.kind, 'savepoint');
      const keyed = summary.operators.find((o) => o.uid === 'all-state-kinds');
      assert.deepEqual(keyed?.states.map((s) => s.name).filter((n) => !n.startsWith('_')).sort(), ['buckets', 'count', 'distinct', 'recent', 'sum']);

      const at = recordsEmittedAt(copy, 600);
      assert.equal(at, 300, 'written held at event 300');
      const expected = (await referenceLines(JOB, ARGS)).filter((l) => Number(l.split(',')[1]) >= at);
      for (const p of ['2', '3']) {
        const out = join(ws.dir, `out-p${p}`);
        const r = await flink(ws, ['run', '-s', copy, '-p', p, JOB, ...ARGS, '--output', out, '--rate', '1000000']);
        assert.equal(r.exitCode, 0, show(r));
        assert.deepEqual(committedLines(out), expected, `restored at parallelism ${p}`);
      }
      assert.deepEqual(listTree(fixture), before, 'the fixture is untouched');
    });
  }
});
