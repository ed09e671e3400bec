import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { ParameterTool } from '../../src/api/ParameterTool.js';
import {
  DataGeneratorSource, FromElementsSource, NumberSequenceSource, RateLimiterStrategy, TextFileSource,
  type Source, type SourceReader, type SourceSplit,
} from '../../src/api/sources.js';

const root = mkdtempSync(join(tmpdir(), 'flink-ts-sources-'));
after(() => rmSync(root, { recursive: true, force: true }));
let fileNo = 0;

/** The splits subtask `s` of `p` starts with, as SourceOperator assigns them. */
function splitsOf<S extends SourceSplit>(src: Source<unknown, S>, s: number, p: number): S[] {
  return src.initialSplits(p).filter((_, i) => i % p === s);
}

function reader<T, S extends SourceSplit>(src: Source<T, S>, splits: S[], s = 0, p = 1): SourceReader<T, S> {
  const r = src.createReader({ subtask: s, parallelism: p });
  // Split state goes through a checkpoint: it must survive serialization.
  r.addSplits(structuredClone(splits));
  return r;
}

/** Reads to the end with the given budgets (cycled); returns the records. */
function drain<T>(r: SourceReader<T, SourceSplit>, budgets: number[] = [1000]): T[] {
  const out: T[] = [];
  for (let i = 0; ; i++) {
    const res = r.pollNext((v) => out.push(v), budgets[i % budgets.length]);
    if (res === 'end') return out;
    assert.equal(res, 0, 'an unlimited source never asks to wait');
    if (i > 1_000_000) throw new Error('no end');
  }
}

/**
 * Reads with `budgets` until `stopAfter` polls, snapshots, then continues in a fresh reader from the
 * snapshot. Returns everything emitted (before + after).
 */
