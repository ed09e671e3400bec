import { FlinkError } from '../core/FlinkError.js';
import { isTypeSerializer, type TypeInfo } from '../api/state.js';
import { StateVisibility, UpdateType, type StateTtlConfig } from '../api/StateTtlConfig.js';
import { normalizeKey, type NormalizedKey } from './KeyGroupRangeAssignment.js';

/**
 * The value codec and the keyed chunk format, one module for everything that writes or reads keyed state:
 * both backends (live values ↔ snapshot chunks, the embedded store's rows) and the `flink state` tools.
 */

export type StateKind = 'value' | 'list' | 'reducing' | 'aggregating' | 'map';
/** The state kinds this version knows, as `_metadata` names them. */
export const STATE_KINDS: readonly string[] = ['value', 'list', 'reducing', 'aggregating', 'map'];

/**
 * How a state's values are copied (copy-on-write), written and read back: structured clone by default, the
 * user's serializer when the descriptor has one, structured clone plus the class's prototype for a type hint.
 */
export interface Codec {
  /** Neither serializer nor type hint: snapshots write values as they are. */
  plain: boolean;
  serializer: boolean;
  copy(v: unknown): unknown;
  encode(v: unknown): unknown;
  /** `serialized`: what the snapshot says about the stored value. */
  decode(stored: unknown, serialized: boolean, state: string): unknown;
}

export const isObject = (v: unknown): v is object => typeof v === 'object' && v !== null;

/**
 * A deep copy as structuredClone makes it. A plain object of primitives (a record, an accumulator: what
 * copy-on-write copies on most accesses during a snapshot) is copied field by field, about 20× faster.
 */
function cloneValue(v: unknown): unknown {
  if (!isObject(v)) return v;
  if (Object.getPrototypeOf(v) !== Object.prototype) return structuredClone(v);
  const src = v as Record<string, unknown>;
  const c: Record<string, unknown> = {};
  for (const f in src) {
    const x = src[f];
    // Nested objects, functions and symbols (which structuredClone rejects), inherited fields: the general path.
    if ((typeof x === 'object' && x !== null) || typeof x === 'function' || typeof x === 'symbol' || !Object.hasOwn(src, f)) return structuredClone(v);
    c[f] = x;
  }
  return c;
}

const PLAIN: Codec = {
  plain: true,
  serializer: false,
  copy: cloneValue,
  encode: (v) => v,
  decode: (stored, serialized, state) => {
    if (serialized) throw noSerializer(state);
    return stored;
  },
};

export function noSerializer(state: string): FlinkError {
  return new FlinkError('restore', `State '${state}' was written with a user serializer; its descriptor must carry a serializer to read it back`);
}

export function codecOf(t: TypeInfo<unknown> | undefined): Codec {
  if (t === undefined) return PLAIN;
  if (isTypeSerializer(t)) {
    const ser = t;
    return {
      plain: false,
      serializer: true,
      copy: (v) => (isObject(v) ? ser.deserialize(ser.serialize(v)) : v),
      encode: (v) => ser.serialize(v),
      // Values restored from a snapshot taken without the serializer are values already.
      decode: (stored, serialized) => (serialized ? ser.deserialize(stored as Uint8Array) : stored),
    };
  }
  const proto = (t as { prototype: object }).prototype;
  const adopt = (v: unknown) => (isObject(v) && Object.getPrototypeOf(v) !== proto ? Object.setPrototypeOf(v, proto) : v);
  return {
    plain: false,
    serializer: false,
    copy: (v) => (isObject(v) ? adopt(structuredClone(v)) : v),
    encode: (v) => v,
    decode: (stored, serialized, state) => {
      if (serialized) throw noSerializer(state);
      return adopt(stored);
    },
  };
}

export interface Ttl {
  ttl: number;
  onRead: boolean;
  returnExpired: boolean;
  cleanupFullSnapshot: boolean;
}

export function ttlOf(c: StateTtlConfig): Ttl | undefined {
  if (!c.isEnabled()) return undefined;
  return {
    ttl: c.getTtl(),
    onRead: c.getUpdateType() === UpdateType.OnReadAndWrite,
    returnExpired: c.getStateVisibility() === StateVisibility.ReturnExpiredIfNotCleanedUp,
    cleanupFullSnapshot: c.getCleanupStrategies().inFullSnapshot(),
  };
}

/** What a registered descriptor fixes about a state. */
export interface Meta {
  kind: StateKind;
  ttl?: Ttl;
  /** Values, list elements, accumulators, map values. */
  val: Codec;
  /** Map keys. */
  key: Codec;
}

/**
 * Tag on a keyed chunk's array (`flat.format`) when its values are not plain: a named property of the array,
 * which structured clone carries, so the framing `[stateName, [key0, value0, ...]]` stays as it is and chunks
 * of the current code (no tag: plain values) read as before.
 *   ttl    value-like states: [value, ts]; list: [[element, ts], ...]; map: Map(key → [value, ts])
 *   ser    values (elements, accumulators, map values) are serialize(value) of the user's serializer
 *   keySer map keys are serialize(key)
 * Values are the state's value (value, reducing, aggregating: the accumulator), an array (list), or a Map
 * from map key to map value (map).
 */
