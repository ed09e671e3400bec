/**
 * Wraps a source so that each of its readers stops after `holdAt` records until the file `gate` exists (no gate:
 * never held). Splits and split state are the wrapped source's own, so snapshots of the held job restore into the
 * plain one and back. For tests that savepoint, cancel or rescale while every source subtask sits at a known spot.
 */
import { existsSync } from 'node:fs';
import type { Source, SourceReader, SourceSplit } from 'flink-ts';

export class HeldSource<T, S extends SourceSplit> implements Source<T, S> {
  readonly bounded: boolean;
  readonly name: string;

  constructor(private readonly inner: Source<T, S>, private readonly holdAt: number, private readonly gate: string | undefined) {
    this.bounded = inner.bounded;
    this.name = inner.name;
  }

  initialSplits(parallelism: number): S[] {
    return this.inner.initialSplits(parallelism);
  }

  createReader(ctx: Parameters<Source<T, S>['createReader']>[0]): SourceReader<T, S> {
    const r = this.inner.createReader(ctx);
    let n = 0;
    let open = this.gate === undefined;
    return {
      addSplits: (s) => r.addSplits(s),
      pollNext: (emit, budget) => {
        if (!open && n >= this.holdAt) {
          if (!existsSync(this.gate!)) return 20; // held: look again in 20 ms
          open = true;
        }
        return r.pollNext((v) => (n++, emit(v)), open ? budget : Math.min(budget, this.holdAt - n));
      },
      snapshotState: (checkpointId) => r.snapshotState(checkpointId),
      close: () => r.close?.(),
    };
  }
}
