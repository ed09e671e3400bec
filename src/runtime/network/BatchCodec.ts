import { decode, encode } from '../../core/Serializer.js';

/**
 * The wire form of a record batch between two workers. Batches of uniform flat records (plain objects whose
 * fields are all primitives, with the same names in the same order; or bare primitives) travel as columns: the
 * field names once, every field's type tag in a byte, numbers in a Float64Array, strings in one string. The
 * receiver rebuilds the objects with one object literal per shape, so they all share one hidden class. Anything
 * else (Dates, Maps, nested objects, arrays, class instances, bigint, mixed shapes) is V8-serialized as a whole,
 * as before.
 *
 * Why: node:v8 writes each record's field names again and reads a batch of 1024 small objects at ~600 ns a
 * record (the keyed exchange at p=2 spent a quarter of its time there); the columns cost a tight loop on each
 * side (see docs/benchmarks.md, "Keyed p=2 / p=1 (issue 13)").
 */
export type WireBatch = ColumnBatch | ArrayBuffer;

export interface ColumnBatch {
  /** The shape: JSON of the field names, or '' for records that are bare primitives. */
  f: string;
  /** Records. */
  n: number;
  /** n × fields doubles (the number, or a string's length), then n × fields type tags. */
  b: ArrayBuffer;
  /** The batch's strings, in record-then-field order: joined, or (j) a JSON array. */
  s: string;
  j?: 1;
}

// INT: a number that is an int32 (not -0), rebuilt as V8's small integer like the sender's literal held it, not a
// heap number of its own.
const NUM = 0, STR = 1, TRUE = 2, FALSE = 3, NULL = 4, UNDEF = 5, INT = 6;
/**
 * Shorter substrings are copies; from this length on V8 makes a slice that keeps its parent alive, and a
 * record kept in state would then hold its whole batch's strings: such batches carry their strings as JSON,
 * whose parser makes each string its own.
 */
const SLICE_MIN_LENGTH = 13;
const OBJECT_PROTO = Object.prototype;

/** The buffers a WireBatch owns, to transfer with postMessage. */
export function transferables(w: WireBatch): ArrayBuffer[] {
  return w instanceof ArrayBuffer ? [w] : [w.b];
}

/** The batch's size on the wire (Flink's numBytesOut/In), the same on both sides. */
export function wireBytes(w: WireBatch): number {
  return w instanceof ArrayBuffer ? w.byteLength : w.b.byteLength + w.s.length;
}

// The encoder's memo of the last shape, so that a stream of one shape stringifies its names and finds its encoder once.
let lastNames: string[] = [];
let lastShape = '[]';

export function encodeBatch(records: unknown[]): WireBatch {
  return encodeColumns(records) ?? v8Buffer(records);
}

function v8Buffer(records: unknown[]): ArrayBuffer {
  const buf = encode(records);
  const ab = buf.buffer as ArrayBuffer;
  // node:v8 may hand out a view into a pooled buffer: transfer only what is ours.
  return buf.byteOffset === 0 && buf.byteLength === ab.byteLength ? ab : ab.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
}

/** The column form, or undefined when the batch is not uniform flat records. */
function encodeColumns(records: unknown[]): ColumnBatch | undefined {
  const n = records.length;
  if (n === 0) return undefined;
  const r0 = records[0];
  let names: string[] | undefined;
  if (typeof r0 === 'object' && r0 !== null) {
    if (Object.getPrototypeOf(r0) !== OBJECT_PROTO) return undefined;
    names = [];
    for (const k in r0) names.push(k);
    // for-in also lists inherited enumerable names (a polluted Object.prototype): not own fields.
    const own = Object.keys(r0);
    if (own.length !== names.length || names.includes('__proto__')) return undefined;
    if (lastEncoder === undefined || !sameNames(names, lastNames)) {
      lastNames = names;
      lastShape = JSON.stringify(names);
      lastEncoder = encoders.get(lastShape);
      if (!lastEncoder) encoders.set(lastShape, (lastEncoder = compileEncoder(names)));
    }
  }
  const nf = names ? names.length : 1;
  const cells = n * nf;
  const b = new ArrayBuffer(cells * 9);
  const nums = new Float64Array(b, 0, cells);
  const tags = new Uint8Array(b, cells * 8, cells);
  const longest = names ? lastEncoder!(records, n, nums, tags, joined) : encodePrimitives(records, n, nums, tags, joined);
  const s = joined.s;
  joined.s = '';
  if (longest < 0) return undefined;
  const f = names ? lastShape : '';
  return longest < SLICE_MIN_LENGTH ? { f, n, b, s } : { f, n, b, s: JSON.stringify(cut(s, nums, tags)), j: 1 };
}

