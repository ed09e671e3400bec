import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { FlinkError } from '../core/FlinkError.js';
import { hash128, newJobId, randomHex } from '../core/ids.js';
import { packageRoot } from '../core/paths.js';
import { decode, encode } from '../core/Serializer.js';
import { loadSnapshot, METADATA_FILE, verifySnapshotFiles, writeMetadataAtomically, type CheckpointMetadata, type OperatorStateMetadata } from '../checkpoint/Metadata.js';
import { KeyGroupRange } from '../state/KeyGroupRange.js';
import { keyedStateChunks } from '../state/KeyedStateReader.js';
import { assignToKeyGroup, computeKeyGroupRangeForOperatorIndex, normalizeKey, type NormalizedKey } from '../state/KeyGroupRangeAssignment.js';
import { chunkFormatOf } from '../state/StateCodec.js';
import { readOperatorState, StateFileWriter, verifyStateFile, type OperatorStateSnapshot } from '../state/StateFile.js';
import type { StreamGraph } from '../graph/StreamGraph.js';
import { TIMER_STATE } from '../operators/InternalTimerService.js';
import { commitPendingFile } from '../operators/SinkOperators.js';
import { SPLIT_WATERMARK_STATE } from '../operators/SplitWatermarks.js';
import { WATERMARK_GENERATOR_STATE } from '../operators/TimestampsAndWatermarksOperator.js';
import { decodeKey, encodeKey } from './KeyEncoding.js';
import { DUMP_FORMAT_VERSION, DumpFileWriter, readDumpFile, readManifest, writeManifest, type DumpManifest, type DumpOperator } from './SavepointDump.js';

/**
 * Graduation with state: a canonical flink-ts savepoint <-> a Flink savepoint of the same job on the runner.
 * The TypeScript side turns a flink-ts savepoint into the neutral dump (SavepointDump.ts) and a dump back into a
 * flink-ts savepoint; jvm/flink-savepoint-converter turns dumps into Flink savepoints and back with Flink's State
 * Processor API. Keys travel as the runner's String keys, so each side assigns key groups its own way.
 */

/**
 * Operator states that are a connector's or the runtime's own position in flink-ts's format. Flink's connectors
 * keep theirs in their own formats (and the enumerator's in the coordinator state, which the State Processor API
 * cannot write), so a non-empty one cannot move: the move is refused rather than the position lost.
 */
const CONNECTOR_STATES: Record<string, string> = {
  SourceReaderState: "the source's read position",
  KafkaWriterState: "the Kafka sink's open transactions",
  JdbcWriterState: "the JDBC sink's pending writes",
};
/** The split state of the data generator (and of sources with the same `{id, next, end}` index ranges). */
interface RangeSplit {
  id: string;
  next: number;
  end: number;
}
const isRangeSplit = (v: unknown): v is RangeSplit =>
  typeof v === 'object' && v !== null && typeof (v as RangeSplit).id === 'string' && Number.isSafeInteger((v as RangeSplit).next) && Number.isSafeInteger((v as RangeSplit).end);
/** The file sink's state: its part files pending for the savepoint's checkpoint (committed by any restore). */
const FILE_SINK_STATE = 'FileSinkState';
export interface PendingFile {
  tmp: string;
  final: string;
}
/** Runtime state Flink does not keep in savepoints at all (watermarks restart after a restore there). */
const DROPPED_STATES = new Set([WATERMARK_GENERATOR_STATE, SPLIT_WATERMARK_STATE]);

const TIMER_NAMES = new Map<string, 'event' | 'processing'>([[TIMER_STATE.EVENT_TIME, 'event'], [TIMER_STATE.PROCESSING_TIME, 'processing']]);

export interface ConvertedOperator {
  uid: string;
  parallelism: number;
  maxParallelism: number;
  keyedEntries: number;
  timers: number;
  operatorStateEntries: number;
}