function readWithRestore<T>(src: Source<T, SourceSplit>, splits: SourceSplit[], budgets: number[], stopAfter: number, s = 0, p = 1): T[] {
  const out: T[] = [];
  const r1 = reader(src, splits, s, p);
  let ended = false;
  for (let i = 0; i < stopAfter; i++) {
    const res = r1.pollNext((v) => out.push(v), budgets[i % budgets.length]);
    assert.ok(res === 'end' || res === 0);
    if (res === 'end') {
      ended = true;
      break;
    }
  }
  const snap = r1.snapshotState(1);
  r1.close?.();
  if (ended) assert.deepEqual(snap, [], 'a finished reader has no split state');
  const r2 = reader(src, snap, s, p);
  const rest = drain(r2, budgets);
  r2.close?.();
  return [...out, ...rest];
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('NumberSequenceSource', () => {
  test('splits cover the range exactly once for parallelism 1..8 (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1_000_000, max: 1_000_000 }), fc.integer({ min: 0, max: 300 }), fc.integer({ min: 1, max: 8 }), (from, len, p) => {
        const to = from + len;
        const src = new NumberSequenceSource(from, to);
        const seen: number[] = [];
        for (let s = 0; s < p; s++) {
          const mine = drain(reader(src, splitsOf(src, s, p), s, p));
          assert.deepEqual(mine, [...mine].sort((a, b) => a - b), 'each subtask reads in ascending order');
          seen.push(...mine);
        }
        seen.sort((a, b) => a - b);
        assert.deepEqual(seen, range(from, to));
        // The splits are contiguous and their sizes differ by at most one.
        const sizes = src.initialSplits(p).map((sp) => (sp as unknown as { end: number; next: number }).end - (sp as unknown as { next: number }).next + 1);
        assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `sizes ${sizes}`);
        assert.equal(src.initialSplits(p).length, Math.min(p, len + 1));
      }),
      { numRuns: 1000 },
    );
  });

  test('stopping anywhere, snapshotting and continuing from the snapshot yields every element exactly once, in order (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -50, max: 50 }),
        fc.integer({ min: 0, max: 400 }),
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.integer({ min: 0, max: 60 }), { minLength: 1, maxLength: 6 }).filter((b) => b.some((x) => x > 0)),
        fc.nat(40),
        (from, len, p, budgets, stopAfter) => {
          const src = new NumberSequenceSource(from, from + len);
          const all: number[] = [];
          for (let s = 0; s < p; s++) {
            const expected = drain(reader(src, splitsOf(src, s, p), s, p));
            const got = readWithRestore(src, splitsOf(src, s, p), budgets, stopAfter, s, p);
            assert.deepEqual(got, expected, `subtask ${s}`);
            all.push(...got);
          }
          assert.deepEqual(all.sort((a, b) => a - b), range(from, from + len));
        },
      ),
      { numRuns: 500 },
    );
  });

  test('pollNext never emits more than its budget; budget 0 emits nothing', () => {
    const r = reader(new NumberSequenceSource(1, 100), new NumberSequenceSource(1, 100).initialSplits(1));
    const out: number[] = [];
    assert.equal(r.pollNext((v) => out.push(v), 0), 0);
    assert.equal(out.length, 0);
    assert.equal(r.pollNext((v) => out.push(v), 7), 0);
    assert.deepEqual(out, range(1, 7));
    assert.equal(r.pollNext((v) => out.push(v), 93), 'end', 'the poll that reads the last element reports the end');
    assert.deepEqual(out, range(1, 100));
    assert.equal(r.pollNext((v) => out.push(v), 10), 'end');
    assert.equal(out.length, 100);
  });

  test('invalid ranges are rejected; single elements and big safe integers work', () => {
    assert.throws(() => new NumberSequenceSource(5, 4), RangeError);
    assert.throws(() => new NumberSequenceSource(0.5, 4), RangeError);
    assert.throws(() => new NumberSequenceSource(0, Number.MAX_SAFE_INTEGER + 1), RangeError);
    const one = new NumberSequenceSource(7, 7);
    assert.deepEqual(drain(reader(one, one.initialSplits(1))), [7]);
    const big = new NumberSequenceSource(Number.MAX_SAFE_INTEGER - 9, Number.MAX_SAFE_INTEGER);
    const got = [0, 1, 2].flatMap((s) => drain(reader(big, splitsOf(big, s, 3), s, 3)));
    assert.deepEqual(got.sort((a, b) => a - b), range(Number.MAX_SAFE_INTEGER - 9, Number.MAX_SAFE_INTEGER));
    assert.equal(one.bounded, true);
  });
});

