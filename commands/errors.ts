import { Errors } from '@oclif/core';
import { isFlinkError, type ErrorKind } from '../src/core/FlinkError.js';

// How a failure reaches the terminal: one line, a stable exit code per error kind, the stack only with --verbose.

/** Stable exit codes of every `flink` verb; scripts may rely on them. */
export const ExitCode = {
  OK: 0,
  /** The job failed, or the requested operation (savepoint, disposal) failed. */
  FAILED: 1,
  /** Bad usage: unknown flag, missing argument, invalid argument or configuration. */
  USAGE: 2,
  /** No such job, savepoint or file. */
  NOT_FOUND: 3,
  /** No cluster answers for the job. */
  UNREACHABLE: 4,
  /** The job is not in a state that allows the request. */
  CONFLICT: 5,
  /** The filesystem refused. */
  IO: 6,
  /** State that cannot be restored. */
  RESTORE: 7,
  /** A bug. */
  INTERNAL: 70,
} as const;

export const EXIT_CODE_BY_KIND: Record<ErrorKind, number> = {
  'job-failed': ExitCode.FAILED,
  'invalid-argument': ExitCode.USAGE,
  config: ExitCode.USAGE,
  'not-found': ExitCode.NOT_FOUND,
  unreachable: ExitCode.UNREACHABLE,
  conflict: ExitCode.CONFLICT,
  io: ExitCode.IO,
  restore: ExitCode.RESTORE,
  internal: ExitCode.INTERNAL,
};

/** The error kind the CLI reports: ours as raised, oclif's parse and lookup errors as usage errors. */
export function errorKindOf(err: unknown): ErrorKind {
  if (isFlinkError(err)) return err.kind;
  if (err instanceof Errors.CLIError) return 'invalid-argument';
  return 'internal';
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof Errors.ExitError) return err.oclif.exit ?? ExitCode.FAILED;
  return EXIT_CODE_BY_KIND[errorKindOf(err)];
}

const ANSI = /\u001B\[[0-9;]*[A-Za-z]/g;

/** One line for the terminal: oclif's multi-line parse messages folded, its "see --help" hint shortened. */
export function oneLineMessage(err: unknown): string {
  let msg = err instanceof Error ? err.message || err.name : String(err);
  msg = msg.replace(ANSI, '');
  const lines = msg.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && l !== 'See more help with --help');
  msg = lines.join(' ').replace(/\s{2,}/g, ' ');
  if (!isFlinkError(err) && err instanceof Errors.CLIError) msg += ' (see --help)';
  if (!isFlinkError(err) && !(err instanceof Errors.CLIError)) msg = `internal error: ${msg}`;
  return msg;
}

export function stackOf(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    parts.push(depth === 0 ? String((e as Error).stack ?? e) : `Caused by: ${String((e as Error).stack ?? e)}`);
    e = (e as { cause?: unknown }).cause;
  }
  return parts.join('\n');
}

/**
 * Reports an error that escaped every command (oclif failing before a command runs, e.g. an unknown command):
 * one line on stderr, the stack only with --verbose. Returns the exit code.
 */
export function reportFatal(err: unknown, argv: string[] = process.argv.slice(2)): number {
  process.stderr.write(`flink: ${oneLineMessage(err)}\n`);
  if (argv.includes('--verbose')) process.stderr.write(`${stackOf(err)}\n`);
  if (argv.includes('--json')) process.stdout.write(`${JSON.stringify({ error: { kind: errorKindOf(err), message: oneLineMessage(err) } }, null, 2)}\n`);
  return exitCodeFor(err);
}
