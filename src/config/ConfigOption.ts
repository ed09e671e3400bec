import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { FlinkError } from '../core/FlinkError.js';
import { DURATION_EXPECTED, tryParseDuration } from './Duration.js';

export type OptionType = 'string' | 'int' | 'double' | 'boolean' | 'duration' | 'enum' | 'path';

/** Describes one configuration key, like Flink's ConfigOption. Values are stored as strings and parsed on read. */
export interface ConfigOption<T> {
  readonly key: string;
  readonly type: OptionType;
  readonly defaultValue?: T;
  /** Older names, still read but reported with a warning. */
  readonly deprecatedKeys: readonly string[];
  /** Equivalent names read silently (Flink's fallback keys, e.g. a key renamed in a newer Flink). */
  readonly fallbackKeys: readonly string[];
  /** Canonical values of an enum option. */
  readonly enumValues?: readonly string[];
  readonly description: string;
  /** Converts a raw value; throws a config FlinkError whose message says what was expected. */
  readonly parse: (raw: string) => T;
}

export type OptionWithDefault<T> = ConfigOption<T> & { readonly defaultValue: T };

export interface OptionSpec<T> {
  readonly description: string;
  readonly default?: T;
  readonly deprecatedKeys?: readonly string[];
  readonly fallbackKeys?: readonly string[];
}

// Lets `get` return T rather than T | undefined for options declared with a default.
type Built<T, S> = S extends { readonly default: T } ? OptionWithDefault<T> : ConfigOption<T>;

function expected(what: string): FlinkError {
  return new FlinkError('config', `expected ${what}`);
}

/** Every key the option may be set under, in precedence order. */
export function keysOf(opt: ConfigOption<unknown>): string[] {
  return [opt.key, ...opt.fallbackKeys, ...opt.deprecatedKeys];
}

/** Parses `raw` read from `key`, turning a parser's complaint into an error naming the key. */
export function parseOptionValue<T>(opt: ConfigOption<T>, key: string, raw: string): T {
  try {
    return opt.parse(raw);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new FlinkError('config', `Invalid value '${raw}' for configuration key '${key}': ${reason}`, { cause: e });
  }
}

export function option<T, S extends OptionSpec<T>>(
  type: OptionType, parse: (raw: string) => T, key: string, spec: S, enumValues?: readonly string[],
): Built<T, S> {
  const opt: ConfigOption<T> = {
    key, type, parse, enumValues,
    defaultValue: spec.default,
    description: spec.description,
    deprecatedKeys: spec.deprecatedKeys ?? [],
    fallbackKeys: spec.fallbackKeys ?? [],
  };
  return opt as Built<T, S>;
}

export function stringOption<S extends OptionSpec<string>>(key: string, spec: S): Built<string, S> {
  return option('string', (raw) => raw, key, spec);
}

export function intOption<S extends OptionSpec<number> & { readonly min?: number; readonly max?: number }>(
  key: string, spec: S,
): Built<number, S> {
  // Flink options of type int are Java ints.
  const min = spec.min ?? -(2 ** 31);
  const max = spec.max ?? 2 ** 31 - 1;
  const what = spec.min === undefined ? 'an integer'
    : spec.max === undefined ? `an integer >= ${min}` : `an integer between ${min} and ${max}`;
  return option('int', (raw) => {
    const n = /^\s*[+-]?\d+\s*$/.test(raw) ? Number(raw) : NaN;
    if (!(n >= min && n <= max)) throw expected(what);
    return n;
  }, key, spec);
}

/** A Java double such as Flink's backoff multiplier; `min` is inclusive. */
export function doubleOption<S extends OptionSpec<number> & { readonly min?: number; readonly max?: number }>(
  key: string, spec: S,
): Built<number, S> {
  const min = spec.min ?? -Number.MAX_VALUE;
  const max = spec.max ?? Number.MAX_VALUE;
  const what = spec.max === undefined ? `a number >= ${min}` : `a number between ${min} and ${max}`;
  return option('double', (raw) => {
    const n = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(raw) ? Number(raw) : NaN;
    if (!(n >= min && n <= max)) throw expected(what);
    return n;
  }, key, spec);
}

export function booleanOption<S extends OptionSpec<boolean>>(key: string, spec: S): Built<boolean, S> {
  return option('boolean', (raw) => {
    const v = raw.trim().toLowerCase();
    if (v !== 'true' && v !== 'false') throw expected("'true' or 'false'");
    return v === 'true';
  }, key, spec);
}

/** Duration in milliseconds. */
export function durationOption<S extends OptionSpec<number>>(key: string, spec: S): Built<number, S> {
  return option('duration', (raw) => {
    const ms = tryParseDuration(raw);
    if (ms === undefined) throw expected(DURATION_EXPECTED);
    return ms;
  }, key, spec);
}

/** Case-insensitive like Flink's enum options; `aliases` map extra spellings to canonical values. */
export function enumOption<const V extends string, S extends OptionSpec<V> & { readonly aliases?: Record<string, V> }>(
  key: string, values: readonly V[], spec: S,
): Built<V, S> {
  const lookup = new Map<string, V>(values.map((v) => [v.toLowerCase(), v]));
  for (const [alias, v] of Object.entries(spec.aliases ?? {})) lookup.set(alias.toLowerCase(), v);
  return option('enum', (raw) => {
    const v = lookup.get(raw.trim().toLowerCase());
    if (v === undefined) throw expected(`one of ${values.join(', ')}`);
    return v;
  }, key, spec, values);
}

/** Absolute local path; see parseLocalPath. */
export function pathOption<S extends OptionSpec<string>>(key: string, spec: S): Built<string, S> {
  return option('path', parseLocalPath, key, spec);
}

/**
 * Accepts plain paths and Flink's `file:///x`, `file:/x`, `file://localhost/x`; relative paths resolve against
 * the working directory. Other file systems (hdfs://, s3://) are rejected: only local storage is implemented.
 */
export function parseLocalPath(raw: string): string {
  let p = raw.trim();
  // Two or more letters, so a Windows drive letter is not mistaken for a scheme.
  const scheme = /^([a-z][a-z0-9+.-]+):/i.exec(p)?.[1];
  if (scheme !== undefined) {
    if (scheme.toLowerCase() !== 'file') {
      throw expected(`a local file path; the '${scheme}' file system is not supported`);
    }
    p = p.slice(scheme.length + 1);
    if (p.startsWith('//')) {
      const slash = p.indexOf('/', 2);
      const host = p.slice(2, slash < 0 ? undefined : slash);
      if (host !== '' && host !== 'localhost') throw expected(`a local file path, not one on host '${host}'`);
      p = slash < 0 ? '/' : p.slice(slash);
    }
  }
  if (p === '') throw expected('a local file path');
  if (p === '~' || p.startsWith('~/')) p = homedir() + p.slice(1);
  return resolve(p);
}
