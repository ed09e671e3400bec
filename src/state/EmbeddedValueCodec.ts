/**
 * A compact byte encoding of the plain JSON-like values most keyed state holds (records as plain objects,
 * tuples as arrays, strings, numbers, booleans, null, undefined), for the embedded backend's rows. V8's
 * serializer builds a serializer object per call (a few microseconds for a three-field record, and garbage);
 * this writes into one reused buffer. It takes only what it gives back exactly: objects whose prototype is
 * Object.prototype, arrays without holes or extra properties, strings unit by unit (lone surrogates too), -0;
 * no object twice (V8 keeps shared references). Anything else returns false and the row falls back to V8.
 */

const UNDEF = 0;
const NULL = 1;
const FALSE = 2;
const TRUE = 3;
const INT = 4; // int32, little-endian
const F64 = 5; // float64, little-endian
const STR = 6; // varint (units << 1 | utf16), then latin1 bytes or UTF-16LE units
const OBJ = 7; // varint n, then n × (name as STR without its tag, value)
const ARR = 8; // varint n, then n values

const MAX_DEPTH = 32;

let buf = Buffer.allocUnsafe(1 << 16);
let pos = 0;
/** Objects met so far in the value being encoded (`seenN` of them). */
const seen: object[] = [];
let seenN = 0;

/** Views of `buf` by length, made once (a view per call would be garbage per row). */
let views: Buffer[] = [];

function ensure(n: number): void {
  if (pos + n <= buf.length) return;
  const bigger = Buffer.allocUnsafe(Math.max(2 * buf.length, pos + n));
  buf.copy(bigger, 0, 0, pos);
  buf = bigger;
  views = [];
}

function varint(n: number): void {
  while (n >= 0x80) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[pos++] = n;
}

function str(s: string): void {
  const n = s.length;
  ensure(5 + 2 * n);
  const at = pos;
  varint(n << 1);
  let i = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) break;
    buf[pos + i] = c;
  }
  if (i === n) {
    pos += n;
    return;
  }
  // Not latin1: the units as they are (UTF-8 would replace a lone surrogate).
  pos = at;
  varint((n << 1) | 1);
  pos += buf.write(s, pos, 'utf16le');
}

const F64_SCRATCH = new Float64Array(1);
const F64_BYTES = new Uint8Array(F64_SCRATCH.buffer);

function value(v: unknown, depth: number): boolean {
  if (pos + 9 > buf.length) ensure(9);
  switch (typeof v) {
    case 'number':
      if ((v | 0) === v && (v !== 0 || 1 / v > 0)) {
        buf[pos] = INT;
        buf[pos + 1] = v;
        buf[pos + 2] = v >> 8;
        buf[pos + 3] = v >> 16;
        buf[pos + 4] = v >> 24;
        pos += 5;
      } else {
        buf[pos] = F64;
        F64_SCRATCH[0] = v;
        for (let i = 0; i < 8; i++) buf[pos + 1 + i] = F64_BYTES[i]; // little-endian hosts (as Node's x64/arm64)
        pos += 9;
      }
      return true;
    case 'string':
      buf[pos++] = STR;
      str(v);
      return true;
    case 'boolean':
      buf[pos++] = v ? TRUE : FALSE;
      return true;
    case 'undefined':
      buf[pos++] = UNDEF;
      return true;
    case 'object': {
      if (v === null) {
        buf[pos++] = NULL;
        return true;
      }
      if (depth >= MAX_DEPTH) return false;
      // The top-level value cannot repeat; nested objects are checked against all seen before.
      if (depth > 0) {
        for (let i = 0; i < seenN; i++) if (seen[i] === v) return false;
      }
      seen[seenN++] = v;
      const proto = Object.getPrototypeOf(v);
      if (proto === Object.prototype) {
        const names = Object.keys(v);
        buf[pos++] = OBJ;
        varint(names.length);
        for (let i = 0; i < names.length; i++) {
          const name = names[i];
          str(name);
          if (!value((v as Record<string, unknown>)[name], depth + 1)) return false;
        }
        return true;
      }
      if (proto === Array.prototype) {
        const a = v as unknown[];
        if (Object.keys(a).length !== a.length) return false; // holes or extra properties
        buf[pos++] = ARR;
        varint(a.length);
        for (let i = 0; i < a.length; i++) if (!value(a[i], depth + 1)) return false;
        return true;
      }
      return false;
    }
    default:
      return false; // bigint, symbol, function
  }
}