/** A canonical flink-ts savepoint (or retained checkpoint) → a dump folder (created). */
export interface DumpOptions {
  /**
   * Data generator sources by uid, with the first value of their sequence (0 for DataGeneratorSource, `from` of
   * fromSequence): their split positions travel as Flink's NumberSequenceSplits, which count indices from 0.
   */
  numberSequenceSources?: Readonly<Record<string, number>>;
  /**
   * The job's other sources and sinks that run as Flink's own connectors, by uid, with their descriptor type:
   * their state in a Flink savepoint is in Flink's formats (sinks' is dropped, a source's refuses the move back).
   */
  flinkConnectors?: Readonly<Record<string, string>>;
  /** The way back: the job name recorded in the flink-ts savepoint (a Flink savepoint does not hold one). */
  jobName?: string;
}

/** The sources and sinks of a job that the runner maps to Flink's own connectors (not the data generator), by uid. */
export function flinkConnectorsOf(graph: StreamGraph): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of graph.nodes) {
    const c = n.connector as { toFlinkConnector?: () => { descriptor: { type?: string } } } | undefined;
    const type = n.uid && typeof c?.toFlinkConnector === 'function' ? c.toFlinkConnector().descriptor.type : undefined;
    if (n.uid && type && type !== 'data-generator') out[n.uid] = type;
  }
  return out;
}

/** The data generator sources of a job (what `run -m` maps to Flink's DataGeneratorSource), by uid. */
export function numberSequenceSourcesOf(graph: StreamGraph): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of graph.nodes) {
    const c = n.connector as { toFlinkConnector?: () => { descriptor: { type?: string; from?: number } } } | undefined;
    const d = n.uid && typeof c?.toFlinkConnector === 'function' ? c.toFlinkConnector().descriptor : undefined;
    if (n.uid && d?.type === 'data-generator') out[n.uid] = d.from ?? 0;
  }
  return out;
}

/** The uids of a job's operators: what a Flink savepoint's state is looked up by. */
export function uidsOf(graph: StreamGraph): string[] {
  return [...new Set(graph.nodes.flatMap((n) => (n.uid ? [n.uid] : [])))];
}

export interface DumpResult {
  manifest: DumpManifest;
  operators: ConvertedOperator[];
  /** `uid/state` of runtime state Flink does not keep (left out). */
  dropped: string[];
  /**
   * The file sink's part files pending for the savepoint's checkpoint. A restore commits them first; a move to
   * Flink must commit them (commitPendingFiles) because Flink's FileSink cannot take over flink-ts's list.
   */
  pendingFiles: PendingFile[];
}

