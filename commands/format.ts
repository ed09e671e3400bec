import type { ClusterClient } from '../src/client/ClusterClient.js';
/** Flink's list timestamp format, dd.MM.yyyy HH:mm:ss in local time. */
export function formatTimestamp(ms: number): string {
  if (!(ms > 0)) return '--.--.---- --:--:--';
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getDate())}.${p(d.getMonth() + 1)}.${d.getFullYear()} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Spinner detail while a savepoint is taken: "3/4 subtasks acknowledged". */
export function savepointAcks(client: Pick<ClusterClient, 'savepointProgress'>, jobId: string): () => Promise<string | undefined> {
  return async () => {
    const p = await client.savepointProgress(jobId);
    return p ? `${p.acknowledged}/${p.total} subtasks acknowledged` : undefined;
  };
}
