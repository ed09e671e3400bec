import type { SavepointFormatType } from '../core/SavepointFormatType.js';
import { FlinkError } from '../core/FlinkError.js';
import { KeyGroupRange } from '../state/KeyGroupRange.js';
import { chunkFormatOf, type ChunkFormat } from '../state/StateCodec.js';
import { keyedStateChunks, readKeyedState } from '../state/KeyedStateReader.js';
import { readOperatorState, verifyStateFile } from '../state/StateFile.js';
import { loadSnapshot, type LoadedSnapshot, type OperatorStateMetadata } from '../checkpoint/Metadata.js';
import type { StateFileHandle } from '../state/StateHandles.js';

/**
 * Looks inside a savepoint or retained checkpoint without running the job: what `_metadata` says (job,
 * checkpoint, operators, state names and kinds, file sizes) plus what only the state files know (entry
 * counts per state), and the entries themselves for `flink state --dump`. Every state file read is checked
 * against the size and CRC32 recorded in `_metadata` first, so a damaged snapshot is reported by file name
 * (FlinkError 'restore') rather than inspected.
 */

export type StateType = 'keyed' | 'operator';

export interface StateSummary {
  name: string;
  /** Keyed state (per key, in key groups) or operator (non-keyed list) state. */
  type: StateType;
  /** Keyed: the state kind (value, list, map, ...). Operator state: its distribution mode (SPLIT_DISTRIBUTE, UNION). */
  kind: string;
  /** Keyed: number of keys with a value; operator state: number of list elements, over all subtasks. */
  entries: number;
}

export interface SubtaskSummary {
  subtask: number;
  /** State file, relative to the snapshot directory. */
  file: string;
  bytes: number;
  /** Inclusive key-group range of this subtask, for operators with keyed state. */
  keyGroupRange?: [number, number];
  /** Keyed entries over all keyed states of this subtask (from `_metadata`). */
  keyedEntries: number;
  /** Bytes of the keyed section / of the operator state section of the file. */
  keyedBytes: number;
  operatorStateBytes: number;
  /** Elements per operator (non-keyed) state in this subtask's file. */
  operatorStateEntries: Record<string, number>;
  /** Keyed entries per key group (index 0 = first group of keyGroupRange); only with `perKeyGroup`. */
  keyGroupEntries?: number[];
}

export interface OperatorSummary {
  uid: string | null;
  operatorId: string;
  name: string;
  parallelism: number;
  maxParallelism: number;
  /** Total size of the operator's state files. */
  bytes: number;
  /** Keyed entries over all states and subtasks (from `_metadata`). */
  keyedEntries: number;
  states: StateSummary[];
  subtasks: SubtaskSummary[];
}

export interface SnapshotSummary {
  /** The snapshot directory and its `_metadata` file (absolute). */
  path: string;
  metadataFile: string;
  jobId: string;
  jobName: string;
  checkpointId: number;
  kind: 'checkpoint' | 'savepoint';
  format: SavepointFormatType;
  triggerTimestamp: number;
  completionTimestamp: number;
  triggerTime: string | null;
  completionTime: string | null;
  maxParallelism: number;
  /** Total size of all state files. */
  bytes: number;
  operators: OperatorSummary[];
}

/** Loads the snapshot at `path` (savepoint dir, chk-N dir, `_metadata`, file: URI) if not loaded already. */
export function asLoadedSnapshot(snapshot: string | LoadedSnapshot): LoadedSnapshot {
  return typeof snapshot === 'string' ? loadSnapshot(snapshot) : snapshot;
}

function isoOrNull(ms: number): string | null {
  return Number.isFinite(ms) && ms > 0 ? new Date(ms).toISOString() : null;
}

/** A file with key-group sections: a key-group range with one offset per group. */
function hasSections(h: { keyGroupRange?: [number, number]; keyGroupOffsets?: number[] }): h is { keyGroupRange: [number, number]; keyGroupOffsets: number[] } {
  return !!h.keyGroupRange && !!h.keyGroupOffsets && h.keyGroupOffsets.length === KeyGroupRange.of(h.keyGroupRange).size;
}