/**
 * Encodes `v` after `head` (bytes written first, e.g. a row's header) into a reused buffer: the bytes are
 * valid until the next call; undefined if the value is not one this encoding takes.
 */
export function encodeCompact(head: ArrayLike<number>, v: unknown): Buffer | undefined {
  pos = 0;
  seenN = 0;
  ensure(head.length);
  for (let i = 0; i < head.length; i++) buf[pos++] = head[i];
  const ok = value(v, 0);
  for (let i = 0; i < seenN; i++) seen[i] = undefined as never; // no references kept
  if (!ok) return undefined;
  return pos <= 4096 ? (views[pos] ??= buf.subarray(0, pos)) : buf.subarray(0, pos);
}

// ---------------------------------------------------------------- decoding

let src: Buffer = buf;
let at = 0;

function readVarint(): number {
  let n = 0;
  let shift = 0;
  for (;;) {
    const b = src[at++];
    n += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return n;
    shift += 7;
  }
}

/** Short latin1 strings (names, keys) without a native call; property names repeat, so they are interned. */
const names = new Map<number, string[]>();

function readStr(intern: boolean): string {
  const h = readVarint();
  const n = h >>> 1;
  if (h & 1) {
    const s = src.toString('utf16le', at, at + 2 * n);
    at += 2 * n;
    return s;
  }
  if (n > 24) {
    const s = src.toString('latin1', at, at + n);
    at += n;
    return s;
  }
  if (intern) {
    let hash = n;
    for (let i = 0; i < n; i++) hash = (Math.imul(hash, 31) + src[at + i]) | 0;
    const bucket = names.get(hash);
    if (bucket) {
      for (const s of bucket) if (sameLatin1(s, n)) return (at += n), s;
    }
    const s = latin1(n);
    if (names.size < 4096) (bucket ?? names.set(hash, []).get(hash)!).push(s);
    return s;
  }
  return latin1(n);
}

function sameLatin1(s: string, n: number): boolean {
  if (s.length !== n) return false;
  for (let i = 0; i < n; i++) if (s.charCodeAt(i) !== src[at + i]) return false;
  return true;
}

const fc = String.fromCharCode;

/** Up to 24 latin1 bytes as a string: fromCharCode with explicit arguments is several times a native slice's speed. */
function latin1(n: number): string {
  const b = src;
  let i = at;
  at += n;
  let s = '';
  for (; n >= 8; n -= 8, i += 8) s += fc(b[i], b[i + 1], b[i + 2], b[i + 3], b[i + 4], b[i + 5], b[i + 6], b[i + 7]);
  switch (n) {
    case 0:
      return s;
    case 1:
      return s + fc(b[i]);
    case 2:
      return s + fc(b[i], b[i + 1]);
    case 3:
      return s + fc(b[i], b[i + 1], b[i + 2]);
    case 4:
      return s + fc(b[i], b[i + 1], b[i + 2], b[i + 3]);
    case 5:
      return s + fc(b[i], b[i + 1], b[i + 2], b[i + 3], b[i + 4]);
    case 6:
      return s + fc(b[i], b[i + 1], b[i + 2], b[i + 3], b[i + 4], b[i + 5]);
    default:
      return s + fc(b[i], b[i + 1], b[i + 2], b[i + 3], b[i + 4], b[i + 5], b[i + 6]);
  }
}

function readValue(): unknown {
  switch (src[at++]) {
    case UNDEF:
      return undefined;
    case NULL:
      return null;
    case FALSE:
      return false;
    case TRUE:
      return true;
    case INT: {
      const v = src[at] | (src[at + 1] << 8) | (src[at + 2] << 16) | (src[at + 3] << 24);
      at += 4;
      return v;
    }
    case F64: {
      const v = src.readDoubleLE(at);
      at += 8;
      return v;
    }
    case STR:
      return readStr(false);
    case OBJ: {
      const n = readVarint();
      const o: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) {
        const name = readStr(true);
        if (name === '__proto__') Object.defineProperty(o, name, { value: readValue(), writable: true, enumerable: true, configurable: true });
        else o[name] = readValue();
      }
      return o;
    }
    case ARR: {
      const n = readVarint();
      const a: unknown[] = new Array(n);
      for (let i = 0; i < n; i++) a[i] = readValue();
      return a;
    }
    default:
      throw new Error(`Corrupt compact value: tag ${src[at - 1]} at ${at - 1}`);
  }
}

/** Decodes the value encodeCompact wrote at `offset` of `b`. */
export function decodeCompact(b: Buffer, offset: number): unknown {
  src = b;
  at = offset;
  return readValue();
}
