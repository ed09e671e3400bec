import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { FlinkError } from '../core/FlinkError.js';

/**
 * The neutral dump between a flink-ts savepoint and a Flink savepoint (docs/flink-runner.md, "Savepoint
 * conversion"): a folder with `manifest.json` and one binary record file per operator, in the runner's layout
 * (keys via encodeKey, values as Serializer.encode bytes). jvm/flink-savepoint-converter's DumpFile is the other
 * end: `u8 type` then fields, strings and byte arrays as `u32 length | bytes`, integers big-endian.
 */
export const DUMP_FORMAT_VERSION = 1;

export interface DumpOperator {
  uid: string;
  name?: string;
  parallelism: number;
  maxParallelism: number;
  /** Record file, relative to the dump folder. */
  file: string;
  /** flink-ts kinds (value, list, map, reducing, aggregating); the Java side sees value, list, map. */
  keyedStates: Record<string, string>;
  /** SPLIT_DISTRIBUTE, UNION or BROADCAST. */
  operatorStates: Record<string, string>;
  /** The data generator (a number sequence): its SourceReaderState travels as Flink's NumberSequenceSplits. */
  sourceSplits?: 'number-sequence';
  /** The value of the sequence's index 0 (flink-ts split states hold values, Flink's splits indices). */
  sequenceFrom?: number;
}

export interface DumpManifest {
  formatVersion: number;
  checkpointId: number;
  maxParallelism: number;
  jobName?: string;
  operators: DumpOperator[];
}

export type DumpRecord =
  | { type: 'value' | 'list-element'; state: string; key: string; value: Buffer }
  | { type: 'map-entry'; state: string; key: string; userKey: string; value: Buffer }
  | { type: 'timer'; domain: 'event' | 'processing'; key: string; time: number }
  | { type: 'operator-list' | 'union-list'; state: string; subtask: number; value: Buffer }
  | { type: 'broadcast'; state: string; subtask: number; userKey: string; value: Buffer }
  /** A number-sequence split: the indices from..to (inclusive) are still to be read. */
  | { type: 'source-split'; state: string; subtask: number; splitId: string; from: number; to: number };

const CODE = { value: 1, 'list-element': 2, 'map-entry': 3, timer: 4, 'operator-list': 5, 'union-list': 6, broadcast: 7, 'source-split': 8 } as const;

/** Appends records to one operator's file, in batches of about 1 MiB. */
export class DumpFileWriter {
  private readonly fd: number;
  private parts: Buffer[] = [];
  private pending = 0;

  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }

  write(r: DumpRecord): void {
    this.u8(CODE[r.type]);
    switch (r.type) {
      case 'value':
      case 'list-element':
        this.str(r.state), this.str(r.key), this.bytes(r.value);
        break;
      case 'map-entry':
        this.str(r.state), this.str(r.key), this.str(r.userKey), this.bytes(r.value);
        break;
      case 'timer':
        this.u8(r.domain === 'event' ? 0 : 1), this.str(r.key), this.i64(r.time);
        break;
      case 'source-split':
        this.str(r.state), this.i32(r.subtask), this.str(r.splitId), this.i64(r.from), this.i64(r.to);
        break;
      case 'operator-list':
      case 'union-list':
        this.str(r.state), this.i32(r.subtask), this.bytes(r.value);
        break;
      case 'broadcast':
        this.str(r.state), this.i32(r.subtask), this.str(r.userKey), this.bytes(r.value);
        break;
    }
    if (this.pending >= 1 << 20) this.flush();
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }

  private flush(): void {
    const b = Buffer.concat(this.parts);
    let off = 0;
    while (off < b.length) off += writeSync(this.fd, b, off);
    this.parts = [];
    this.pending = 0;
  }

  private push(b: Buffer): void {
    this.parts.push(b);
    this.pending += b.length;
  }

  private u8(v: number): void {
    this.push(Buffer.of(v));
  }

  private i32(v: number): void {
    const b = Buffer.allocUnsafe(4);
    b.writeInt32BE(v);
    this.push(b);
  }

  private i64(v: number): void {
    const b = Buffer.allocUnsafe(8);
    b.writeBigInt64BE(BigInt(v));
    this.push(b);
  }

  private str(s: string): void {
    this.bytes(Buffer.from(s, 'utf8'));
  }

  private bytes(v: Uint8Array): void {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(v.length);
    this.push(b);
    this.push(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
  }
}

/** The records of one operator's file, in file order. */
export function* readDumpFile(path: string): Generator<DumpRecord> {
  const b = readFileSync(path);
  let at = 0;
  const need = (n: number) => {
    if (at + n > b.length) throw new FlinkError('restore', `Savepoint dump file ${path} is truncated at byte ${at}`);
  };
  const bytes = (): Buffer => {
    need(4);
    const n = b.readUInt32BE(at);
    at += 4;
    need(n);
    const out = b.subarray(at, at + n);
    at += n;
    return out;
  };
  const str = () => bytes().toString('utf8');
  const i32 = () => (need(4), (at += 4), b.readInt32BE(at - 4));
  const i64 = () => (need(8), (at += 8), Number(b.readBigInt64BE(at - 8)));
  while (at < b.length) {
    const code = b[at++];
    switch (code) {
      case 1:
      case 2:
        yield { type: code === 1 ? 'value' : 'list-element', state: str(), key: str(), value: bytes() };
        break;
      case 3:
        yield { type: 'map-entry', state: str(), key: str(), userKey: str(), value: bytes() };
        break;
      case 4: {
        need(1);
        const domain = b[at++] === 0 ? 'event' : 'processing';
        const key = str();
        yield { type: 'timer', domain, key, time: i64() };
        break;
      }
      case 5:
      case 6:
        yield { type: code === 5 ? 'operator-list' : 'union-list', state: str(), subtask: i32(), value: bytes() };
        break;
      case 7:
        yield { type: 'broadcast', state: str(), subtask: i32(), userKey: str(), value: bytes() };
        break;
      case 8:
        yield { type: 'source-split', state: str(), subtask: i32(), splitId: str(), from: i64(), to: i64() };
        break;
      default:
        throw new FlinkError('restore', `Savepoint dump file ${path} has an unknown record type ${code} at byte ${at - 1}`);
    }
  }
}

export function writeManifest(dir: string, m: DumpManifest): void {
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m, null, 2));
}

export function readManifest(dir: string): DumpManifest {
  let m: DumpManifest;
  try {
    m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as DumpManifest;
  } catch (e) {
    throw new FlinkError('restore', `Cannot read the savepoint dump's manifest in ${dir}: ${(e as Error).message}`);
  }
  if (!Array.isArray(m.operators)) throw new FlinkError('restore', `The savepoint dump's manifest in ${dir} has no operators list`);
  return m;
}
