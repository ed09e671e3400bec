import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { decodeIndex, type FlinkSourceConnector } from '../core/FlinkConnector.js';
import { encode } from '../core/Serializer.js';

/**
 * Sources in the shape of Flink's Source API, reduced to what a single process needs: a source is cut
 * into splits; each subtask reads its splits; a split's state (its read position) is what checkpoints
 * store, so a restored source continues exactly where the snapshot was taken.
 */
export interface SourceSplit {
  id: string;
}

export interface SourceReaderContext {
  subtask: number;
  parallelism: number;
  /**
   * Per-split watermarks (sources with `perSplitWatermarks`): the reader announces each split it starts and
   * finishes reading, and passes the split's id with every record it emits.
   */
  splitStarted?(splitId: string): void;
  splitFinished?(splitId: string): void;
}

export interface SourceReader<T, S extends SourceSplit> {
  addSplits(splits: S[]): void;
  /**
   * Emits at most `budget` records. Returns 0 when more can be read now, a number of milliseconds to
   * wait before polling again, or 'end' when every split is finished (bounded sources).
   */
  pollNext(emit: (value: T, timestamp?: number, splitId?: string) => void, budget: number): number | 'end';
  /** The current state of every unfinished split; called at the barrier of `checkpointId`. */
  snapshotState(checkpointId: number): S[];
  /** Checkpoint `checkpointId` completed (Kafka commits the offsets it snapshotted to the consumer group). */
  notifyCheckpointComplete?(checkpointId: number): void;
  close?(): void;
}

export interface Source<T, S extends SourceSplit = SourceSplit> {
  readonly name: string;
  readonly bounded: boolean;
  /** Each split has its own watermark generator (Flink's per-split watermarks); the reader names the splits. */
  readonly perSplitWatermarks?: boolean;
  /** Non-parallel sources (fromElements) always run with parallelism 1. */
  readonly nonParallel?: boolean;
  /**
   * Restores give this subtask its splits by this rule instead of round robin: the split state is then union
   * state (every subtask sees all splits) and each keeps those `assignSplits` returns. Kafka uses it so that
   * a partition is always read by its Flink getSplitOwner, also after rescaling, which makes partition
   * discovery a local decision.
   */
  assignSplits?(all: S[], subtask: number, parallelism: number): S[];
  /** Deterministic: every process computes the same splits for the same parallelism. */
  initialSplits(parallelism: number): S[];
  createReader(ctx: SourceReaderContext): SourceReader<T, S>;
  /**
   * Runs once in the JobManager before the job is deployed (where Flink starts a source's split enumerator):
   * a source that cannot reach its system fails the submission with one clear error instead of failing over.
   */
  preflight?(ctx?: PreflightContext): Promise<void>;
  /** On a Flink cluster: Flink's own connector for this source (src/core/FlinkConnector.ts); absent: the runner refuses the job. */
  toFlinkConnector?(): FlinkSourceConnector<T>;
}

/** What a connector's preflight may know of the job and say about it (warnings go to the job's log). */
export interface PreflightContext {
  /** The job's checkpoint interval in ms; undefined when checkpointing is off. */
  checkpointInterval?: number;
  warn(message: string): void;
}

/** Rate limiting like Flink's RateLimiterStrategy: the rate is shared by the source's subtasks. */
export class RateLimiterStrategy {
  private constructor(readonly recordsPerSecond: number) {}
  static perSecond(recordsPerSecond: number): RateLimiterStrategy {
    if (!(recordsPerSecond > 0)) throw new RangeError('RateLimiterStrategy.perSecond needs a positive rate');
    return new RateLimiterStrategy(recordsPerSecond);
  }
  static noOp(): RateLimiterStrategy {
    return new RateLimiterStrategy(Infinity);
  }
}

interface RangeSplit extends SourceSplit {
  next: number;
  end: number; // inclusive
}

function rangeSplits(from: number, to: number, parallelism: number): RangeSplit[] {
  const total = to - from + 1;
  const splits: RangeSplit[] = [];
  for (let i = 0; i < parallelism; i++) {
    const start = from + Math.floor((total * i) / parallelism);
    const end = from + Math.floor((total * (i + 1)) / parallelism) - 1;
    if (end >= start) splits.push({ id: String(i), next: start, end });
  }
  return splits;
}

