import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MARK_EVERY, steadyRate, type MarkedReport } from '../../bench/lib/steadyRate.js';

/** A sink report whose count passed each MARK_EVERY at the times `msPerMark(i)` add up to, from t = 0. */
function report(count: number, msPerMark: (i: number) => number, tailMs: number): MarkedReport {
  const marks: number[] = [];
  let t = 0;
  for (let i = 0; (i + 1) * MARK_EVERY <= count; i++) marks.push((t += msPerMark(i)));
  return { count, last: t + tailMs, marks };
}

describe('bench: the rate after the warm-up', () => {
  test('a slow start does not count, the rest is measured from the first mark past a third', () => {
    const count = 12 * MARK_EVERY;
    // Marks 0-3 (the first third) at 100 ms each, then 10 ms each; the end of input 10 ms after the last mark.
    const r = report(count, (i) => (i < 4 ? 100 : 10), 10);
    // From mark 4 (count 4 × MARK_EVERY, t = 400) to the end (t = 400 + 8 × 10 + 10... = 490): 8 marks' records in 90 ms.
    const expected = (8 * MARK_EVERY) / ((r.last - r.marks![3]) / 1000);
    assert.equal(steadyRate([r]), expected);
    assert.ok(Math.abs(expected - (8 * MARK_EVERY) / 0.09) < 1e-3);
    const wholeRun = count / (r.last / 1000);
    assert.ok(expected > 3 * wholeRun, `steady ${expected} against the whole run's ${wholeRun}`);
  });

  test('subtasks side by side add up; one that saw nothing is left out', () => {
    const a = report(9 * MARK_EVERY, () => 10, 10);
    const b = report(9 * MARK_EVERY, () => 20, 20);
    assert.equal(steadyRate([a, b, { count: 0, last: 0, marks: [] }]), steadyRate([a])! + steadyRate([b])!);
  });

  test('too few records after the third, or no marks (a report of an older sink), give no figure rather than a wrong one', () => {
    assert.equal(steadyRate([report(MARK_EVERY + 100, () => 10, 10)]), undefined);
    assert.equal(steadyRate([{ count: 9 * MARK_EVERY, last: 100 }]), undefined);
    assert.equal(steadyRate([report(9 * MARK_EVERY, () => 10, 10), { count: 9 * MARK_EVERY, last: 100 }]), undefined);
    assert.equal(steadyRate([]), undefined);
  });
});
