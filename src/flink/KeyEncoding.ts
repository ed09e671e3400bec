import { deserialize, serialize } from 'node:v8';

/**
 * The Flink key of a TypeScript job's keyed state on the runner (docs/flink-runner.md): a java.lang.String, so
 * Flink's key groups (String.hashCode, murmur) are stable across JVMs. A JS string key is itself; any other key
 * is "\u0001" + base64 of its V8 serialization. Map-state user keys and broadcast-state keys use the same.
 */
const TAG = '\u0001';

export function encodeKey(key: unknown): string {
  return typeof key === 'string' ? key : TAG + serialize(key).toString('base64');
}

export function decodeKey(s: string): unknown {
  return s.startsWith(TAG) ? deserialize(Buffer.from(s.slice(1), 'base64')) : s;
}
