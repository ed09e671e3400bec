/**
 * The TypeScript half of savepoint conversion (src/flink/SavepointDump.ts, SavepointConversion.ts), without Java:
 * a dump written into a canonical flink-ts savepoint and dumped back is the same dump; keys are redistributed into
 * flink-ts's key groups; what cannot move is refused with one line naming the operator.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode, encode } from '../../src/core/Serializer.js';
import { loadSnapshot } from '../../src/checkpoint/Metadata.js';
import { encodeKey } from '../../src/flink/KeyEncoding.js';
import { dumpFlinkTsSavepoint, isFlinkSnapshot, isFlinkTsSnapshot, writeFlinkTsSavepoint } from '../../src/flink/SavepointConversion.js';
import { DumpFileWriter, readDumpFile, writeManifest, type DumpRecord } from '../../src/flink/SavepointDump.js';
import { assignToKeyGroup, computeKeyGroupRangeForOperatorIndex } from '../../src/state/KeyGroupRangeAssignment.js';

function withDir(f: (dir: string) => Promise<void> | void): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flink-ts-dump-test-'));
    try {
      await f(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

function writeDump(dir: string, uid: string, records: DumpRecord[], extra: { parallelism?: number; keyedStates?: Record<string, string>; operatorStates?: Record<string, string> } = {}): void {
  mkdirSync(dir, { recursive: true });
  const w = new DumpFileWriter(join(dir, 'op-0.bin'));
  for (const r of records) w.write(r);
  w.close();
  writeManifest(dir, {
    formatVersion: 1, checkpointId: 7, maxParallelism: 128,
    operators: [{ uid, parallelism: extra.parallelism ?? 2, maxParallelism: 128, file: 'op-0.bin', keyedStates: extra.keyedStates ?? {}, operatorStates: extra.operatorStates ?? {} }],
  });
}

/** Records in a comparable, order-free form (keys and values decoded). */
function normalized(records: Iterable<DumpRecord>): string[] {
  const out: string[] = [];
  for (const r of records) {
    const { value, ...rest } = r as DumpRecord & { value?: Buffer };
    out.push(JSON.stringify({ ...rest, ...(value ? { value: String(decode(value)) } : {}) }));
  }
  return out.sort();
}

test('a dump -> flink-ts savepoint -> dump keeps every entry; keys land in their flink-ts key groups', withDir(async (dir) => {
  const keys: unknown[] = ['alpha', 42, { user: 7 }, 'b', 9n];
  const records: DumpRecord[] = [];
  for (const k of keys) {
    const key = encodeKey(k);
    records.push({ type: 'value', state: 'count', key, value: encode(String(k).length) });
    records.push({ type: 'list-element', state: 'recent', key, value: encode(1) }, { type: 'list-element', state: 'recent', key, value: encode(2) });
    records.push({ type: 'map-entry', state: 'buckets', key, userKey: encodeKey(3), value: encode(new Date(0)) });
    records.push({ type: 'timer', domain: 'event', key, time: 1000 });
  }
  records.push({ type: 'operator-list', state: 'seen', subtask: 1, value: encode(11) });
  records.push({ type: 'union-list', state: 'subtasks', subtask: 0, value: encode('s0') });
  writeDump(join(dir, 'in'), 'op', records, { keyedStates: { count: 'value', recent: 'list', buckets: 'map' }, operatorStates: { seen: 'SPLIT_DISTRIBUTE', subtasks: 'UNION' } });

  const sp = join(dir, 'savepoint');
  const written = await writeFlinkTsSavepoint(join(dir, 'in'), sp);
  assert.equal(written.operators[0].keyedEntries, keys.length * 3);
  assert.ok(isFlinkTsSnapshot(sp) && !isFlinkSnapshot(sp));
  const md = loadSnapshot(sp).metadata;
  assert.equal(md.kind, 'SAVEPOINT');
  assert.equal(md.format, 'CANONICAL');
  const op = md.operators[0];
  assert.equal(op.uid, 'op');
  assert.equal(op.parallelism, 2);
  for (const k of keys) {
    const owner = op.subtasks.find((s) => {
      const r = computeKeyGroupRangeForOperatorIndex(128, 2, s.subtask);
      const kg = assignToKeyGroup(k, 128);
      return kg >= r.start && kg <= r.end;
    });
    assert.ok(owner && owner.state.keyedEntries > 0, `key ${String(k)} is in its subtask's key-group range`);
  }

  const back = dumpFlinkTsSavepoint(sp, join(dir, 'out'));
  const strip = (rs: Iterable<DumpRecord>) => normalized([...rs].map((r) => ('subtask' in r ? { ...r, subtask: 0 } : r)));
  assert.deepEqual(strip(readDumpFile(join(dir, 'out', back.manifest.operators[0].file))), strip(records));
}));

test('a data generator position moves only when the job says the source is one; otherwise one line refuses', withDir(async (dir) => {
  writeDump(join(dir, 'in'), 'events', [{ type: 'source-split', state: 'SourceReaderState', subtask: 0, splitId: '0', from: 150, to: 999 }], { parallelism: 1, operatorStates: { SourceReaderState: 'SPLIT_DISTRIBUTE' } });
  const sp = join(dir, 'savepoint');
  await writeFlinkTsSavepoint(join(dir, 'in'), sp);
  assert.throws(() => dumpFlinkTsSavepoint(sp, join(dir, 'refused')), /^FlinkError: Operator 'events' \(uid 'events'\) holds the source's read position \(SourceReaderState\) in flink-ts's own format.*would lose it$/);
  const moved = dumpFlinkTsSavepoint(sp, join(dir, 'moved'), { numberSequenceSources: { events: 100 } });
  assert.equal(moved.manifest.operators[0].sourceSplits, 'number-sequence');
  // fromSequence(100, ...): flink-ts's split holds values, Flink's NumberSequenceSplit indices from 0.
  assert.deepEqual([...readDumpFile(join(dir, 'moved', moved.manifest.operators[0].file))], [{ type: 'source-split', state: 'SourceReaderState', subtask: 0, splitId: '0', from: 50, to: 899 }]);
}));

test('a truncated dump file is refused, not half read', withDir((dir) => {
  const w = new DumpFileWriter(join(dir, 'op.bin'));
  w.write({ type: 'value', state: 's', key: 'k', value: encode(1) });
  w.close();
  truncateSync(join(dir, 'op.bin'), 10);
  assert.throws(() => [...readDumpFile(join(dir, 'op.bin'))], /is truncated/);
}));