describe('DataGeneratorSource', () => {
  test('generates generator(i) for i in 0..count-1, split over subtasks', () => {
    const src = new DataGeneratorSource((i) => `e${i}`, 10);
    assert.equal(src.bounded, true);
    const got = [0, 1, 2].flatMap((s) => drain(reader(src, splitsOf(src, s, 3), s, 3)));
    assert.deepEqual(got.sort(), range(0, 9).map((i) => `e${i}`).sort());
    assert.equal(new DataGeneratorSource((i) => i).bounded, false);
    assert.throws(() => new DataGeneratorSource((i) => i, 0), RangeError);
  });

  test('rate limiting returns a wait time instead of exceeding the rate', (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
    const rate = 10; // per second, shared by the subtasks
    const src = new DataGeneratorSource((i) => i, 1000, RateLimiterStrategy.perSecond(rate));
    const r = reader(src, src.initialSplits(1));
    const out: number[] = [];
    const start = Date.now();
    let waits = 0;
    for (let step = 0; step < 200; step++) {
      const before = out.length;
      const res = r.pollNext((v) => out.push(v), 1000);
      assert.notEqual(res, 'end');
      if (res !== 0) {
        waits++;
        assert.equal(out.length, before, 'a poll that asks to wait emits nothing');
        assert.ok((res as number) > 0 && (res as number) <= 100, `wait at most one record interval (1000 ms / 10), got ${res}`);
      }
      const elapsed = Date.now() - start;
      assert.ok(out.length <= Math.floor((elapsed / 1000) * rate) + 1, `${out.length} records after ${elapsed} ms exceeds ${rate}/s`);
      t.mock.timers.tick(res === 0 ? 7 : (res as number));
    }
    assert.ok(waits > 0, 'the limiter asked to wait');
    const elapsed = Date.now() - start;
    assert.ok(out.length >= Math.floor((elapsed / 1000) * rate) - 1, `${out.length} records after ${elapsed} ms is far below the rate`);
    assert.deepEqual(out, range(0, out.length - 1));
  });

  test('the rate is shared by the subtasks', (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: 5_000_000 });
    const src = new DataGeneratorSource((i) => i, 100_000, RateLimiterStrategy.perSecond(100));
    const readers = [0, 1].map((s) => reader(src, splitsOf(src, s, 2), s, 2));
    const counts = [0, 0];
    for (let ms = 0; ms <= 2000; ms += 10) {
      readers.forEach((r, s) => r.pollNext(() => counts[s]++, 1000));
      t.mock.timers.tick(10);
    }
    // 2 s at 100/s in total: about 100 per subtask.
    for (const c of counts) assert.ok(c >= 95 && c <= 102, `subtask count ${c}`);
  });

  test('rate-limited reading resumes from a snapshot without loss or duplicates', (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: 0 });
    const src = new DataGeneratorSource((i) => i * 2, 50, RateLimiterStrategy.perSecond(1000));
    const r1 = reader(src, src.initialSplits(1));
    const out: number[] = [];
    for (let i = 0; i < 20; i++) {
      r1.pollNext((v) => out.push(v), 3);
      t.mock.timers.tick(1);
    }
    const r2 = reader(src, r1.snapshotState(1));
    for (let i = 0; i < 10_000; i++) {
      const res = r2.pollNext((v) => out.push(v), 3);
      if (res === 'end') break;
      t.mock.timers.tick(typeof res === 'number' && res > 0 ? res : 1);
    }
    assert.deepEqual(out, range(0, 49).map((i) => i * 2));
  });

  test('RateLimiterStrategy rejects non-positive rates', () => {
    assert.throws(() => RateLimiterStrategy.perSecond(0), RangeError);
    assert.throws(() => RateLimiterStrategy.perSecond(-1), RangeError);
    assert.equal(RateLimiterStrategy.noOp().recordsPerSecond, Infinity);
  });
});

describe('FromElementsSource', () => {
  test('non-parallel, bounded, emits the elements in order and resumes from a snapshot', () => {
    const els = [{ a: 1 }, 'two', 3, [4], null];
    const src = new FromElementsSource(els);
    assert.equal(src.nonParallel, true);
    assert.equal(src.bounded, true);
    assert.equal(src.initialSplits().length, 1);
    assert.deepEqual(drain(reader(src, src.initialSplits())), els);
    for (let stop = 0; stop <= 6; stop++) {
      assert.deepEqual(readWithRestore(src, src.initialSplits(), [2], stop), els, `stop after ${stop} polls`);
    }
  });

  test('an empty element list ends at once', () => {
    const src = new FromElementsSource<number>([]);
    assert.deepEqual(src.initialSplits(), []);
    const out: number[] = [];
    assert.equal(reader(src, []).pollNext((v) => out.push(v), 10), 'end');
    assert.deepEqual(out, []);
  });
});

