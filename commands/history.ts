import type { HistoryRow } from '../src/catalog/SnapshotHistory.js';
import { formatBytes, formatTimestamp, table } from './format.js';

// The table `flink checkpoints` and `flink savepoints` print: one row per snapshot, newest first.

const HEADER = ['ID', 'KIND', 'STATUS', 'TRIGGERED', 'DURATION', 'SIZE', 'FORMAT', 'PATH', 'RESTORED FROM'];

export function historyTable(rows: HistoryRow[], withJob: boolean): string[] {
  const header = withJob ? ['JOB', ...HEADER] : HEADER;
  const body = rows.map((r) => {
    const cells = [
      String(r.id), r.kind, r.status, formatTimestamp(r.triggerTime),
      r.durationMs === null ? '-' : `${r.durationMs} ms`, r.sizeBytes === null ? '-' : formatBytes(r.sizeBytes),
      r.format ?? '-', r.path, r.restoredFrom ?? '-',
    ];
    return withJob ? [`${r.jobName} (${r.jobId})`, ...cells] : cells;
  });
  const numeric = withJob ? [1, 5, 6] : [0, 4, 5];
  return table([header, ...body], numeric);
}
