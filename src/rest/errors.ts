import type { ErrorKind } from '../core/FlinkError.js';

/** Error kinds <-> HTTP statuses, both ways: the server answers with both, the client reads the kind back. */

/** Header carrying our error kind next to Flink's `{errors}` body, so clients keep exit codes precise. */
export const ERROR_KIND_HEADER = 'x-flink-ts-error-kind';

export function httpStatusFor(kind: ErrorKind): number {
  switch (kind) {
    case 'not-found': return 404;
    case 'conflict': return 409;
    case 'invalid-argument':
    case 'config': return 400;
    default: return 500;
  }
}

const ERROR_KINDS: readonly ErrorKind[] = [
  'invalid-argument', 'config', 'not-found', 'restore', 'io', 'job-failed', 'unreachable', 'conflict', 'internal',
];

/** An error kind sent by our server (header or failure-cause field), if it is one. */
export function asErrorKind(v: unknown): ErrorKind | undefined {
  return typeof v === 'string' && (ERROR_KINDS as readonly string[]).includes(v) ? v as ErrorKind : undefined;
}

export function errorKindFor(httpStatus: number, header?: string | null): ErrorKind {
  if (header && (ERROR_KINDS as readonly string[]).includes(header)) return header as ErrorKind;
  if (httpStatus === 404) return 'not-found';
  if (httpStatus === 409) return 'conflict';
  if (httpStatus === 400 || httpStatus === 405 || httpStatus === 413) return 'invalid-argument';
  return 'internal';
}
