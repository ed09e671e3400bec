import { deserialize, serialize } from 'node:v8';

/**
 * Records and state values are serialized with V8's structured-clone format (node:v8): it round-trips
 * everything a job may hold (Date, bigint, Map and Set with any keys, typed arrays, undefined, -0, NaN)
 * and is the same format postMessage uses. V8 reads data written by older versions of itself.
 */
export function encode(value: unknown): Buffer {
  return serialize(value);
}

export function decode<T = unknown>(bytes: Uint8Array): T {
  return deserialize(bytes) as T;
}
