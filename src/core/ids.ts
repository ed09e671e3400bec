import { createHash, randomBytes } from 'node:crypto';

/** A JobID like Flink's: 16 random bytes as 32 lower-case hex characters. */
export function newJobId(): string {
  return randomBytes(16).toString('hex');
}

export function isJobId(s: string): boolean {
  return /^[0-9a-f]{32}$/.test(s);
}

/** 32 hex characters derived from a string: operator ids from uids, like Flink's hash of the uid. */
export function hash128(s: string): string {
  return createHash('md5').update(s).digest('hex');
}

export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

/** A subtask's key among the job's executions: `vertexIndex/subtask` (Flink's ExecutionVertexID, as a string). */
export function taskKey(vertexIndex: number, subtask: number): string {
  return `${vertexIndex}/${subtask}`;
}
