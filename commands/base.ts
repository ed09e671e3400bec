import { Command, Errors, Flags } from '@oclif/core';
import chalk, { chalkStderr } from 'chalk';
import ora, { type Ora } from 'ora';
import { ClusterClient } from '../src/client/ClusterClient.js';
import { Configuration, parseDynamicProperty } from '../src/config/Configuration.js';
import { FlinkError, isFlinkError, type ErrorKind } from '../src/core/FlinkError.js';
import type { CheckpointIndex } from '../src/catalog/CheckpointIndex.js';
import { openIndex } from '../src/client/openIndex.js';

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

function stackOf(err: unknown): string {
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

function envSet(name: string): boolean {
  const v = process.env[name];
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/**
 * Terminal output of a command. Results go to stdout, progress and warnings to stderr. Colours and spinners
 * only for a TTY, never with --json, CI or NO_COLOR: output that is piped or parsed stays plain.
 */
export class Ui {
  readonly colorOut: boolean;
  readonly colorErr: boolean;
  private readonly spinners: boolean;
  private spinner: Ora | undefined;

  constructor(readonly json: boolean) {
    const noColor = process.env.NO_COLOR !== undefined;
    const plain = json || noColor || envSet('CI');
    this.colorOut = !plain && process.stdout.isTTY === true;
    this.colorErr = !plain && process.stderr.isTTY === true;
    this.spinners = this.colorErr;
    if (!this.colorOut) chalk.level = 0;
    if (!this.colorErr) chalkStderr.level = 0;
  }

  get chalk() {
    return chalk;
  }

  /** A result line. */
  out(line = ''): void {
    if (!this.json) process.stdout.write(`${line}\n`);
  }

  /** A progress line (Flink prints these while it works). */
  progress(line: string): void {
    if (!this.json) process.stderr.write(`${line}\n`);
  }

  warn(line: string): void {
    process.stderr.write(`${chalkStderr.yellow(`flink: warning: ${line}`)}\n`);
  }

  /** Runs `fn` behind a spinner on a TTY, or after a plain progress line otherwise. */
  async spin<T>(text: string, fn: () => Promise<T>): Promise<T> {
    if (this.json) return fn();
    if (!this.spinners) {
      this.progress(text);
      return fn();
    }
    this.spinner = ora({ text, stream: process.stderr, discardStdin: false }).start();
    try {
      const result = await fn();
      this.spinner.stop();
      return result;
    } finally {
      this.spinner?.stop();
      this.spinner = undefined;
    }
  }

  stopSpinner(): void {
    this.spinner?.stop();
    this.spinner = undefined;
  }
}

/** `-D key=value` (repeatable), as for every Flink CLI action. */
export const propertyFlags = {
  property: Flags.string({
    char: 'D',
    summary: 'Configuration property key=value, overriding the configuration file.',
    multiple: true,
    multipleNonGreedy: true,
    helpValue: 'key=value',
  }),
};

/** `-D` plus Flink's `-m/--jobmanager host:port`. */
export const clusterFlags = {
  ...propertyFlags,
  jobmanager: Flags.string({
    char: 'm',
    summary: 'Address of the JobManager to which to connect (host:port). Without it, jobs are found through the index.',
    helpValue: 'host:port',
  }),
};

/** Flink's savepoint format flag (`-type` there). */
export const formatTypeFlag = {
  type: Flags.string({
    char: 't',
    summary: 'Binary format of the savepoint: canonical (default) or native.',
    helpValue: 'canonical|native',
  }),
};

/**
 * Flink's optional-value options (`cancel -s [dir]`, `stop -p [dir]`) are booleans here whose value, if any,
 * is a positional; rewrite the attached spellings (`-sDIR`, `-s=DIR`, `--withSavepoint=DIR`) to that form.
 */
export function splitOptionalValueFlag(argv: string[], char: string, long: string): string[] {
  const out: string[] = [];
  let flags = true;
  for (const a of argv) {
    if (flags && a === '--') flags = false;
    if (flags && a.startsWith(`--${long}=`)) out.push(`-${char}`, a.slice(long.length + 3));
    else if (flags && a.length > 2 && a.startsWith(`-${char}`)) out.push(`-${char}`, a.slice(a[2] === '=' ? 3 : 2));
    else out.push(a);
  }
  return out;
}

/**
 * Base of every `flink` verb: --json and --verbose, configuration and index loading, and one error path:
 * each failure is one `flink: <message>` line on stderr (plus `{"error": …}` on stdout with --json) and a
 * stable exit code; stack traces only with --verbose.
 */
export abstract class FlinkCommand extends Command {
  static override enableJsonFlag = true;

  static override baseFlags = {
    verbose: Flags.boolean({ summary: 'Print stack traces of errors.', default: false }),
  };

  private uiInstance: Ui | undefined;
  private readonly indexes: CheckpointIndex[] = [];

  protected get ui(): Ui {
    return (this.uiInstance ??= new Ui(this.jsonEnabled()));
  }

  /** flink.yaml from FLINK_CONF_DIR (or the embedded conf/) with -D overrides; warnings go to stderr. */
  protected loadConfig(dynamicProps: string[] | undefined): Configuration {
    const dynamicProperties: Record<string, string> = {};
    for (const p of dynamicProps ?? []) {
      const [k, v] = parseDynamicProperty(p);
      dynamicProperties[k] = v;
    }
    const { config, warnings } = Configuration.load({ dynamicProperties, env: process.env });
    for (const w of warnings) this.ui.warn(w);
    config.validate();
    return config;
  }

  /** Opens the job/snapshot index the configuration points at; closed when the command ends. */
  protected openIndex(config: Configuration): CheckpointIndex {
    const index = openIndex(config);
    this.indexes.push(index);
    return index;
  }

  /** The client for job-control verbs: through -m if given, else through the index. */
  protected clusterClient(config: Configuration, jobmanager: string | undefined): ClusterClient {
    return new ClusterClient({ config, jobmanager, index: jobmanager === undefined ? this.openIndex(config) : undefined });
  }

  override async catch(err: Error & { exitCode?: number }): Promise<void> {
    this.uiInstance?.stopSpinner();
    const code = exitCodeFor(err);
    process.exitCode = code;
    if (err instanceof Errors.ExitError) return;
    const message = oneLineMessage(err);
    process.stderr.write(`flink: ${message}\n`);
    if (this.argv.includes('--verbose')) process.stderr.write(`${stackOf(err)}\n`);
    if (this.jsonEnabled()) this.logJson({ error: { kind: errorKindOf(err), message } });
  }

  override async finally(err: Error | undefined): Promise<void> {
    for (const i of this.indexes.splice(0)) {
      try {
        i.close();
      } catch {
        /* closing is best effort */
      }
    }
    await super.finally(err);
  }

  /** Plain JSON: no colours, whatever oclif's theme says. */
  override logJson(json: unknown): void {
    process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  }
}

/** Flink's list timestamp format, dd.MM.yyyy HH:mm:ss in local time. */
export function formatTimestamp(ms: number): string {
  if (!(ms > 0)) return '--.--.---- --:--:--';
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getDate())}.${p(d.getMonth() + 1)}.${d.getFullYear()} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