/** Reads index ranges, optionally rate limited; the base of sequence and generator sources. */
class IndexRangeReader<T> implements SourceReader<T, RangeSplit> {
  private readonly splits: RangeSplit[] = [];
  private readonly rate: number;
  /** Token bucket: refills at `rate` per second, holds at most one second's worth (no bursts after a stall). */
  private tokens = 1;
  private refilledAt = 0;

  constructor(private readonly produce: (index: number) => T, rateLimiter: RateLimiterStrategy | undefined, parallelism: number) {
    this.rate = (rateLimiter?.recordsPerSecond ?? Infinity) / parallelism;
  }

  addSplits(splits: RangeSplit[]): void {
    this.splits.push(...splits.map((s) => ({ ...s })));
  }

  pollNext(emit: (value: T) => void, budget: number): number | 'end' {
    if (this.splits.length === 0) return 'end';
    if (this.rate !== Infinity) {
      const now = Date.now();
      if (this.refilledAt === 0) this.refilledAt = now;
      this.tokens = Math.min(Math.max(1, this.rate), this.tokens + ((now - this.refilledAt) / 1000) * this.rate);
      this.refilledAt = now;
      if (this.tokens < 1) return Math.max(1, Math.ceil(((1 - this.tokens) / this.rate) * 1000));
      budget = Math.min(budget, Math.floor(this.tokens));
    }
    let emitted = 0;
    while (emitted < budget) {
      const s = this.splits[0];
      if (!s) break;
      const n = Math.min(budget - emitted, s.end - s.next + 1);
      for (let i = 0; i < n; i++) emit(this.produce(s.next + i));
      s.next += n;
      emitted += n;
      if (s.next > s.end) this.splits.shift();
    }
    if (this.rate !== Infinity) this.tokens -= emitted;
    return this.splits.length === 0 ? 'end' : 0;
  }

  snapshotState(): RangeSplit[] {
    return this.splits.map((s) => ({ ...s }));
  }
}

/** env.fromSequence(from, to): every number once, split into contiguous ranges. */
export class NumberSequenceSource implements Source<number, RangeSplit> {
  readonly name = 'Sequence Source';
  readonly bounded = true;
  constructor(readonly from: number, readonly to: number) {
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || to < from) {
      throw new RangeError(`fromSequence needs safe integers with from <= to, got ${from}..${to}`);
    }
  }
  initialSplits(parallelism: number): RangeSplit[] {
    return rangeSplits(this.from, this.to, parallelism);
  }
  createReader(ctx: SourceReaderContext): SourceReader<number, RangeSplit> {
    return new IndexRangeReader((i) => i, undefined, ctx.parallelism);
  }
  /** Flink's DataGeneratorSource over from..to: each record is the number itself. */
  toFlinkConnector(): FlinkSourceConnector<number> {
    return {
      descriptor: { type: 'data-generator', name: this.name, from: this.from, count: this.to - this.from + 1, recordsPerSecond: null, nonParallel: false },
      decode: (raw, collect) => collect(decodeIndex(raw)),
    };
  }
}

/** Like Flink's DataGeneratorSource: generator(index) for index 0..count-1, at an optional rate. */
export class DataGeneratorSource<T> implements Source<T, RangeSplit> {
  readonly name = 'Data Generator';
  readonly bounded: boolean;
  constructor(
    private readonly generator: (index: number) => T,
    readonly count: number = Number.MAX_SAFE_INTEGER,
    private readonly rateLimiter?: RateLimiterStrategy,
  ) {
    if (!(count >= 1)) throw new RangeError('DataGeneratorSource needs a count of at least 1');
    this.count = Math.min(count, Number.MAX_SAFE_INTEGER);
    this.bounded = this.count < Number.MAX_SAFE_INTEGER;
  }
  initialSplits(parallelism: number): RangeSplit[] {
    return rangeSplits(0, this.count - 1, parallelism);
  }
  createReader(ctx: SourceReaderContext): SourceReader<T, RangeSplit> {
    return new IndexRangeReader(this.generator, this.rateLimiter, ctx.parallelism);
  }
  /** Flink's DataGeneratorSource with the same count and rate; the generator runs here on Flink's index. */
  toFlinkConnector(): FlinkSourceConnector<T> {
    const rate = this.rateLimiter?.recordsPerSecond ?? Infinity;
    return {
      descriptor: {
        type: 'data-generator', name: this.name, from: 0, count: this.bounded ? this.count : null,
        recordsPerSecond: rate === Infinity ? null : rate, nonParallel: false,
      },
      decode: (raw, collect) => collect(this.generator(decodeIndex(raw))),
    };
  }
}

