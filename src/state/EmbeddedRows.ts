import { deserialize, serialize } from 'node:v8';
import { decodeCompact, encodeCompact } from './EmbeddedValueCodec.js';
import type { NormalizedKey } from './KeyGroupRangeAssignment.js';

/**
 * The embedded backend's rows: key `u16 keyGroup | u16 stateId | key bytes`, value `fmt | hasKey |
 * [u32 length | original key] | stored value`. Shared by the backend and by what reads its shipped store
 * files (restore with another key-group range, `flink state`).
 */

/** A stored row: [format bits, key, value as a snapshot chunk holds it]. */
export type Row = [fmt: number, k: unknown, stored: unknown];

/*
 * Byte encodings of keys and rows. V8's serializer costs microseconds per call (it builds a serializer
 * object), so the primitives that keys and most values are get a one-byte tag and their raw bytes.
 */
export const T_NUM = 1;
export const T_STR = 2;
export const T_TRUE = 3;
export const T_FALSE = 4;
export const T_NULL = 5;
export const T_UNDEF = 6;
export const T_V8 = 7;
/** Plain objects, arrays and what they hold, in EmbeddedValueCodec's encoding. */
export const T_JS = 8;

export function encodeValue(v: unknown): Buffer {
  switch (typeof v) {
    case 'number': {
      const b = Buffer.allocUnsafe(9);
      b[0] = T_NUM;
      b.writeDoubleBE(v, 1);
      return b;
    }
    case 'string': {
      const b = Buffer.allocUnsafe(1 + Buffer.byteLength(v));
      b[0] = T_STR;
      b.write(v, 1);
      return b;
    }
    case 'boolean':
      return Buffer.of(v ? T_TRUE : T_FALSE);
    case 'undefined':
      return Buffer.of(T_UNDEF);
    default: {
      if (v === null) return Buffer.of(T_NULL);
      const c = encodeCompact(JS_HEAD, v);
      return c ? Buffer.from(c) : Buffer.concat([Buffer.of(T_V8), serialize(v)]);
    }
  }
}

const JS_HEAD = [T_JS];

export function decodeValue(b: Buffer): unknown {
  switch (b[0]) {
    case T_NUM:
      return b.readDoubleBE(1);
    case T_STR:
      return b.toString('utf8', 1);
    case T_TRUE:
      return true;
    case T_FALSE:
      return false;
    case T_NULL:
      return null;
    case T_UNDEF:
      return undefined;
    case T_JS:
      return decodeCompact(b, 1);
    default:
      return deserialize(b.subarray(1));
  }
}

/** Keys equal as Map keys (SameValueZero) must have equal bytes: -0 is 0. */
export const encodeKey = (nk: NormalizedKey): Buffer => encodeValue(nk === 0 ? 0 : nk);
export const decodeKey = (b: Buffer): NormalizedKey => decodeValue(b) as NormalizedKey;

const ROW = Buffer.allocUnsafe(11);
const ROW_HEAD = [0, 0, T_JS];

/**
 * `fmt | hasKey | [u32 length | key] | value`: the original key only when it is not its normalized form
 * (objects). The bytes may be a reused buffer, valid until the next call: copy them to keep them.
 */
export function encodeRow(fmt: number, k: unknown, nk: NormalizedKey, stored: unknown): Buffer {
  if (k === nk) {
    // The common rows (a number, a record or a tuple as value) without an allocation.
    if (typeof stored === 'number') {
      ROW[0] = fmt;
      ROW[1] = 0;
      ROW[2] = T_NUM;
      ROW.writeDoubleBE(stored, 3);
      return ROW;
    }
    if (typeof stored === 'object' && stored !== null) {
      ROW_HEAD[0] = fmt;
      const c = encodeCompact(ROW_HEAD, stored);
      if (c) return c;
    }
    return Buffer.concat([Buffer.of(fmt, 0), encodeValue(stored)]);
  }
  const v = encodeValue(stored);
  const kb = encodeValue(k);
  const head = Buffer.allocUnsafe(6);
  head[0] = fmt;
  head[1] = 1;
  head.writeUInt32BE(kb.length, 2);
  return Buffer.concat([head, kb, v]);
}

export function decodeRow(b: Buffer, nk: NormalizedKey): Row {
  if (b[1] === 0) return [b[0], nk, b[2] === T_NUM ? b.readDoubleBE(3) : b[2] === T_JS ? decodeCompact(b, 3) : decodeValue(b.subarray(2))];
  const len = b.readUInt32BE(2);
  return [b[0], decodeValue(b.subarray(6, 6 + len)), decodeValue(b.subarray(6 + len))];
}