describe('TextFileSource', () => {
  function file(content: string | Buffer): string {
    const p = join(root, `f${++fileNo}.txt`);
    writeFileSync(p, content);
    return p;
  }
  const linesOf = (path: string, budgets: number[] = [1000]) => {
    const src = new TextFileSource(path);
    return drain(reader(src, src.initialSplits()), budgets);
  };

  test('reads lines: \\r\\n, empty lines, no trailing newline', () => {
    assert.deepEqual(linesOf(file('a\r\nb\n\nc\r\n\r\nd')), ['a', 'b', '', 'c', '', 'd']);
    assert.deepEqual(linesOf(file('one\ntwo\n')), ['one', 'two']);
    assert.deepEqual(linesOf(file('')), []);
    assert.deepEqual(linesOf(file('\n')), ['']);
    assert.deepEqual(linesOf(file('\n\n')), ['', '']);
    assert.deepEqual(linesOf(file('no newline')), ['no newline']);
    assert.deepEqual(linesOf(file('a\rb\n')), ['a\rb'], 'a lone \\r inside a line is kept');
    assert.deepEqual(linesOf(file('ünï\r\ncödé 😀\n')), ['ünï', 'cödé 😀']);
  });

  test('multibyte UTF-8 characters across the 64 KiB read boundary', () => {
    const CHUNK = 1 << 16;
    for (const ch of ['é', '€', '😀']) {
      const bytes = Buffer.byteLength(ch);
      for (let shift = -bytes - 1; shift <= 1; shift++) {
        // The multibyte character starts `shift` bytes around the chunk boundary.
        const first = 'a'.repeat(CHUNK + shift) + ch + 'z';
        const second = `${ch}${'b'.repeat(CHUNK)}${ch}`;
        const p = file(`${first}\r\n${second}\nlast ${ch}`);
        assert.deepEqual(linesOf(p), [first, second, `last ${ch}`], `${ch} shift ${shift}`);
        assert.deepEqual(linesOf(p, [1]), [first, second, `last ${ch}`], `${ch} shift ${shift}, budget 1`);
      }
    }
  });

  test('resumes exactly from a snapshot offset (property)', () => {
    const line = fc.string({ unit: fc.constantFrom('a', 'b', ' ', 'é', '€', '😀', '\r', '\t'), maxLength: 30 }).filter((l) => !l.endsWith('\r'));
    fc.assert(
      fc.property(fc.array(line, { maxLength: 25 }), fc.boolean(), fc.boolean(), fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 4 }).filter((b) => b.some((x) => x > 0)), fc.nat(30), (lines, crlf, trailing, budgets, stopAfter) => {
        const eol = crlf ? '\r\n' : '\n';
        const content = lines.join(eol) + (trailing && lines.length > 0 ? eol : '');
        const expected = [...lines];
        if (!(trailing && lines.length > 0) && expected.length > 0 && expected[expected.length - 1] === '') expected.pop();
        const p = file(content);
        const src = new TextFileSource(p);
        assert.deepEqual(drain(reader(src, src.initialSplits()), budgets), expected);
        assert.deepEqual(readWithRestore(src, src.initialSplits(), budgets, stopAfter), expected);
        rmSync(p);
      }),
      { numRuns: 400 },
    );
  });

  test('a snapshot holds the byte offset of the next unread line', () => {
    const p = file('ab\r\n€\nlast');
    const src = new TextFileSource(p);
    const r = reader(src, src.initialSplits());
    const out: string[] = [];
    assert.equal(r.pollNext((v) => out.push(v), 1), 0);
    assert.deepEqual(r.snapshotState(1), [{ id: '0', path: p, offset: 4 }]);
    assert.equal(r.pollNext((v) => out.push(v), 1), 0);
    assert.deepEqual(r.snapshotState(1), [{ id: '0', path: p, offset: 8 }]);
    // Restore at an offset in the middle of the file, as a checkpoint would.
    const r2 = reader(src, [{ id: '0', path: p, offset: 8 }]);
    assert.deepEqual(drain(r2), ['last']);
    r.close?.();
  });

  test('a directory is read file by file in name order, skipping hidden and _ files; file: URIs work', () => {
    const dir = join(root, `dir${++fileNo}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'b.txt'), 'b1\nb2');
    writeFileSync(join(dir, 'a.txt'), 'a1\n');
    writeFileSync(join(dir, '.hidden'), 'h\n');
    writeFileSync(join(dir, '_SUCCESS'), 's\n');
    const src = new TextFileSource(`file://${dir}`);
    assert.equal(src.path, dir);
    const splits = src.initialSplits();
    assert.deepEqual(splits.map((s) => s.id), ['0', '1']);
    assert.deepEqual(drain(reader(src, splits)), ['a1', 'b1', 'b2']);
    for (let stop = 0; stop < 6; stop++) assert.deepEqual(readWithRestore(src, splits, [1], stop), ['a1', 'b1', 'b2'], `stop ${stop}`);
    assert.equal(new TextFileSource(`file:${dir}`).path, dir);
  });
});

