/** Flink's JobStatus values, with the same names and terminal semantics. */
export const JOB_STATUSES = [
  'INITIALIZING', 'CREATED', 'RUNNING', 'FAILING', 'FAILED', 'CANCELLING', 'CANCELED', 'FINISHED',
  'RESTARTING', 'SUSPENDED', 'RECONCILING',
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export function isGloballyTerminal(s: JobStatus): boolean {
  return s === 'FINISHED' || s === 'CANCELED' || s === 'FAILED';
}
