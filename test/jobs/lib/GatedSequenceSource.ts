/**
 * A test source for deterministic timing: indices 0..count-1 split like DataGeneratorSource (the same splits and
 * the same `{id, next, end}` split state, so test/e2e/helpers.ts `recordsEmittedAt` reads its position), except
 * that no index from `holdAt` on is emitted until the file `gate` exists. A test savepoints, cancels or kills
 * the job while it is held at a known record, then creates the gate to release it: no rate has to outlast the CLI.
 */
import { existsSync } from 'node:fs';
import type { Source, SourceReader, SourceSplit } from 'flink-ts';

interface RangeSplit extends SourceSplit {
  next: number;
  end: number; // inclusive
}

export class GatedSequenceSource<T = number> implements Source<T, RangeSplit> {
  readonly name = 'Gated Sequence Source';
  readonly bounded = true;

  constructor(
    private readonly count: number,
    private readonly holdAt: number,
    private readonly gate: string | undefined,
    private readonly produce: (i: number) => T = (i) => i as T,
  ) {}

  initialSplits(parallelism: number): RangeSplit[] {
    const splits: RangeSplit[] = [];
    for (let i = 0; i < parallelism; i++) {
      const start = Math.floor((this.count * i) / parallelism);
      const end = Math.floor((this.count * (i + 1)) / parallelism) - 1;
      if (end >= start) splits.push({ id: String(i), next: start, end });
    }
    return splits;
  }

  createReader(): SourceReader<T, RangeSplit> {
    const splits: RangeSplit[] = [];
    let open = this.gate === undefined;
    return {
      addSplits: (s) => void splits.push(...s.map((x) => ({ ...x }))),
      pollNext: (emit, budget) => {
        let emitted = 0;
        while (emitted < budget && splits.length > 0) {
          const s = splits[0]!;
          if (!open && s.next >= this.holdAt) {
            if (!existsSync(this.gate!)) return 20; // held: look again in 20 ms
            open = true;
          }
          const limit = open ? s.end + 1 : Math.min(s.end + 1, this.holdAt);
          const n = Math.min(budget - emitted, limit - s.next);
          for (let i = 0; i < n; i++) emit(this.produce(s.next + i));
          s.next += n;
          emitted += n;
          if (s.next > s.end) splits.shift();
        }
        return splits.length === 0 ? 'end' : 0;
      },
      snapshotState: () => splits.map((s) => ({ ...s })),
    };
  }
}