export interface ChunkFormat {
  /** Embedded backend's delta files only: the keys (normalized) of removed entries, values null. */
  deleted?: true;
  ttl?: true;
  ser?: true;
  keySer?: true;
}
export type TaggedFlat = unknown[] & { format?: ChunkFormat };

/** A chunk format as the embedded store's row header holds it: one byte of flags. */
const F_TTL = 1;
const F_SER = 2;
const F_KEYSER = 4;
export const bitsOf = (f: ChunkFormat | undefined): number => (f ? (f.ttl ? F_TTL : 0) | (f.ser ? F_SER : 0) | (f.keySer ? F_KEYSER : 0) : 0);
export function formatOfBits(b: number): ChunkFormat | undefined {
  if (b === 0) return undefined;
  const f: ChunkFormat = {};
  if (b & F_TTL) f.ttl = true;
  if (b & F_SER) f.ser = true;
  if (b & F_KEYSER) f.keySer = true;
  return f;
}

/** The format tag of a chunk as read from a file (absent: plain values). */
export function chunkFormatOf(flat: unknown[]): ChunkFormat {
  const f = (flat as TaggedFlat).format;
  return f !== null && typeof f === 'object' ? f : {};
}

export function formatOf(meta: Meta | undefined): ChunkFormat | undefined {
  if (!meta || (!meta.ttl && !meta.val.serializer && !meta.key.serializer)) return undefined;
  const f: ChunkFormat = {};
  if (meta.ttl) f.ttl = true;
  if (meta.val.serializer) f.ser = true;
  if (meta.key.serializer) f.keySer = true;
  return f;
}

export type TtlValue = [value: unknown, ts: number];
export type MapRow = [key: unknown, value: unknown, ts?: number];

export const DROP = Symbol('expired');

/** A deep copy of an entry's internal value (what copy-on-write hands to the live state). */
export function copyInternal(meta: Meta, v: unknown): unknown {
  const { val, key, ttl } = meta;
  switch (meta.kind) {
    case 'list':
      if (ttl) return (v as TtlValue[]).map(([x, ts]) => [val.copy(x), ts]);
      return val.plain ? structuredClone(v) : (v as unknown[]).map(val.copy);
    case 'map': {
      const m = new Map<NormalizedKey, MapRow>();
      for (const [nk, r] of v as Map<NormalizedKey, MapRow>) m.set(nk, ttl ? [key.copy(r[0]), val.copy(r[1]), r[2]] : [key.copy(r[0]), val.copy(r[1])]);
      return m;
    }
    default:
      return ttl ? [val.copy((v as TtlValue)[0]), (v as TtlValue)[1]] : val.copy(v);
  }
}

/**
 * The snapshot form of an entry's value (see ChunkFormat), or DROP for one that cleanupFullSnapshot leaves
 * out; undefined when values are written as they are (no TTL, no serializer, not a map).
 */
export function encoderOf(kind: StateKind, meta: Meta | undefined, now: number): ((v: unknown) => unknown) | undefined {
  if (!meta) return undefined;
  const { val, key, ttl } = meta;
  const drop = ttl?.cleanupFullSnapshot ? (ts: number) => ts + ttl.ttl <= now : () => false;
  switch (kind) {
    case 'list':
      if (ttl) {
        return (v) => {
          const out: TtlValue[] = [];
          for (const [x, ts] of v as TtlValue[]) if (!drop(ts)) out.push([val.encode(x), ts]);
          return out.length > 0 ? out : DROP;
        };
      }
      return val.plain ? undefined : (v) => (v as unknown[]).map(val.encode);
    case 'map':
      return (v) => {
        const out = new Map<unknown, unknown>();
        for (const [k, x, ts] of (v as Map<NormalizedKey, MapRow>).values()) {
          if (ttl && drop(ts!)) continue;
          out.set(key.encode(k), ttl ? [val.encode(x), ts] : val.encode(x));
        }
        return out.size > 0 ? out : DROP;
      };
    default:
      if (ttl) {
        return (v) => {
          const [x, ts] = v as TtlValue;
          return drop(ts) ? DROP : val.plain ? v : [val.encode(x), ts];
        };
      }
      return val.plain ? undefined : val.encode;
  }
}

/**
 * A value as a snapshot chunk of format `f` holds it, turned into the live form of a state registered with
 * `meta` (TTL added, starting at `now`, or dropped to match the descriptor; serialized values decoded).
 */
export function decodeChunkValue(kind: StateKind, meta: Meta, f: ChunkFormat, stored: unknown, now: number, name: string): unknown {
  const value = (x: unknown): [unknown, number] => {
    const [v, ts] = f.ttl ? (x as TtlValue) : [x, now];
    return [meta.val.decode(v, !!f.ser, name), ts];
  };
  const wrap = (v: unknown, ts: number): unknown => (meta.ttl ? [v, ts] : v);
  switch (kind) {
    case 'list':
      return (stored as unknown[]).map((x) => wrap(...value(x)));
    case 'map': {
      const m = new Map<NormalizedKey, MapRow>();
      for (const [sk, sv] of stored as Map<unknown, unknown>) {
        const k = meta.key.decode(sk, !!f.keySer, name);
        const [uv, ts] = value(sv);
        m.set(normalizeKey(k), meta.ttl ? [k, uv, ts] : [k, uv]);
      }
      return m;
    }
    default:
      return wrap(...value(stored));
  }
}
