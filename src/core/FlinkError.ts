/**
 * Every error the engine raises on purpose carries a kind, so the CLI can map it to a stable exit code
 * and print one line without a stack trace. Anything else reaching the CLI is a bug ("internal").
 */
export type ErrorKind =
  | 'invalid-argument' // bad flags, bad job arguments
  | 'config' // an invalid configuration value
  | 'not-found' // unknown job id, missing file, path that is not a savepoint
  | 'restore' // state that cannot be restored (unmapped operators, corrupt snapshot)
  | 'io' // the filesystem refused (unwritable directory, disk full)
  | 'job-failed' // the job ended FAILED
  | 'unreachable' // no cluster answers at the recorded endpoint
  | 'conflict' // the job is not in a state that allows the request
  | 'internal';

export class FlinkError extends Error {
  constructor(readonly kind: ErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FlinkError';
  }
}

export function isFlinkError(e: unknown): e is FlinkError {
  return e instanceof Error && (e as FlinkError).name === 'FlinkError' && typeof (e as FlinkError).kind === 'string';
}

/** One line describing an error and its causes, for logs and one-line CLI errors. */
export function describeError(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  return String(e);
}