export function dumpFlinkTsSavepoint(path: string, dumpDir: string, opts: DumpOptions = {}): DumpResult {
  const snap = loadSnapshot(path);
  verifySnapshotFiles(snap);
  const md = snap.metadata;
  mkdirSync(dumpDir, { recursive: true });
  const manifest: DumpManifest = { formatVersion: DUMP_FORMAT_VERSION, checkpointId: md.checkpointId, maxParallelism: md.maxParallelism, jobName: md.jobName, operators: [] };
  const summary: ConvertedOperator[] = [];
  const dropped: string[] = [];
  const pendingFiles: PendingFile[] = [];
  const generators = new Map(Object.entries(opts.numberSequenceSources ?? {}));
  for (const op of md.operators) {
    const files = op.subtasks.map((s) => ({ subtask: s.subtask, handle: s.state, bytes: verifyStateFile(snap.dir, s.state) }));
    const operatorStates = files.map((f) => ({ subtask: f.subtask, state: readOperatorState(f.bytes, f.handle) }));
    const hasKeyed = files.some((f) => f.handle.keyedEntries > 0);
    const hasOperator = operatorStates.some((s) => Object.values(s.state).some((l) => l.entries.length > 0));
    if (!hasKeyed && !hasOperator) continue;
    const what = `Operator '${op.name}'${op.uid ? ` (uid '${op.uid}')` : ''}`;
    for (const { state } of operatorStates) {
      for (const [name, l] of Object.entries(state)) {
        if (name === 'SourceReaderState' && op.uid && generators.has(op.uid)) {
          const bad = l.entries.find((e) => !isRangeSplit(e));
          if (bad !== undefined) throw new FlinkError('restore', `${what}: its SourceReaderState is not a data generator's index range (${JSON.stringify(bad)})`);
          continue;
        }
        if (l.entries.length > 0 && CONNECTOR_STATES[name]) {
          throw new FlinkError('restore', `${what} holds ${CONNECTOR_STATES[name]} (${name}) in flink-ts's own format, which Flink's connector cannot take over; moving the job would lose it`);
        }
      }
    }
    if (!op.uid) throw new FlinkError('restore', `${what} has state but no uid(); Flink finds state by uid, so give the operator a uid() before moving the job`);
    const file = `op-${manifest.operators.length}.bin`;
    const entry: DumpOperator = { uid: op.uid, name: op.name, parallelism: op.parallelism, maxParallelism: op.maxParallelism, file, keyedStates: {}, operatorStates: {} };
    const offset = generators.get(op.uid);
    if (offset !== undefined) entry.sourceSplits = 'number-sequence', entry.sequenceFrom = offset;
    const out = new DumpFileWriter(join(dumpDir, file));
    const counts: ConvertedOperator = { uid: op.uid, parallelism: op.parallelism, maxParallelism: op.maxParallelism, keyedEntries: 0, timers: 0, operatorStateEntries: 0 };
    try {
      for (const f of files) {
        if (f.handle.keyedEntries === 0 && !f.handle.keyedStateFiles) continue;
        const range = f.handle.keyGroupRange ? KeyGroupRange.of(f.handle.keyGroupRange) : new KeyGroupRange(0, op.maxParallelism - 1);
        for (const [name, , flat] of keyedStateChunks(snap.dir, f.handle, f.bytes, range)) {
          const fmt = chunkFormatOf(flat);
          if (fmt.ttl || fmt.ser || fmt.keySer) {
            throw new FlinkError('restore', `${what}: keyed state '${name}' has ${fmt.ttl ? 'a TTL' : 'a user serializer'}; moving such state to Flink is not supported yet`);
          }
          const domain = TIMER_NAMES.get(name);
          const kind = domain ? 'timer' : (f.handle.keyedStates[name] ?? 'value');
          if (!domain) entry.keyedStates[name] = kind;
          for (let i = 0; i < flat.length; i += 2) {
            const key = encodeKey(flat[i]);
            const v = flat[i + 1];
            if (domain) {
              for (const time of v as number[]) out.write({ type: 'timer', domain, key, time }), counts.timers++;
              continue;
            }
            counts.keyedEntries++;
            if (kind === 'list') for (const el of v as unknown[]) out.write({ type: 'list-element', state: name, key, value: encode(el) });
            else if (kind === 'map') for (const [uk, uv] of v as Map<unknown, unknown>) out.write({ type: 'map-entry', state: name, key, userKey: encodeKey(uk), value: encode(uv) });
            else out.write({ type: 'value', state: name, key, value: encode(v) });
          }
        }
      }
      for (const { subtask, state } of operatorStates) {
        for (const [name, l] of Object.entries(state)) {
          if (name === FILE_SINK_STATE) {
            for (const e of l.entries as { pending?: PendingFile[] }[]) pendingFiles.push(...(e.pending ?? []).map((p) => ({ tmp: p.tmp, final: p.final })));
            continue;
          }
          if (name === 'SourceReaderState' && entry.sourceSplits) {
            entry.operatorStates[name] = 'SPLIT_DISTRIBUTE';
            for (const sp of l.entries as RangeSplit[]) {
              counts.operatorStateEntries++;
              out.write({ type: 'source-split', state: name, subtask, splitId: sp.id, from: sp.next - offset!, to: sp.end - offset! });
            }
            continue;
          }
          if (DROPPED_STATES.has(name)) {
            if (l.entries.length > 0 && !dropped.includes(`${op.uid}/${name}`)) dropped.push(`${op.uid}/${name}`);
            continue;
          }
          entry.operatorStates[name] = l.mode;
          for (const e of l.entries) {
            counts.operatorStateEntries++;
            if (l.mode === 'BROADCAST') {
              const [k, v] = e as [unknown, unknown];
              out.write({ type: 'broadcast', state: name, subtask, userKey: encodeKey(k), value: encode(v) });
            } else {
              out.write({ type: l.mode === 'UNION' ? 'union-list' : 'operator-list', state: name, subtask, value: encode(e) });
            }
          }
        }
      }
    } finally {
      out.close();
    }
    if (counts.keyedEntries + counts.timers + counts.operatorStateEntries === 0) {
      rmSync(join(dumpDir, file)); // only state that does not move (a file sink's pending files, watermarks)
      continue;
    }
    manifest.operators.push(entry);
    summary.push(counts);
  }
  writeManifest(dumpDir, manifest);
  return { manifest, operators: summary, dropped, pendingFiles };
}

