import { FlinkError } from '../src/core/FlinkError.js';

/**
 * Flink's command line as oclif reads it. Flink parses with commons-cli, where a single dash also introduces a
 * long option (`-type native`, `-detached`, `-drain`, `-full`, any unique prefix of a long name) and some short
 * names are several letters (`-sae`, `-rm`, `-cm`); oclif would read `-type` as `-t ype`. So before oclif sees
 * the arguments, such tokens become their `--long` spelling, and one that is neither a short option, nor a long
 * one, nor a prefix of one (`-yid`) is refused with commons-cli's message instead of being misread.
 *
 * Also Flink's: `-h` is help; `-t/--target` is the deployment target (`remote` or `local` here; a YARN or
 * Kubernetes target is refused). Ours: `--flink-exit-codes` (or FLINK_TS_FLINK_EXIT_CODES=1) makes every
 * failure exit 1, as Flink's CLI does, for scripts written for it.
 */

export interface FlagInfo {
  char?: string;
  /** Takes a value (oclif `option` flags), as opposed to a boolean. */
  takesValue: boolean;
}

/** Flink's multi-letter short names and the long names they stand for. */
const SHORT_ALIASES: Record<string, string> = { sae: 'shutdownOnAttachedExit', rm: 'restoreMode', cm: 'claimMode' };

/** Flink's deployment targets this CLI serves: a JobManager's REST endpoint, or this machine's jobs. */
const TARGETS = ['remote', 'local'];

export interface RewrittenArgv {
  argv: string[];
  flinkExitCodes: boolean;
}

/**
 * Rewrites Flink-style arguments of `verb` (flags: the verb's oclif flags by long name). For `run` only the
 * CLI's part is rewritten: everything from the job file on belongs to the program.
 */
export function toOclifArgv(args: string[], flagsOf: (verb: string) => Record<string, FlagInfo> | undefined, env: NodeJS.ProcessEnv = process.env): RewrittenArgv {
  const flinkExitCodes = args.includes('--flink-exit-codes') || env.FLINK_TS_FLINK_EXIT_CODES === '1' || env.FLINK_TS_FLINK_EXIT_CODES === 'true';
  const rest = args.filter((a) => a !== '--flink-exit-codes');
  const [verb, ...tail] = rest;
  const flags = verb === undefined ? undefined : flagsOf(verb);
  if (!flags) return { argv: rest.map((a) => (a === '-h' ? '--help' : a)), flinkExitCodes };

  const longNames = Object.keys(flags);
  const byChar = new Map(Object.entries(flags).filter(([, f]) => f.char).map(([name, f]) => [f.char!, name]));
  const out: string[] = [verb!];
  for (let i = 0; i < tail.length; i++) {
    const a = tail[i]!;
    if (a === '--') {
      out.push(...tail.slice(i));
      break;
    }
    if (a === '-h') {
      out.push('--help');
      continue;
    }
    if (a === '-t' || a === '--target' || a.startsWith('--target=')) {
      const value = a.startsWith('--target=') ? a.slice('--target='.length) : tail[++i];
      checkTarget(value);
      // `run --target remote job.ts`: a TypeScript job then goes to the cluster of rest.address/rest.port as with -m.
      if (verb === 'run' && value === 'remote' && flags.target) out.push('--target=remote');
      continue;
    }
    let token = a;
    if (/^-[^-\d]./.test(a)) token = singleDash(a, flags, longNames, byChar);
    out.push(token);
    if (!token.startsWith('-')) {
      // The first positional of `run` is the job file: the rest is the program's.
      if (verb === 'run') {
        out.push(...tail.slice(i + 1));
        break;
      }
      continue;
    }
    // An option's separate value is not an option (e.g. `-p 2`, `-s /path`, `--fromSavepoint /path`).
    let name: string | undefined;
    if (token.startsWith('--')) name = token.includes('=') ? undefined : token.slice(2);
    else if (token.length === 2) name = byChar.get(token[1]!);
    if (name !== undefined && flags[name]?.takesValue && i + 1 < tail.length) out.push(tail[++i]!);
  }
  return { argv: out, flinkExitCodes };
}

/** A `-xyz` token: a multi-letter short name, a long name, a short option with its value attached, or a long-name prefix. */
function singleDash(a: string, flags: Record<string, FlagInfo>, longNames: string[], byChar: Map<string, string>): string {
  const eq = a.indexOf('=');
  const name = a.slice(1, eq < 0 ? undefined : eq);
  const value = eq < 0 ? '' : a.slice(eq);
  const alias = SHORT_ALIASES[name];
  if (alias !== undefined && flags[alias]) return `--${alias}${value}`;
  if (flags[name]) return `--${name}${value}`;
  if (byChar.has(a[1]!)) return a; // -p2, -s/dir, -Dkey=value: a short option with its value, as commons-cli reads it
  const matches = longNames.filter((l) => l.startsWith(name));
  if (matches.length === 1) return `--${matches[0]}${value}`;
  if (matches.length > 1) {
    throw new FlinkError('invalid-argument', `Ambiguous option: '${a}' (could be: ${matches.map((m) => `--${m}`).join(', ')}). Use the help option (-h or --help) to get help on the command.`);
  }
  throw new FlinkError('invalid-argument', `Unrecognized option: ${a}. Use the help option (-h or --help) to get help on the command.`);
}

function checkTarget(value: string | undefined): void {
  if (value === undefined || value.startsWith('-')) {
    throw new FlinkError('invalid-argument', `Missing argument for option: t (the deployment target: ${TARGETS.join(' or ')})`);
  }
  if (!TARGETS.includes(value)) {
    throw new FlinkError('invalid-argument', `Unsupported deployment target '${value}' (-t/--target): flink-ts talks to a JobManager's REST endpoint (remote, with -m host:port or rest.address/rest.port) or to this machine's jobs (local); YARN and Kubernetes targets need Flink's own CLI`);
  }
}

/** The flags of an oclif command class by long name (its own, the base ones, and --json). */
export function flagsOfCommand(cmd: { flags?: Record<string, unknown>; baseFlags?: Record<string, unknown>; enableJsonFlag?: boolean } | undefined): Record<string, FlagInfo> | undefined {
  if (!cmd) return undefined;
  const out: Record<string, FlagInfo> = {};
  for (const [name, f] of Object.entries({ ...cmd.baseFlags, ...cmd.flags })) {
    const flag = f as { char?: string; type?: string };
    out[name] = { char: flag.char, takesValue: flag.type === 'option' };
  }
  if (cmd.enableJsonFlag) out.json = { takesValue: false };
  return out;
}
