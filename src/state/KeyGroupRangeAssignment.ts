import { KeyGroupRange } from './KeyGroupRange.js';

/**
 * Flink's key-group arithmetic: a key hashes to one of `maxParallelism` key groups; each operator subtask
 * owns a contiguous range of them. Rescaling moves whole key groups, so the format never changes with it.
 */
export const DEFAULT_MAX_PARALLELISM = 128;
export const UPPER_BOUND_MAX_PARALLELISM = 1 << 15;

/** murmur3 (32-bit) over UTF-16 code units; stable across processes and runs. */
export function murmurString(s: string): number {
  let h = 0x9747b28c;
  const n = s.length;
  let i = 0;
  for (; i + 1 < n; i += 2) h = mixH(h, mixK((s.charCodeAt(i) & 0xffff) | ((s.charCodeAt(i + 1) & 0xffff) << 16)));
  if (i < n) h ^= mixK(s.charCodeAt(i) & 0xffff);
  return fmix(h, n);
}

/** murmurString of the latin-1 string in bytes [start, start + n): the same hash without making the string. */
export function murmurLatin1(b: Uint8Array, start: number, n: number): number {
  let h = 0x9747b28c;
  let i = 0;
  for (; i + 1 < n; i += 2) h = mixH(h, mixK(b[start + i] | (b[start + i + 1] << 16)));
  if (i < n) h ^= mixK(b[start + i]);
  return fmix(h, n);
}

function mixK(k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, 0x1b873593);
}

function mixH(h: number, k: number): number {
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function fmix(h: number, n: number): number {
  h ^= n;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Keys are compared by value: primitives as themselves, anything else (and strings that could be
 * mistaken for an encoded key) by a canonical, type-tagged encoding. The normalized key is what state
 * tables use as Map keys and what is hashed, so equal keys always share state and key group.
 */
export type NormalizedKey = string | number | boolean | bigint | null | undefined;

const ENCODED = '\u0000';

export function normalizeKey(key: unknown): NormalizedKey {
  switch (typeof key) {
    case 'string':
      return key.startsWith(ENCODED) ? ENCODED + canonical(key) : key;
    case 'number':
    case 'boolean':
    case 'bigint':
    case 'undefined':
      return key;
    default:
      return key === null ? null : ENCODED + canonical(key);
  }
}

/** A stable text form of any structured-cloneable value; object keys and Set/Map entries sorted. */
function canonical(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return `s${JSON.stringify(v)}`;
    case 'number':
      return `n${Object.is(v, -0) ? '0' : String(v)}`;
    case 'bigint':
      return `i${v}`;
    case 'boolean':
      return v ? 't' : 'f';
    case 'undefined':
      return 'u';
    default:
      break;
  }
  if (v === null) return 'z';
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v instanceof Date) return `D${v.getTime()}`;
  if (v instanceof Map) return `M{${[...v].map(([k, x]) => `${canonical(k)}:${canonical(x)}`).sort().join(',')}}`;
  if (v instanceof Set) return `S{${[...v].map(canonical).sort().join(',')}}`;
  if (ArrayBuffer.isView(v)) return `B${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
}

export function hashKey(nk: NormalizedKey): number {
  if (typeof nk === 'string') return murmurString(nk);
  return murmurString(`\u0001${typeof nk}:${String(nk)}`);
}

/** The hash a key's key group comes from (its normalized form's): what the hash partitioner ships with each record. */
export function keyHash(key: unknown): number {
  return hashKey(normalizeKey(key));
}

export function assignToKeyGroup(key: unknown, maxParallelism: number): number {
  return keyHash(key) % maxParallelism;
}

export function computeOperatorIndexForKeyGroup(maxParallelism: number, parallelism: number, keyGroup: number): number {
  return Math.floor((keyGroup * parallelism) / maxParallelism);
}

export function computeKeyGroupRangeForOperatorIndex(maxParallelism: number, parallelism: number, operatorIndex: number): KeyGroupRange {
  const start = Math.floor((operatorIndex * maxParallelism + parallelism - 1) / parallelism);
  const end = Math.floor(((operatorIndex + 1) * maxParallelism - 1) / parallelism);
  return new KeyGroupRange(start, end);
}

export function checkParallelism(parallelism: number, maxParallelism: number): void {
  if (maxParallelism < 1 || maxParallelism > UPPER_BOUND_MAX_PARALLELISM) {
    throw new RangeError(`Max parallelism must be between 1 and ${UPPER_BOUND_MAX_PARALLELISM}, got ${maxParallelism}`);
  }
  if (parallelism > maxParallelism) {
    throw new RangeError(`Parallelism ${parallelism} is higher than the max parallelism ${maxParallelism}`);
  }
}
