import type { ClusterClient } from '../src/client/ClusterClient.js';
/** Flink's list timestamp format, dd.MM.yyyy HH:mm:ss in local time. */
export function formatTimestamp(ms: number): string {
  if (!(ms > 0)) return '--.--.---- --:--:--';
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getDate())}.${p(d.getMonth() + 1)}.${d.getFullYear()} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = -1;
  do {
    v /= 1024;
    u++;
  } while (v >= 1024 && u < units.length - 1);
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

/** Renders rows as left-aligned columns (numbers right-aligned). */
export function table(rows: string[][], rightAligned: number[] = []): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => (rightAligned.includes(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd());
}

/** Spinner detail while a savepoint is taken: "3/4 subtasks acknowledged". */
export function savepointAcks(client: Pick<ClusterClient, 'savepointProgress'>, jobId: string): () => Promise<string | undefined> {
  return async () => {
    const p = await client.savepointProgress(jobId);
    return p ? `${p.acknowledged}/${p.total} subtasks acknowledged` : undefined;
  };
}