/** Commits the file sink's pending part files, as a restore of the savepoint would (FileSinkOperator's rules). */
export function commitPendingFiles(files: readonly PendingFile[]): void {
  for (const p of files) commitPendingFile(p);
}

/**
 * A dump folder → a canonical flink-ts savepoint in `target` (a new directory, `_metadata` written last).
 * Keys are decoded and assigned to flink-ts's key groups; operator list state stays with its subtask when the
 * dump says which (else split round-robin), union state goes whole to subtask 0 (a restore unions all
 * subtasks' lists), broadcast state is copied to every subtask.
 */
export async function writeFlinkTsSavepoint(
  dumpDir: string, target: string, opts: Pick<DumpOptions, 'flinkConnectors' | 'jobName'> = {},
): Promise<{ path: string; operators: ConvertedOperator[]; dropped: string[] }> {
  const manifest = readManifest(dumpDir);
  if (existsSync(join(target, METADATA_FILE))) throw new FlinkError('invalid-argument', `${target} already holds a snapshot; choose a new directory`);
  const operators: OperatorStateMetadata[] = [];
  const summary: ConvertedOperator[] = [];
  const dropped: string[] = [];
  const native = opts.flinkConnectors ?? {};
  const plan = manifest.operators.filter((op) => {
    const kind = native[op.uid];
    if (kind === undefined || op.sourceSplits) return true;
    if (!kind.endsWith('-sink')) {
      throw new FlinkError('restore', `Operator '${op.uid}' (Flink's ${kind}) holds its position in Flink's own format, which flink-ts's source cannot take over; moving the job back would lose it`);
    }
    // Flink commits a sink's last transaction or part files when its stop-with-savepoint completes; what is
    // left in its state is Flink's own bookkeeping, which flink-ts's sink does not read.
    dropped.push(...Object.keys(op.operatorStates).map((n) => `${op.uid}/${n}`));
    return false;
  });
  mkdirSync(target, { recursive: true });
  for (const op of plan) {
    const p = op.parallelism;
    const maxP = op.maxParallelism;
    const counts: ConvertedOperator = { uid: op.uid, parallelism: p, maxParallelism: maxP, keyedEntries: 0, timers: 0, operatorStateEntries: 0 };
    // key group → state → normalized key → [key, value]
    const groups = new Map<number, Map<string, Map<NormalizedKey, [unknown, unknown]>>>();
    const kinds: Record<string, string> = { ...op.keyedStates };
    const perSubtask: OperatorStateSnapshot[] = Array.from({ length: p }, () => ({}));
    const ops = (s: number, name: string, mode: string) => ((perSubtask[s][name] ??= { mode, entries: [] }).entries);
    let roundRobin = 0;
    const from = op.sequenceFrom ?? 0;
    for (const r of readDumpFile(join(dumpDir, op.file))) {
      if (r.type === 'operator-list' || r.type === 'union-list' || r.type === 'broadcast' || r.type === 'source-split') {
        counts.operatorStateEntries++;
        if (r.type === 'source-split') {
          // Splits no reader had taken (Flink's enumerator) go round robin, like flink-ts's own restore.
          // An unbounded Flink generator counts to Long.MAX_VALUE; flink-ts's stops at the largest safe integer.
          const at = (i: number) => Math.min(i + from, Number.MAX_SAFE_INTEGER - 1);
          ops(r.subtask >= 0 ? r.subtask % p : roundRobin++ % p, r.state, 'SPLIT_DISTRIBUTE').push({ id: r.splitId, next: at(r.from), end: at(r.to) });
        } else if (r.type === 'broadcast') {
          for (let s = 0; s < p; s++) ops(s, r.state, 'BROADCAST').push([decodeKey(r.userKey), decode(r.value)]);
        } else if (r.type === 'union-list') {
          ops(r.subtask >= 0 ? r.subtask % p : 0, r.state, 'UNION').push(decode(r.value));
        } else {
          ops(r.subtask >= 0 ? r.subtask % p : roundRobin++ % p, r.state, 'SPLIT_DISTRIBUTE').push(decode(r.value));
        }
        continue;
      }
      if (!('key' in r)) continue;
      const key = decodeKey(r.key);
      const kg = assignToKeyGroup(key, maxP);
      const state = r.type === 'timer' ? (r.domain === 'event' ? TIMER_STATE.EVENT_TIME : TIMER_STATE.PROCESSING_TIME) : r.state;
      let g = groups.get(kg);
      if (!g) groups.set(kg, (g = new Map()));
      let m = g.get(state);
      if (!m) g.set(state, (m = new Map()));
      const nk = normalizeKey(key);
      const cur = m.get(nk);
      switch (r.type) {
        case 'value':
          counts.keyedEntries++;
          kinds[state] ??= 'value';
          m.set(nk, [key, decode(r.value)]);
          break;
        case 'list-element':
          kinds[state] ??= 'list';
          if (cur) (cur[1] as unknown[]).push(decode(r.value));
          else counts.keyedEntries++, m.set(nk, [key, [decode(r.value)]]);
          break;
        case 'map-entry':
          kinds[state] ??= 'map';
          if (cur) (cur[1] as Map<unknown, unknown>).set(decodeKey(r.userKey), decode(r.value));
          else counts.keyedEntries++, m.set(nk, [key, new Map([[decodeKey(r.userKey), decode(r.value)]])]);
          break;
        case 'timer':
          counts.timers++;
          kinds[state] = 'value';
          if (cur) (cur[1] as number[]).push(r.time);
          else m.set(nk, [key, [r.time]]);
          break;
      }
    }
    const keyed = Object.keys(kinds).length > 0;
    const subtasks: OperatorStateMetadata['subtasks'] = [];
    for (let s = 0; s < p; s++) {
      const w = new StateFileWriter();
      const range = keyed ? computeKeyGroupRangeForOperatorIndex(maxP, p, s) : undefined;
      if (range) {
        for (let kg = range.start; kg <= range.end; kg++) {
          w.beginKeyGroup();
          for (const [name, m] of groups.get(kg) ?? []) {
            const flat: unknown[] = [];
            for (const [k, v] of m.values()) flat.push(k, name === TIMER_STATE.EVENT_TIME || name === TIMER_STATE.PROCESSING_TIME ? (v as number[]).sort((a, b) => a - b) : v);
            w.writeKeyedChunk(name, flat);
          }
          w.endSection();
        }
      }
      const operatorStateOffset = w.size;
      w.writeOperatorState(perSubtask[s]);
      const file = `${hash128(op.uid)}-${s}-${randomHex(4)}`;
      const { size, crc32 } = await w.finish(join(target, file));
      subtasks.push({
        subtask: s,
        state: {
          file, size, crc32,
          ...(range ? { keyGroupRange: [range.start, range.end] as [number, number], keyGroupOffsets: w.keyGroupOffsets } : {}),
          operatorStateOffset,
          keyedStates: kinds,
          operatorStates: Object.fromEntries(Object.entries(op.operatorStates)),
          keyedEntries: w.keyedEntries,
        },
      });
    }
    operators.push({ operatorId: hash128(op.uid), uid: op.uid, name: op.name ?? op.uid, parallelism: p, maxParallelism: maxP, subtasks });
    summary.push(counts);
  }
  const now = Date.now();
  const md: CheckpointMetadata = {
    formatVersion: 1, jobId: newJobId(), jobName: opts.jobName ?? manifest.jobName ?? 'converted', checkpointId: manifest.checkpointId || 1, kind: 'SAVEPOINT', format: 'CANONICAL',
    triggerTimestamp: now, completionTimestamp: now, maxParallelism: manifest.maxParallelism || 128, operators,
  };
  writeMetadataAtomically(target, md);
  return { path: resolve(target), operators: summary, dropped };
}