/** The strings of a batch, one after another (concatenated: cheaper than an array and a join), and flattened once by postMessage. */
const joined = { s: '' };

/** The joined strings cut back into the batch's strings, at the lengths their cells hold. */
function cut(s: string, nums: Float64Array, tags: Uint8Array): string[] {
  const out: string[] = [];
  let at = 0;
  for (let j = 0; j < tags.length; j++) if (tags[j] === STR) out.push(s.substring(at, (at += nums[j])));
  return out;
}

/**
 * Writes the records' cells; returns the longest string's length, or -1 when a record is not of the shape or a
 * field is not a primitive the columns hold (the batch then goes to node:v8 whole).
 */
type Encode = (records: unknown[], n: number, nums: Float64Array, tags: Uint8Array, out: { s: string }) => number;
const encoders = new Map<string, Encode>();
let lastEncoder: Encode | undefined;

function encodePrimitives(records: unknown[], n: number, nums: Float64Array, tags: Uint8Array, out: { s: string }): number {
  let longest = 0;
  for (let i = 0; i < n; i++) {
    const len = cell(records[i], nums, tags, out, i);
    if (len < 0) return -1;
    if (len > longest) longest = len;
  }
  return longest;
}

/**
 * One function per shape, as the decoder has: its field reads are property loads of the shape's names (one
 * hidden class at each site, where a loop over `r[k]` is megamorphic) and its cells typed by `typeof` tests
 * inline. Each record's own enumerable names are still checked against the shape in order, so a record with
 * another field, one fewer, or another prototype sends the batch to node:v8 as before.
 */
function compileEncoder(names: string[]): Encode {
  const nf = names.length;
  const fields = names.map((k, f) => `
      v = r[${JSON.stringify(k)}];
      if (typeof v === 'string') { tags[j + ${f}] = ${STR}; nums[j + ${f}] = v.length; S += v; if (v.length > longest) longest = v.length; }
      else if (typeof v === 'number') { tags[j + ${f}] = (v | 0) === v && (v !== 0 || 1 / v > 0) ? ${INT} : ${NUM}; nums[j + ${f}] = v; }
      else if (v === undefined) tags[j + ${f}] = ${UNDEF};
      else if (v === null) tags[j + ${f}] = ${NULL};
      else if (v === true) tags[j + ${f}] = ${TRUE};
      else if (v === false) tags[j + ${f}] = ${FALSE};
      else return -1;`).join('');
  const body = `
    let longest = 0, v, S = '';
    for (let i = 0, j = 0; i < n; i++, j += ${nf}) {
      const r = records[i];
      if (typeof r !== 'object' || r === null || getPrototypeOf(r) !== OBJECT_PROTO) return -1;
      let f = 0;
      for (const k in r) {
        if (f === ${nf} || k !== names[f]) return -1;
        f++;
      }
      if (f !== ${nf}) return -1;${fields}
    }
    out.s = S;
    return longest;`;
  try {
    const make = new Function('names', 'getPrototypeOf', 'OBJECT_PROTO', `return (records, n, nums, tags, out) => {${body}\n};`);
    return make([...names], Object.getPrototypeOf, OBJECT_PROTO) as Encode;
  } catch {
    return genericEncoder(names); // node --disallow-code-generation-from-strings
  }
}

/** The same cells without generated code. */
function genericEncoder(names: string[]): Encode {
  const nf = names.length;
  return (records, n, nums, tags, out) => {
    let longest = 0;
    let j = 0;
    for (let i = 0; i < n; i++) {
      const r = records[i];
      if (typeof r !== 'object' || r === null || Object.getPrototypeOf(r) !== OBJECT_PROTO) return -1;
      let f = 0;
      for (const k in r) {
        if (f === nf || k !== names[f]) return -1;
        f++;
        const len = cell((r as Record<string, unknown>)[k], nums, tags, out, j++);
        if (len < 0) return -1;
        if (len > longest) longest = len;
      }
      if (f !== nf) return -1;
    }
    return longest;
  };
}

