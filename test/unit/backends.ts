/**
 * The keyed state backend the state test suites run against: the heap backend, or the embedded on-disk
 * one when FLINK_TS_TEST_BACKEND=embedded (set by the *-embedded.test.ts files that re-run a suite).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedKeyedStateBackend } from '../../src/state/EmbeddedKeyedStateBackend.js';
import { HeapKeyedStateBackend } from '../../src/state/HeapKeyedStateBackend.js';
import type { KeyedStateBackend } from '../../src/state/KeyedStateBackend.js';
import type { KeyedStateBackendOptions } from '../../src/state/AbstractKeyedStateBackend.js';
import { KeyGroupRange } from '../../src/state/KeyGroupRange.js';

export const BACKEND: 'hashmap' | 'embedded' = process.env.FLINK_TS_TEST_BACKEND === 'embedded' ? 'embedded' : 'hashmap';

let root: string | undefined;
const created: EmbeddedKeyedStateBackend[] = [];
after(() => {
  for (const b of created) b.dispose();
  if (root) rmSync(root, { recursive: true, force: true });
});

export function keyedBackend(range: KeyGroupRange, maxParallelism: number, options: KeyedStateBackendOptions = {}): KeyedStateBackend {
  if (BACKEND === 'hashmap') return new HeapKeyedStateBackend(range, maxParallelism, options);
  root ??= mkdtempSync(join(tmpdir(), 'flink-ts-embedded-'));
  const b = new EmbeddedKeyedStateBackend(range, maxParallelism, { ...options, localDir: join(root, `b${created.length}`), writeCacheEntries: 7, cacheEntries: 11 });
  created.push(b);
  return b;
}

/** A test that the suite got `expected`: the re-run files hand the backend over through the environment. */
export function testBackendIs(expected: 'hashmap' | 'embedded'): void {
  test(`the suite ran against the ${expected} backend`, () => {
    assert.equal(BACKEND, expected);
    const cls = Object.getPrototypeOf(keyedBackend(new KeyGroupRange(0, 127), 128)).constructor;
    assert.equal(cls, expected === 'embedded' ? EmbeddedKeyedStateBackend : HeapKeyedStateBackend);
  });
}