/** True when `path` is a flink-ts snapshot (its `_metadata` starts with flink-ts's format marker). */
export function isFlinkTsSnapshot(path: string): boolean {
  const p = path.replace(/^file:(\/\/)?/, '');
  const file = existsSync(join(p, METADATA_FILE)) ? join(p, METADATA_FILE) : p;
  try {
    return readFileSync(file).subarray(0, 8).toString('latin1') === 'FLTSMETA';
  } catch {
    return false;
  }
}

/** True when `path` is an Apache Flink savepoint or checkpoint (`_metadata` starts with Flink's magic number). */
export function isFlinkSnapshot(path: string): boolean {
  const p = path.replace(/^file:(\/\/)?/, '');
  const file = existsSync(join(p, METADATA_FILE)) ? join(p, METADATA_FILE) : p;
  try {
    const b = readFileSync(file);
    return b.length >= 4 && b.readUInt32BE(0) === FLINK_METADATA_MAGIC;
  } catch {
    return false;
  }
}
/** Flink's Checkpoints.HEADER_MAGIC_NUMBER. */
const FLINK_METADATA_MAGIC = 0x4960672d;

/** Where `run` puts the converted copy of a savepoint: beside it, `<dir>-<suffix>` (a fresh name if taken). */
export function convertedSavepointPath(path: string, suffix: 'flink' | 'flink-ts'): string {
  const p = resolve(path.replace(/^file:(\/\/)?/, ''));
  const dir = p.endsWith(`/${METADATA_FILE}`) ? dirname(p) : p;
  const base = `${dir}-${suffix}`;
  return existsSync(base) ? `${base}-${randomHex(3)}` : base;
}