/** Writes one primitive: its string length (0 for other kinds), or -1 for what the columns do not hold. */
function cell(v: unknown, nums: Float64Array, tags: Uint8Array, out: { s: string }, j: number): number {
  switch (typeof v) {
    case 'string':
      tags[j] = STR;
      nums[j] = v.length;
      out.s += v;
      return v.length;
    case 'number':
      tags[j] = (v | 0) === v && (v !== 0 || 1 / v > 0) ? INT : NUM;
      nums[j] = v; // a Float64Array keeps -0 and NaN
      return 0;
    case 'boolean':
      tags[j] = v ? TRUE : FALSE;
      return 0;
    case 'undefined':
      tags[j] = UNDEF;
      return 0;
    case 'object':
      if (v !== null) return -1;
      tags[j] = NULL;
      return 0;
    default:
      return -1; // bigint, symbol, function: node:v8's rules (and errors) apply
  }
}

function sameNames(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

type Rebuild = (n: number, nums: Float64Array, tags: Uint8Array, strs: string) => unknown[];
const rebuilders = new Map<string, Rebuild>();

export function decodeBatch(w: WireBatch): unknown[] {
  if (w instanceof ArrayBuffer) return decode<unknown[]>(new Uint8Array(w));
  const { f, n, b } = w;
  const id = w.j ? `j${f}` : f;
  let rebuild = rebuilders.get(id);
  if (!rebuild) rebuilders.set(id, (rebuild = compileRebuild(f === '' ? undefined : (JSON.parse(f) as string[]), w.j === 1)));
  const cells = b.byteLength / 9;
  return rebuild(n, new Float64Array(b, 0, cells), new Uint8Array(b, cells * 8, cells), w.s);
}

/**
 * One function per shape whose object literal has the shape's names: every record it builds starts with the
 * same hidden class, as the records the sender's code built did (a loop of `o[name] = v` would not, and
 * would be slower). The names enter the code only as JSON string literals. Joined strings are cut at their
 * lengths (each shorter than a slice: a copy); JSON strings are parsed once for the batch.
 */
function compileRebuild(names: string[] | undefined, json: boolean): Rebuild {
  const nf = names ? names.length : 1;
  const str = (f: number) => (json ? 'strs[s++]' : `S.substring(s, s += nums[j + ${f}])`);
  const lines: string[] = [];
  for (let f = 0; f < nf; f++) {
    lines.push(`t = tags[j + ${f}]; const v${f} = t === ${INT} ? nums[j + ${f}] | 0 : t === ${STR} ? ${str(f)} : t === ${NUM} ? nums[j + ${f}] : ` +
      `t === ${UNDEF} ? undefined : t === ${NULL} ? null : t === ${TRUE};`);
  }
  const value = names ? `{ ${names.map((k, f) => `${JSON.stringify(k)}: v${f}`).join(', ')} }` : 'v0';
  const body = `
    ${json ? 'const strs = JSON.parse(S);' : ''}
    const out = new Array(n);
    let s = 0, t = 0;
    for (let i = 0, j = 0; i < n; i++, j += ${nf}) {
      ${lines.join('\n      ')}
      out[i] = ${value};
    }
    return out;`;
  try {
    return new Function('n', 'nums', 'tags', 'S', body) as Rebuild;
  } catch {
    return genericRebuild(names, json); // node --disallow-code-generation-from-strings
  }
}

/** The same records without generated code: one property store at a time (slower, same values and order). */
function genericRebuild(names: string[] | undefined, json: boolean): Rebuild {
  return (n, nums, tags, S) => {
    const strs = json ? (JSON.parse(S) as string[]) : undefined;
    const nf = names ? names.length : 1;
    const out = new Array<unknown>(n);
    let s = 0;
    const value = (j: number): unknown => {
      switch (tags[j]) {
        case INT:
        case NUM:
          return nums[j];
        case STR:
          return strs ? strs[s++] : S.substring(s, (s += nums[j]));
        case UNDEF:
          return undefined;
        case NULL:
          return null;
        default:
          return tags[j] === TRUE;
      }
    };
    for (let i = 0, j = 0; i < n; i++, j += nf) {
      if (!names) {
        out[i] = value(j);
        continue;
      }
      const o: Record<string, unknown> = {};
      for (let f = 0; f < nf; f++) o[names[f]] = value(j + f);
      out[i] = o;
    }
    return out;
  };
}
