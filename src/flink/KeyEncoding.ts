import { decode, encode } from '../core/Serializer.js';

/**
 * The Flink key of a flink-ts key on the runner (docs/flink-runner.md): a java.lang.String, so Flink hashes it
 * the same way in every JVM (String.hashCode) and a string key stays readable in Flink's state. A JS string maps
 * to itself; every other key to "\u0001" + base64 of its V8 bytes. A string key that itself starts with "\u0001"
 * is escaped the same way, so decodeKey is exact for every key.
 */
const TAG = '\u0001';

export function encodeKey(key: unknown): string {
  if (typeof key === 'string' && !key.startsWith(TAG)) return key;
  return TAG + encode(key).toString('base64');
}

export function decodeKey(s: string): unknown {
  if (!s.startsWith(TAG)) return s;
  return decode(Buffer.from(s.slice(1), 'base64'));
}
