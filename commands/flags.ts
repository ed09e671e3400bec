import { Flags } from '@oclif/core';

// Flags shared by several verbs, with Flink's names, and the argv rewriting Flink's optional values need.

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
    summary: 'Address of the JobManager to which to connect (host:port), e.g. an Apache Flink cluster. Without it: rest.address/rest.port when configured, else jobs are found through the index.',
    helpValue: 'host:port',
  }),
};

/** Flink's savepoint format flag (`-type` there, read as --type; `-t` is Flink's --target, see flinkArgv.ts). */
export const formatTypeFlag = {
  type: Flags.string({
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
