import { deserialize, serialize } from 'node:v8';

/**
 * V8's structured-clone format (node:v8) written and read in plain JS for the common shapes of records and state
 * values: numbers, latin-1 strings, booleans, null, undefined, plain objects with string keys and dense arrays of
 * these. node:v8's serialize()/deserialize() build a native (De)Serializer per call, which costs microseconds per
 * record (43% of the Flink runner's worker profile); everything else (Date, Map, Set, bigint, typed arrays, class
 * instances, shared or cyclic references, two-byte strings) takes node:v8's own path, so the bytes are always V8's
 * format and node:v8 reads what this writes. The only difference: an integral double in int32 range is written as
 * V8's int32 tag whether V8 holds it as a Smi or a heap number (V8 itself writes either, depending on its history).
 */
const VERSION = serialize(null)[1];
const T = {
  PADDING: 0x00, INT32: 0x49, DOUBLE: 0x4e, ONE_BYTE: 0x22, TWO_BYTE: 0x63, UTF8: 0x53, TRUE: 0x54, FALSE: 0x46,
  NULL: 0x30, UNDEFINED: 0x5f, OBJECT: 0x6f, END_OBJECT: 0x7b, DENSE_ARRAY: 0x41, END_DENSE_ARRAY: 0x24,
} as const;

/** Raised inside the fast path for a shape it does not write or read; the caller falls back to node:v8. */
const UNSUPPORTED = Symbol('unsupported');

let buf = Buffer.allocUnsafe(1 << 16);
let pos = 0;
const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);
let seen: object[] = [];
let busy = false;

function room(n: number): void {
  if (pos + n <= buf.length) return;
  const next = Buffer.allocUnsafe(Math.max(buf.length * 2, pos + n));
  buf.copy(next, 0, 0, pos);
  buf = next;
}

function varint(v: number): void {
  room(5);
  while (v >= 0x80) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
}

function writeString(s: string): void {
  const n = s.length;
  varint(n);
  room(n);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) throw UNSUPPORTED;
    buf[pos++] = c;
  }
}

function writeValue(v: unknown): void {
  switch (typeof v) {
    case 'number':
      if ((v | 0) === v && !Object.is(v, -0)) {
        room(1);
        buf[pos++] = T.INT32;
        varint(((v << 1) ^ (v >> 31)) >>> 0);
      } else {
        room(9);
        buf[pos++] = T.DOUBLE;
        f64[0] = v;
        buf.set(f64Bytes, pos);
        pos += 8;
      }
      return;
    case 'string':
      room(1);
      buf[pos++] = T.ONE_BYTE;
      writeString(v);
      return;
    case 'boolean':
      room(1);
      buf[pos++] = v ? T.TRUE : T.FALSE;
      return;
    case 'undefined':
      room(1);
      buf[pos++] = T.UNDEFINED;
      return;
    case 'object': {
      if (v === null) {
        room(1);
        buf[pos++] = T.NULL;
        return;
      }
      // V8 writes a reference to an object seen before in the value; node:v8 keeps that identity.
      // (A large graph takes node:v8's path too: its per-call cost is small beside the value's.)
      if (seen.length >= 64 || seen.includes(v)) throw UNSUPPORTED;
      seen.push(v);
      const proto = Object.getPrototypeOf(v);
      if (proto === Object.prototype) {
        const keys = Object.keys(v);
        room(1);
        buf[pos++] = T.OBJECT;
        for (const k of keys) {
          // Integer-like keys are written as numbers by V8; __proto__ must stay an own property on reading.
          const c = k.charCodeAt(0);
          if ((c >= 0x30 && c <= 0x39) || k === '__proto__') throw UNSUPPORTED;
          room(1);
          buf[pos++] = T.ONE_BYTE;
          writeString(k);
          writeValue((v as Record<string, unknown>)[k]);
        }
        room(1);
        buf[pos++] = T.END_OBJECT;
        varint(keys.length);
        return;
      }
      if (proto === Array.prototype) {
        const a = v as unknown[];
        const n = a.length;
        room(1);
        buf[pos++] = T.DENSE_ARRAY;
        varint(n);
        for (let i = 0; i < n; i++) {
          if (!(i in a)) throw UNSUPPORTED; // holes: V8 writes them its own way
          writeValue(a[i]);
        }
        if (Object.keys(a).length !== n) throw UNSUPPORTED; // extra named properties
        room(1);
        buf[pos++] = T.END_DENSE_ARRAY;
        varint(0);
        varint(n);
        return;
      }
      throw UNSUPPORTED;
    }
    default:
      throw UNSUPPORTED;
  }
}