// ---- the Java side -------------------------------------------------------------------------------------

const jvmCache = () => process.env.FLINK_TS_JVM_CACHE ?? join(packageRoot(), 'jvm', '.cache');

/**
 * The converter's classpath (jvm/flink-savepoint-converter: its jar, Flink's State Processor API and runtime),
 * built with Maven into the jvm cache folder when it is missing, as the runner JAR is.
 */
function converterClasspath(): string {
  const dir = join(jvmCache(), 'flink-savepoint-converter');
  const jar = join(dir, 'flink-savepoint-converter.jar');
  const lib = join(dir, 'lib');
  if (!existsSync(jar) || !existsSync(lib)) {
    const jvm = join(packageRoot(), 'jvm');
    const r = spawnSync(process.env.MVN ?? 'mvn', ['-B', '-q', '-f', join(jvm, 'pom.xml'), '-pl', 'flink-savepoint-converter', `-Djvm.cache=${jvmCache()}`, 'package'], { encoding: 'utf8' });
    if (r.error || r.status !== 0 || !existsSync(jar)) {
      const why = r.error ? `mvn is not available (${r.error.message})` : `mvn exited ${r.status}: ${`${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-3).join(' ')}`;
      throw new FlinkError('not-found', `The savepoint converter (jvm/flink-savepoint-converter) is not built and cannot be built: ${why}`);
    }
  }
  return [jar, ...readdirSync(lib).filter((f) => f.endsWith('.jar')).map((f) => join(lib, f))].join(':');
}

/** Flink's Java 17 module flags, as its shipped config.yaml sets them. */
const JAVA_FLAGS = ['java.lang', 'java.net', 'java.io', 'java.nio', 'sun.nio.ch', 'java.lang.reflect', 'java.text', 'java.time', 'java.util',
  'java.util.concurrent', 'java.util.concurrent.atomic', 'java.util.concurrent.locks'].map((p) => `--add-opens=java.base/${p}=ALL-UNNAMED`);

/** Runs the converter; rejects with its one-line error. */
export function runConverter(args: string[], timeoutMs = 600_000): Promise<void> {
  const cp = converterClasspath();
  return new Promise((res, rej) => {
    // flink-ts's FLINK_CONF_DIR holds flink-ts's configuration: the converter's local Flink must not read it.
    const env = { ...process.env };
    delete env.FLINK_CONF_DIR;
    const child = spawn(process.env.JAVA ?? 'java', [...JAVA_FLAGS, '-cp', cp, 'dev.flinkts.converter.SavepointConverter', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let err = '';
    child.stdout.resume();
    child.stderr.on('data', (d: Buffer) => void (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => (clearTimeout(timer), rej(new FlinkError('not-found', `Cannot start java for the savepoint converter: ${e.message}`))));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return res();
      const line = err.trim().split('\n').filter((l) => l.startsWith('flink-savepoint-converter:')).pop()
        ?? (signal ? `killed by ${signal}${signal === 'SIGKILL' ? ` after ${timeoutMs / 1000} s` : ''}` : err.trim().split('\n').pop() ?? `exit ${code}`);
      rej(new FlinkError('restore', `Savepoint conversion failed: ${line.replace(/^flink-savepoint-converter: /, '')}`));
    });
  });
}

function withTempDir<T>(f: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'flink-ts-convert-'));
  return f(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

export interface ToFlinkResult {
  path: string;
  operators: ConvertedOperator[];
  dropped: string[];
  /** Part files of the file sink that the conversion committed (see DumpResult.pendingFiles). */
  committedFiles: number;
}

/** flink-ts savepoint → a new Flink savepoint directory `target`. */
export async function convertToFlink(source: string, target: string, opts: DumpOptions = {}): Promise<ToFlinkResult> {
  if (existsSync(join(target, METADATA_FILE))) throw new FlinkError('invalid-argument', `${target} already holds a snapshot; choose a new directory`);
  return withTempDir(async (dir) => {
    const { operators, dropped, pendingFiles } = dumpFlinkTsSavepoint(source, dir, opts);
    if (operators.length === 0) throw new FlinkError('restore', `The savepoint ${source} holds no state to move`);
    await runConverter(['to-flink', dir, resolve(target)]);
    commitPendingFiles(pendingFiles);
    return { path: resolve(target), operators, dropped, committedFiles: pendingFiles.length };
  });
}

/** Reads a Flink savepoint of a runner job into a dump folder, for the operators with these uids. */
export async function dumpFlinkSavepoint(source: string, dumpDir: string, uids: readonly string[], opts: DumpOptions = {}): Promise<DumpManifest> {
  if (uids.length === 0) throw new FlinkError('invalid-argument', 'Name the uids of the operators whose state to read (Flink savepoints only hold hashes of them)');
  const generators = opts.numberSequenceSources ?? {};
  await runConverter(['from-flink', resolve(source.replace(/^file:(\/\/)?/, '')), dumpDir, ...uids.map((u) => (u in generators ? `${u}=number-sequence` : u))]);
  const manifest = readManifest(dumpDir);
  for (const op of manifest.operators) if (op.uid in generators) op.sequenceFrom = generators[op.uid];
  writeManifest(dumpDir, manifest);
  return manifest;
}

/** A Flink savepoint of a runner job → a new flink-ts savepoint `target`, for the operators with these uids. */
export async function convertToFlinkTs(
  source: string, target: string, uids: readonly string[], opts: DumpOptions = {},
): Promise<{ path: string; operators: ConvertedOperator[]; dropped: string[] }> {
  return withTempDir(async (dir) => {
    await dumpFlinkSavepoint(source, join(dir, 'dump'), uids, opts);
    return writeFlinkTsSavepoint(join(dir, 'dump'), target, opts);
  });
}