describe('ParameterTool', () => {
  test('parses --key value, -key value and flags', () => {
    const p = ParameterTool.fromArgs(['--input', 'in.txt', '-output', 'out', '--verbose', '--n', '5', '--neg', '-3', '--last']);
    assert.equal(p.get('input'), 'in.txt');
    assert.equal(p.get('output'), 'out');
    assert.equal(p.has('verbose'), true);
    assert.equal(p.get('verbose'), undefined, 'a flag has no value');
    assert.equal(p.get('verbose', 'd'), 'd');
    assert.equal(p.getBoolean('verbose'), true);
    assert.equal(p.getBoolean('last'), true);
    assert.equal(p.getBoolean('absent'), false);
    assert.equal(p.getBoolean('absent', true), true);
    assert.equal(p.getInt('n'), 5);
    assert.equal(p.getInt('neg'), -3, 'a negative number is a value, not a key');
    assert.equal(p.getInt('absent', 7), 7);
    assert.equal(p.getRequired('input'), 'in.txt');
    assert.deepEqual(p.toMap(), { input: 'in.txt', output: 'out', verbose: '__NO_VALUE_KEY', n: '5', neg: '-3', last: '__NO_VALUE_KEY' });
  });

  test('errors: bare values, missing keys, non-integers', () => {
    assert.throws(() => ParameterTool.fromArgs(['value']), /Please prefix keys with -- or -/);
    assert.throws(() => ParameterTool.fromArgs(['--a', 'x', 'y']), /on 'y'/);
    assert.throws(() => ParameterTool.fromArgs(['--']), /Please prefix keys/);
    assert.throws(() => ParameterTool.fromArgs(['-5']), /Please prefix keys/);
    const p = ParameterTool.fromArgs(['--n', '1.5', '--flag']);
    assert.throws(() => p.getInt('n'), /Value '1.5' of key 'n' is not an integer/);
    assert.throws(() => p.getInt('missing'), /No data for required key 'missing'/);
    assert.throws(() => p.getRequired('flag'), /No data for required key 'flag'/);
    assert.throws(() => p.getRequired('missing'), /No data for required key 'missing'/);
  });

  test('getBoolean values, fromMap, and empty args', () => {
    const p = ParameterTool.fromArgs(['--a', 'true', '--b', 'TRUE', '--c', 'false', '--d', 'yes']);
    assert.deepEqual(['a', 'b', 'c', 'd'].map((k) => p.getBoolean(k)), [true, true, false, false]);
    const m = ParameterTool.fromMap({ x: '1', y: 'z' });
    assert.equal(m.getInt('x'), 1);
    assert.equal(m.get('y'), 'z');
    assert.deepEqual(ParameterTool.fromArgs([]).toMap(), {});
  });

  test('round trip: toMap of parsed --key value pairs (property)', () => {
    const key = fc.string({ unit: fc.constantFrom(...'abcxyz-_.'), minLength: 1, maxLength: 8 }).filter((k) => !k.startsWith('-'));
    const value = fc.string({ unit: fc.constantFrom(...'abc123 .'), minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(fc.dictionary(key, value, { maxKeys: 6, noNullPrototype: true }), (m) => {
        const args = Object.entries(m).flatMap(([k, v]) => [`--${k}`, v]);
        assert.deepEqual(ParameterTool.fromArgs(args).toMap(), m);
      }),
      { numRuns: 300 },
    );
  });
});
