/**
 * Where a Kafka source starts (and, bounded, stops) reading each partition: Flink's OffsetsInitializer.
 * Resolved once per partition when the partition is first assigned; after a restore the checkpointed
 * offsets are used instead.
 */
export const OffsetResetStrategy = { EARLIEST: 'EARLIEST', LATEST: 'LATEST', NONE: 'NONE' } as const;
export type OffsetResetStrategy = (typeof OffsetResetStrategy)[keyof typeof OffsetResetStrategy];

export type OffsetSpec =
  | { kind: 'earliest' }
  | { kind: 'latest' }
  | { kind: 'committed'; reset: OffsetResetStrategy }
  | { kind: 'timestamp'; timestamp: number };

export class OffsetsInitializer {
  private constructor(readonly spec: OffsetSpec) {}

  static earliest(): OffsetsInitializer {
    return new OffsetsInitializer({ kind: 'earliest' });
  }

  static latest(): OffsetsInitializer {
    return new OffsetsInitializer({ kind: 'latest' });
  }

  /** The consumer group's committed offsets; without one, `reset` decides (NONE: the job fails, as in Flink). */
  static committedOffsets(reset: OffsetResetStrategy = OffsetResetStrategy.NONE): OffsetsInitializer {
    return new OffsetsInitializer({ kind: 'committed', reset });
  }

  /** The first record whose timestamp is at or after `timestamp` (ms); the end of the partition if none. */
  static timestamp(timestamp: number): OffsetsInitializer {
    if (!Number.isFinite(timestamp)) throw new RangeError(`OffsetsInitializer.timestamp needs a time in ms, got ${timestamp}`);
    return new OffsetsInitializer({ kind: 'timestamp', timestamp });
  }

  toString(): string {
    return this.spec.kind === 'committed' ? `committedOffsets(${this.spec.reset})` : this.spec.kind === 'timestamp' ? `timestamp(${this.spec.timestamp})` : `${this.spec.kind}()`;
  }
}
