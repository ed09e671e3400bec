#!/usr/bin/env node
// The `flink` entry: oclif loads the compiled commands (dist/commands/index.js, see package.json "oclif").
// Errors raised inside a command are reported by the command itself; this catches the rest (unknown command,
// broken install) so that they too are one line and a stable exit code.

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';

let code;
// --flink-exit-codes / FLINK_TS_FLINK_EXIT_CODES=1: exit 1 on every failure, as Flink's CLI (not Ctrl-C's 130).
const flinkExitCodes = process.argv.includes('--flink-exit-codes') || ['1', 'true'].includes(process.env.FLINK_TS_FLINK_EXIT_CODES ?? '');
try {
  const { flush, run } = await import('@oclif/core');
  // Flink's spellings (-type, -detached, -sae, -h, -t ...) as oclif reads them (commands/flinkArgv.ts).
  const { toOclifArgv, flagsOfCommand } = await import('../dist/commands/flinkArgv.js');
  const { COMMANDS } = await import('../dist/commands/index.js');
  const { argv } = toOclifArgv(process.argv.slice(2), (verb) => flagsOfCommand(COMMANDS[verb]));
  await run(argv, loadOptions());
  await flush();
  code = process.exitCode ?? 0;
} catch (err) {
  let report;
  try {
    ({ reportFatal: report } = await import('../dist/commands/errors.js'));
  } catch {
    report = (e) => {
      process.stderr.write(`flink: ${e instanceof Error ? e.message : String(e)}\n`);
      return 70;
    };
  }
  code = report(err);
}
if (flinkExitCodes && code !== 0 && code !== 130) code = 1;
// Exit explicitly: an idle keep-alive socket must not hold the CLI open.
process.exit(code);

/**
 * Help and usage lines name the command as it was called: `flink`, or `flink-ts` (package.json "bin"), the name
 * to use where Apache Flink's `flink` is also on the PATH.
 */
function loadOptions() {
  if (basename(process.argv[1] ?? '') !== 'flink-ts') return import.meta.url;
  const root = fileURLToPath(new URL('..', import.meta.url));
  const pjson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  return { root, pjson: { ...pjson, oclif: { ...pjson.oclif, bin: 'flink-ts' } } };
}