/** env.fromElements(...): a non-parallel source over a fixed list. */
export class FromElementsSource<T> implements Source<T, RangeSplit> {
  readonly name = 'Collection Source';
  readonly bounded = true;
  readonly nonParallel = true;
  constructor(private readonly elements: readonly T[]) {}
  /** On the Flink runner: Flink's own fromData source over the elements' V8 bytes (positions in Flink's checkpoints). */
  toFlinkConnector(): FlinkSourceConnector<T> {
    return { descriptor: { type: 'elements', elements: this.elements.map((e) => encode(e).toString('base64')) } };
  }
  initialSplits(): RangeSplit[] {
    return this.elements.length ? [{ id: '0', next: 0, end: this.elements.length - 1 }] : [];
  }
  createReader(): SourceReader<T, RangeSplit> {
    return new IndexRangeReader((i) => this.elements[i], undefined, 1);
  }
}

interface FileSplit extends SourceSplit {
  path: string;
  offset: number;
}

const READ_CHUNK = 1 << 16;

class TextLineReader implements SourceReader<string, FileSplit> {
  private readonly splits: FileSplit[] = [];
  private fd = -1;
  private buf = Buffer.alloc(0);

  addSplits(splits: FileSplit[]): void {
    this.splits.push(...splits.map((s) => ({ ...s })));
  }

  pollNext(emit: (line: string) => void, budget: number): number | 'end' {
    while (budget > 0) {
      const s = this.splits[0];
      if (!s) return 'end';
      if (this.fd < 0) {
        this.fd = openSync(s.path, 'r');
        this.buf = Buffer.alloc(0);
      }
      let nl = this.buf.indexOf(10);
      if (nl < 0) {
        const chunk = Buffer.allocUnsafe(READ_CHUNK);
        const n = readSync(this.fd, chunk, 0, READ_CHUNK, s.offset + this.buf.length);
        if (n === 0) {
          if (this.buf.length > 0) emit(this.lineOf(this.buf, this.buf.length));
          closeSync(this.fd);
          this.fd = -1;
          this.splits.shift();
          continue;
        }
        this.buf = Buffer.concat([this.buf, chunk.subarray(0, n)]);
        continue;
      }
      while (nl >= 0 && budget > 0) {
        emit(this.lineOf(this.buf, nl));
        s.offset += nl + 1;
        this.buf = this.buf.subarray(nl + 1);
        budget--;
        nl = this.buf.indexOf(10);
      }
    }
    return this.splits.length === 0 ? 'end' : 0;
  }

  private lineOf(b: Buffer, end: number): string {
    const e = end > 0 && b[end - 1] === 13 ? end - 1 : end;
    return b.toString('utf8', 0, e);
  }

  snapshotState(): FileSplit[] {
    return this.splits.map((s) => ({ ...s }));
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/** Lines of a file, or of every non-hidden file of a directory (a split per file); the byte offset is checkpointed. */
export class TextFileSource implements Source<string, FileSplit> {
  readonly name: string;
  readonly bounded = true;
  readonly path: string;
  constructor(path: string) {
    this.path = resolve(path.replace(/^file:\/\//, '').replace(/^file:/, ''));
    this.name = `FileSource(${path})`;
  }
  initialSplits(): FileSplit[] {
    const st = statSync(this.path);
    const files = st.isDirectory()
      ? readdirSync(this.path).filter((f) => !f.startsWith('.') && !f.startsWith('_')).sort().map((f) => join(this.path, f))
      : [this.path];
    return files.map((f, i) => ({ id: String(i), path: f, offset: 0 }));
  }
  createReader(): SourceReader<string, FileSplit> {
    return new TextLineReader();
  }
  /** Flink's FileSource over the same path; each record is one line's bytes (split as TextLineReader splits). */
  toFlinkConnector(): FlinkSourceConnector<string> {
    return {
      descriptor: { type: 'file-source', name: this.name, paths: [`file://${this.path}`] },
      decode: (raw, collect) => collect(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8')),
    };
  }
}