/** True when the handle has keyed state to read: sections in its state file, or the embedded backend's native files. */
function hasKeyedSection(h: StateFileHandle): h is StateFileHandle & { keyGroupRange: [number, number] } {
  if (!h.keyGroupRange || Object.keys(h.keyedStates).length === 0) return false;
  return h.keyedStateFiles !== undefined || hasSections(h);
}

function keyedSectionBytes(h: StateFileHandle): number {
  let n = 0;
  for (const b of keyGroupSectionSizes(h).values()) n += b;
  return n;
}

/**
 * Byte size of each key group's section in a state file, by key group, from the offsets in `_metadata`
 * (no file access). Used to estimate what each subtask reads after rescaling.
 */
export function keyGroupSectionSizes(h: StateFileHandle): Map<number, number> {
  const out = new Map<number, number>();
  if (!hasKeyedSection(h)) return out;
  // Native keyed state: each file of the chain (a full one, then deltas) has sections of its own.
  for (const f of h.keyedStateFiles ?? [h]) {
    if (!hasSections(f)) continue;
    const [start] = f.keyGroupRange;
    const end = (f === h ? h.operatorStateOffset : undefined) ?? f.size;
    f.keyGroupOffsets.forEach((off, i) => out.set(start + i, (out.get(start + i) ?? 0) + (f.keyGroupOffsets[i + 1] ?? end) - off));
  }
  return out;
}

export interface InspectOptions {
  /** Also count keyed entries per key group (SubtaskSummary.keyGroupEntries), for rescaling estimates. */
  perKeyGroup?: boolean;
}

/**
 * Summarizes a snapshot: metadata, and per operator its states with entry counts (read from the state
 * files, each verified against `_metadata` first). Throws FlinkError 'restore' naming the file when a state
 * file is missing or damaged, and 'not-found'/'restore' from loading `_metadata` itself.
 */
export function inspectSnapshot(snapshot: string | LoadedSnapshot, opts: InspectOptions = {}): SnapshotSummary {
  const snap = asLoadedSnapshot(snapshot);
  const md = snap.metadata;
  const operators = md.operators.map((op) => summarizeOperator(snap, op, !!opts.perKeyGroup));
  return {
    path: snap.dir,
    metadataFile: snap.metadataFile,
    jobId: md.jobId,
    jobName: md.jobName,
    checkpointId: md.checkpointId,
    kind: md.kind === 'SAVEPOINT' ? 'savepoint' : 'checkpoint',
    format: md.format,
    triggerTimestamp: md.triggerTimestamp,
    completionTimestamp: md.completionTimestamp,
    triggerTime: isoOrNull(md.triggerTimestamp),
    completionTime: isoOrNull(md.completionTimestamp),
    maxParallelism: md.maxParallelism,
    bytes: operators.reduce((n, o) => n + o.bytes, 0),
    operators,
  };
}

