/**
 * How a binary key group (BinaryKeyGroup.ts) stores a state's values: each value is a row of 64-bit cells, one
 * per field of the state's shape (or a single cell for a state of plain numbers). A cell is a double; the other
 * values a record field commonly holds are NaN payloads: undefined, null, true, false and "the entry's own key"
 * (records of a keyed stream usually carry their key). A real NaN is the payload 0.
 *
 * A state's shape is learned from its first value. A value that does not fit (another shape, a string that is not
 * the key, a nested object, a class instance) is refused, and the backend moves the state back to JS objects.
 *
 * Why: a million records as JS objects cost ~54 B each plus the garbage collector's time, and a snapshot must walk
 * them all on the task thread. As cells, a snapshot copies typed arrays and the hot path allocates only young
 * objects (see docs/benchmarks.md, "Binary key groups").
 */

/** High word of every tagged cell: a quiet NaN; the low word says which value. */
const NAN_HI = 0x7ff80000;
export const enum Tag {
  NAN = 0,
  UNDEFINED = 1,
  NULL = 2,
  TRUE = 3,
  FALSE = 4,
  KEY = 5,
}

/** Writes `x` into cell `i`; false when `x` has no cell form. */
export function writeCell(f: Float64Array, u: Uint32Array, i: number, x: unknown, key: unknown): boolean {
  if (typeof x === 'number') {
    if (x === x) {
      f[i] = x;
      return true;
    }
    return tag(u, i, Tag.NAN);
  }
  if (x === key) return tag(u, i, Tag.KEY); // before the other cases: a key may be any primitive
  if (x === undefined) return tag(u, i, Tag.UNDEFINED);
  if (x === null) return tag(u, i, Tag.NULL);
  if (x === true) return tag(u, i, Tag.TRUE);
  if (x === false) return tag(u, i, Tag.FALSE);
  return false;
}

function tag(u: Uint32Array, i: number, t: Tag): true {
  u[2 * i] = t;
  u[2 * i + 1] = NAN_HI;
  return true;
}

/** The value of cell `i`. */
export function readCell(f: Float64Array, u: Uint32Array, i: number, key: unknown): unknown {
  const x = f[i];
  // An integer comes back as a small integer, as JS code makes it: a heap number in a field V8 saw holding small
  // integers changes the objects' hidden class, and the user's functions then ran at half speed in some runs.
  if ((x | 0) === x && (x !== 0 || 1 / x > 0)) return x | 0;
  if (x === x) return x;
  switch (u[2 * i] as Tag) {
    case Tag.UNDEFINED:
      return undefined;
    case Tag.NULL:
      return null;
    case Tag.TRUE:
      return true;
    case Tag.FALSE:
      return false;
    case Tag.KEY:
      return key;
    default:
      return NaN;
  }
}

const OBJECT_PROTO = Object.prototype;

/** The fields of a value that can be a row, in creation order; undefined for a plain number; null when it cannot. */
export function shapeOf(v: unknown): string[] | undefined | null {
  if (typeof v === 'number') return undefined;
  if (typeof v !== 'object' || v === null || Object.getPrototypeOf(v) !== OBJECT_PROTO) return null;
  const fields = Object.keys(v);
  return rowFields(fields) ? fields : null;
}

/**
 * Whether records with these fields can be rows. Index-like names are enumerated in another order than created,
 * and `__proto__` in an object literal sets the prototype: not worth the risk.
 */
export function rowFields(fields: readonly string[]): boolean {
  return fields.length > 0 && fields.length <= 64 && !fields.some((f) => typeof f !== 'string' || /^\d+$/.test(f) || f === '__proto__');
}

/**
 * A state's row layout with an encoder and a decoder generated for its field names (constant property names
 * keep both monomorphic, and the decoded objects share one hidden class, as objects from one literal do).
 */
export class ValueShape {
  /** Cells per row. */
  readonly width: number;
  /** Writes `v` as the row at cell `i`; false when `v` does not fit this shape (nothing usable written). */
  readonly encode: (v: unknown, f: Float64Array, u: Uint32Array, i: number, key: unknown) => boolean;
  /** The value of the row at cell `i`: a new object each time. */
  readonly decode: (f: Float64Array, u: Uint32Array, i: number, key: unknown) => unknown;

  /** `fields` undefined: a state of plain numbers. */
  constructor(readonly fields: string[] | undefined) {
    this.width = fields?.length ?? 1;
    if (!fields) {
      this.encode = (v, f, u, i) => {
        if (typeof v !== 'number') return false;
        if (v === v) f[i] = v;
        else tag(u, i, Tag.NAN); // one NaN: another payload would read as a tag
        return true;
      };
      this.decode = (f, _u, i) => f[i];
      return;
    }
    const n = fields.length;
    const fits = (v: unknown): v is Record<string, unknown> => {
      if (typeof v !== 'object' || v === null || Object.getPrototypeOf(v) !== OBJECT_PROTO) return false;
      let k = 0;
      for (const name in v) if (k >= n || fields[k++] !== name) return false;
      return k === n;
    };
    try {
      const names = fields.map((name) => JSON.stringify(name));
      // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated once per state shape, names escaped by JSON.stringify
      this.encode = new Function('fits', 'writeCell', `return (v, f, u, i, key) => fits(v) && ${names.map((name, k) => `writeCell(f, u, i + ${k}, v[${name}], key)`).join(' && ')};`)(fits, writeCell);
      this.decode = new Function('readCell', `return (f, u, i, key) => ({ ${names.map((name, k) => `${name}: readCell(f, u, i + ${k}, key)`).join(', ')} });`)(readCell);
    } catch {
      // Code generation from strings is disallowed (node --disallow-code-generation-from-strings): the same, by loops.
      this.encode = (v, f, u, i, key) => {
        if (!fits(v)) return false;
        for (let k = 0; k < n; k++) if (!writeCell(f, u, i + k, v[fields[k]], key)) return false;
        return true;
      };
      this.decode = (f, u, i, key) => {
        const o: Record<string, unknown> = {};
        for (let k = 0; k < n; k++) o[fields[k]] = readCell(f, u, i + k, key);
        return o;
      };
    }
  }
}