/** v8.serialize(value), in JS for the common shapes. */
export function fastSerialize(value: unknown): Buffer {
  if (busy) return serialize(value); // a getter that serializes, inside a serialization
  busy = true;
  pos = 0;
  seen.length = 0;
  try {
    room(2);
    buf[pos++] = 0xff;
    buf[pos++] = VERSION;
    writeValue(value);
  } catch (e) {
    if (e !== UNSUPPORTED) throw e;
    seen = [];
    return serialize(value);
  } finally {
    busy = false;
  }
  const out = Buffer.allocUnsafe(pos);
  buf.copy(out, 0, 0, pos);
  return out;
}

const EMPTY = new Uint8Array(0);
let rb: Uint8Array = EMPTY;
let rp = 0;
let rend = 0;

function readVarint(): number {
  let v = 0;
  let scale = 1;
  for (let i = 0; i < 5; i++) {
    if (rp >= rend) throw UNSUPPORTED;
    const b = rb[rp++];
    v += (b & 0x7f) * scale;
    if (b < 0x80) return v;
    scale *= 128;
  }
  throw UNSUPPORTED;
}

function readLatin1(n: number): string {
  if (rp + n > rend) throw UNSUPPORTED;
  let s: string;
  if (n <= 24) {
    s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(rb[rp + i]);
  } else {
    s = Buffer.from(rb.buffer, rb.byteOffset + rp, n).toString('latin1');
  }
  rp += n;
  return s;
}

function readTag(): number {
  for (;;) {
    if (rp >= rend) throw UNSUPPORTED;
    const t = rb[rp++];
    if (t !== T.PADDING) return t;
  }
}

function readValueTagged(t: number): unknown {
  switch (t) {
    case T.INT32: {
      const z = readVarint();
      if (z > 0xffffffff) throw UNSUPPORTED;
      return (z >>> 1) ^ -(z & 1);
    }
    case T.DOUBLE: {
      if (rp + 8 > rend) throw UNSUPPORTED;
      for (let i = 0; i < 8; i++) f64Bytes[i] = rb[rp + i];
      rp += 8;
      return f64[0];
    }
    case T.ONE_BYTE:
      return readLatin1(readVarint());
    case T.TRUE:
      return true;
    case T.FALSE:
      return false;
    case T.NULL:
      return null;
    case T.UNDEFINED:
      return undefined;
    case T.OBJECT: {
      const o: Record<string, unknown> = {};
      let n = 0;
      for (;;) {
        const kt = readTag();
        if (kt === T.END_OBJECT) {
          if (readVarint() !== n) throw UNSUPPORTED;
          return o;
        }
        if (kt !== T.ONE_BYTE) throw UNSUPPORTED; // numeric or two-byte keys: node:v8
        const k = readLatin1(readVarint());
        if (k === '__proto__') throw UNSUPPORTED;
        o[k] = readValueTagged(readTag());
        n++;
      }
    }
    case T.DENSE_ARRAY: {
      const n = readVarint();
      if (n > rend - rp) throw UNSUPPORTED;
      const a = new Array(n);
      for (let i = 0; i < n; i++) a[i] = readValueTagged(readTag());
      if (readTag() !== T.END_DENSE_ARRAY) throw UNSUPPORTED; // named properties: node:v8
      readVarint();
      if (readVarint() !== n) throw UNSUPPORTED;
      return a;
    }
    default:
      throw UNSUPPORTED;
  }
}

/** v8.deserialize(bytes), in JS for the common shapes. */
export function fastDeserialize(bytes: Uint8Array): unknown {
  if (bytes.length < 3 || bytes[0] !== 0xff || bytes[1] !== VERSION) return deserialize(bytes);
  rb = bytes;
  rp = 2;
  rend = bytes.length;
  try {
    const v = readValueTagged(readTag());
    if (rp !== rend) throw UNSUPPORTED;
    return v;
  } catch (e) {
    if (e !== UNSUPPORTED) throw e;
    return deserialize(bytes);
  } finally {
    rb = EMPTY;
  }
}