function summarizeOperator(snap: LoadedSnapshot, op: OperatorStateMetadata, perKeyGroup: boolean): OperatorSummary {
  const states = new Map<string, StateSummary>();
  const state = (name: string, type: StateType, kind: string): StateSummary => {
    const key = `${type}:${name}`;
    let s = states.get(key);
    if (!s) states.set(key, (s = { name, type, kind, entries: 0 }));
    return s;
  };
  const subtasks: SubtaskSummary[] = [];
  for (const st of [...op.subtasks].sort((a, b) => a.subtask - b.subtask)) {
    const h = st.state;
    for (const [name, kind] of Object.entries(h.keyedStates)) state(name, 'keyed', kind);
    for (const [name, mode] of Object.entries(h.operatorStates)) state(name, 'operator', mode);
    const bytes = verifyStateFile(snap.dir, h);
    let keyGroupEntries: number[] | undefined;
    if (hasKeyedSection(h)) {
      const range = KeyGroupRange.of(h.keyGroupRange);
      if (perKeyGroup) keyGroupEntries = new Array<number>(range.size).fill(0);
      readKeyedState(snap.dir, h, bytes, range, (name, kg, flat) => {
        state(name, 'keyed', h.keyedStates[name] ?? 'value').entries += flat.length / 2;
        if (keyGroupEntries) keyGroupEntries[kg - range.start] += flat.length / 2;
      });
    }
    const operatorStateEntries: Record<string, number> = {};
    for (const [name, { mode, entries }] of Object.entries(readOperatorState(bytes, h))) {
      state(name, 'operator', h.operatorStates[name] ?? mode).entries += entries.length;
      operatorStateEntries[name] = entries.length;
    }
    const keyedBytes = keyedSectionBytes(h);
    subtasks.push({
      subtask: st.subtask,
      file: h.file,
      bytes: h.size,
      keyGroupRange: h.keyGroupRange,
      keyedEntries: h.keyedEntries,
      keyedBytes,
      operatorStateBytes: h.operatorStateOffset !== undefined ? h.size - h.operatorStateOffset : Math.max(0, h.size - keyedBytes),
      operatorStateEntries,
      ...(keyGroupEntries ? { keyGroupEntries } : {}),
    });
  }
  return {
    uid: op.uid ?? null,
    operatorId: op.operatorId,
    name: op.name,
    parallelism: op.parallelism,
    maxParallelism: op.maxParallelism,
    bytes: subtasks.reduce((n, s) => n + s.bytes, 0),
    keyedEntries: subtasks.reduce((n, s) => n + s.keyedEntries, 0),
    states: [...states.values()].sort((a, b) => (a.type === b.type ? a.name.localeCompare(b.name) : a.type === 'keyed' ? -1 : 1)),
    subtasks,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Dumping one state's entries

export interface DumpTarget {
  operator: OperatorStateMetadata;
  stateName: string;
  type: StateType;
  kind: string;
}

/** A keyed entry (`namespace` is always null: there are no namespaces, i.e. windows, yet). */
export interface KeyedDumpEntry {
  key: unknown;
  namespace: null;
  /** The state's value: the value (value, reducing, aggregating), an array (list), a Map (map). */
  value: unknown;
  subtask: number;
  /**
   * State with TTL: when each value was last written (or read, per its TTL config), in epoch ms; `value` is
   * then the user's value without it. A number, an array parallel to a list, or a Map from map key.
   */
  lastAccessTimestamp?: number | number[] | Map<unknown, number>;
  /** Written with the descriptor's serializer: `value` (or the map keys) are the serialized bytes. */
  serialized?: true;
}

/** An element of an operator (non-keyed) list state. */
export interface OperatorDumpEntry {
  value: unknown;
  subtask: number;
}

export type DumpEntry = KeyedDumpEntry | OperatorDumpEntry;

function describeOperator(op: OperatorStateMetadata): string {
  return op.uid ? `${op.uid} (${op.name}, id ${op.operatorId})` : `${op.operatorId} (${op.name}, no uid)`;
}

function statesOf(op: OperatorStateMetadata): { name: string; type: StateType; kind: string }[] {
  const out = new Map<string, { name: string; type: StateType; kind: string }>();
  for (const st of op.subtasks) {
    for (const [name, kind] of Object.entries(st.state.keyedStates)) if (!out.has(name)) out.set(name, { name, type: 'keyed', kind });
    for (const [name, kind] of Object.entries(st.state.operatorStates)) if (!out.has(name)) out.set(name, { name, type: 'operator', kind });
  }
  return [...out.values()];
}

/** Finds an operator of the snapshot by uid, operator id (32 hex) or, if unique, name. */
export function findOperator(snapshot: string | LoadedSnapshot, selector: string): OperatorStateMetadata {
  const ops = asLoadedSnapshot(snapshot).metadata.operators;
  const byUidOrId = ops.find((o) => o.uid === selector) ?? ops.find((o) => o.operatorId === selector.toLowerCase());
  if (byUidOrId) return byUidOrId;
  const byName = ops.filter((o) => o.name === selector);
  if (byName.length === 1) return byName[0];
  const known = ops.map(describeOperator).join(', ') || 'none';
  if (byName.length > 1) {
    throw new FlinkError('invalid-argument', `Operator name '${selector}' is not unique in the snapshot; select it by uid or operator id: ${known}`);
  }
  throw new FlinkError('not-found', `No operator '${selector}' in the snapshot. Operators with state (uid or id): ${known}`);
}

/**
 * Resolves `--dump <stateName> [--operator <sel>]` to one state of one operator. Unknown operator or state:
 * FlinkError 'not-found' listing what exists; a state name used by several operators without --operator:
 * 'invalid-argument' listing them.
 */
export function resolveDumpTarget(snapshot: string | LoadedSnapshot, stateName: string, operatorSelector?: string): DumpTarget {
  const snap = asLoadedSnapshot(snapshot);
  const ops = operatorSelector !== undefined ? [findOperator(snap, operatorSelector)] : snap.metadata.operators;
  const hits = ops.flatMap((operator) => statesOf(operator).filter((s) => s.name === stateName).map((s) => ({ operator, ...s })));
  if (hits.length === 1) {
    const h = hits[0];
    return { operator: h.operator, stateName, type: h.type, kind: h.kind };
  }
  if (hits.length === 0) {
    const existing = ops.map((o) => `${o.uid ?? o.operatorId}: ${statesOf(o).map((s) => `${s.name} (${s.type === 'keyed' ? `keyed ${s.kind}` : s.kind})`).join(', ')}`);
    const where = operatorSelector !== undefined ? ` of operator ${describeOperator(ops[0])}` : '';
    throw new FlinkError('not-found', `No state '${stateName}' in the snapshot${where}. States by operator: ${existing.join('; ') || 'none'}`);
  }
  if (hits.every((h) => h.operator === hits[0].operator)) {
    throw new FlinkError('invalid-argument', `Operator ${describeOperator(hits[0].operator)} has both a keyed and an operator state named '${stateName}'; this cannot be dumped unambiguously`);
  }
  throw new FlinkError(
    'invalid-argument',
    `State '${stateName}' exists in several operators; choose one with --operator <uid|operatorId>: ${hits.map((h) => describeOperator(h.operator)).join(', ')}`,
  );
}

/**
 * The entries of one state, in subtask, key-group, file order, a batch at a time (one key group, or one
 * subtask's operator list), so a caller can stream them without holding the whole state. Each state file is
 * verified against `_metadata` before anything from it is returned; use `verifyDumpTarget` to check every file
 * of the operator up front.
 */
export function* dumpState(snapshot: string | LoadedSnapshot, target: DumpTarget): Generator<DumpEntry[]> {
  const snap = asLoadedSnapshot(snapshot);
  for (const st of [...target.operator.subtasks].sort((a, b) => a.subtask - b.subtask)) {
    const h = st.state;
    if (target.type === 'keyed' && !(target.stateName in h.keyedStates)) continue;
    if (target.type === 'operator' && !(target.stateName in h.operatorStates)) continue;
    const bytes = verifyStateFile(snap.dir, h);
    if (target.type === 'keyed') {
      if (!hasKeyedSection(h)) continue;
      // One batch per key group, as the reader hands them over.
      let batch: KeyedDumpEntry[] = [];
      let batchKg = -1;
      for (const [name, kg, flat] of keyedStateChunks(snap.dir, h, bytes, KeyGroupRange.of(h.keyGroupRange))) {
        if (kg !== batchKg && batch.length > 0) {
          yield batch;
          batch = [];
        }
        batchKg = kg;
        if (name !== target.stateName) continue;
        const format = chunkFormatOf(flat);
        for (let i = 0; i < flat.length; i += 2) batch.push(keyedEntry(target.kind, format, flat[i], flat[i + 1], st.subtask));
      }
      if (batch.length > 0) yield batch;
    } else {
      const list = readOperatorState(bytes, h)[target.stateName];
      if (list && list.entries.length > 0) yield list.entries.map((value) => ({ value, subtask: st.subtask }));
    }
  }
}

const isTtlPair = (v: unknown): v is [unknown, number] => Array.isArray(v) && v.length === 2 && typeof v[1] === 'number';

/** A dump entry from a stored value; TTL timestamps are split off so `value` is the user's value. */
function keyedEntry(kind: string, f: ChunkFormat, key: unknown, stored: unknown, subtask: number): KeyedDumpEntry {
  const e: KeyedDumpEntry = { key, namespace: null, value: stored, subtask };
  if (f.ttl) {
    if (kind === 'list' && Array.isArray(stored) && stored.every(isTtlPair)) {
      e.value = stored.map(([v]) => v);
      e.lastAccessTimestamp = stored.map(([, ts]) => ts);
    } else if (kind === 'map' && stored instanceof Map && [...stored.values()].every(isTtlPair)) {
      const rows = [...(stored as Map<unknown, [unknown, number]>)];
      e.value = new Map(rows.map(([k, [v]]) => [k, v]));
      e.lastAccessTimestamp = new Map(rows.map(([k, [, ts]]) => [k, ts]));
    } else if (kind !== 'list' && kind !== 'map' && isTtlPair(stored)) {
      e.value = stored[0];
      e.lastAccessTimestamp = stored[1];
    }
  }
  if (f.ser || f.keySer) e.serialized = true;
  return e;
}

/** Verifies every state file of the dump target's operator (presence, size, CRC32). */
export function verifyDumpTarget(snapshot: string | LoadedSnapshot, target: DumpTarget): void {
  const snap = asLoadedSnapshot(snapshot);
  for (const st of target.operator.subtasks) {
    verifyStateFile(snap.dir, st.state);
    for (const kf of st.state.keyedStateFiles ?? []) verifyStateFile(snap.dir, kf);
  }
}

// ---------------------------------------------------------------------------------------------------------
// JSON for arbitrary state values

const BASE64 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');

/**
 * A JSON.stringify replacer for anything V8 can structured-clone: values JSON has no form for become
 * tagged objects — bigint `{"$bigint":"12"}`, Map `{"$map":[[k,v],…]}`, Set `{"$set":[…]}`, Date
 * `{"$date":"<ISO>"}`, bytes (Uint8Array, ArrayBuffer, DataView) `{"$bytes":"<base64>"}`, other typed arrays
 * `{"$typedArray":"Float64Array","values":[…]}`, undefined `{"$undefined":true}`, NaN/±Infinity
 * `{"$number":"NaN"}`, RegExp `{"$regexp":"/a/g"}`, Error `{"$error":{"name","message"}}`.
 */
export function readableJsonReplacer(this: unknown, key: string, value: unknown): unknown {
  // The holder's own value: JSON.stringify hands the replacer what toJSON() returned (a string for a Date).
  const v = this !== null && typeof this === 'object' ? (this as Record<string, unknown>)[key] : value;
  switch (typeof v) {
    case 'bigint':
      return { $bigint: v.toString() };
    case 'undefined':
      return { $undefined: true };
    case 'number':
      return Number.isFinite(v) ? v : { $number: String(v) };
    case 'object':
      break;
    default:
      return value;
  }
  if (v === null) return null;
  if (v instanceof Date) return { $date: Number.isNaN(v.getTime()) ? null : v.toISOString() };
  if (v instanceof Map) return { $map: [...v] };
  if (v instanceof Set) return { $set: [...v] };
  if (v instanceof ArrayBuffer) return { $bytes: BASE64(new Uint8Array(v)) };
  if (v instanceof Uint8Array || v instanceof DataView) return { $bytes: BASE64(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)) };
  if (ArrayBuffer.isView(v)) return { $typedArray: v.constructor.name, values: Array.from(v as unknown as ArrayLike<unknown>) };
  if (v instanceof RegExp) return { $regexp: String(v) };
  if (v instanceof Error) return { $error: { name: v.name, message: v.message } };
  return value;
}

/** One line of JSON for a state value, with `readableJsonReplacer`. */
export function toReadableJson(value: unknown): string {
  return JSON.stringify(value, readableJsonReplacer);
}
