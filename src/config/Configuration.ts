import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isMap, isScalar, isSeq, parseDocument, type YAMLMap } from 'yaml';
import { FlinkError } from '../core/FlinkError.js';
import { defaultConfDir, userDataDir } from '../core/paths.js';
import { keysOf, parseOptionValue, type ConfigOption, type OptionWithDefault } from './ConfigOption.js';
import { ALL_OPTIONS, IGNORED_FLINK_KEYS, restartStrategyFor } from './ConfigOptions.js';

const OPTION_BY_KEY = new Map<string, ConfigOption<unknown>>(
  ALL_OPTIONS.flatMap((opt) => keysOf(opt).map((k): [string, ConfigOption<unknown>] => [k, opt])),
);
const IGNORED = new Set(IGNORED_FLINK_KEYS);

export interface LoadOptions {
  confDir?: string;
  /** `-D key=value` pairs; they override the file. */
  dynamicProperties?: Record<string, string>;
  env?: NodeJS.ProcessEnv;
}

export interface LoadResult {
  config: Configuration;
  warnings: string[];
  /** The file that was read, if any. */
  confFile?: string;
}

/** String values by key, parsed on read through ConfigOption descriptors, like Flink's Configuration. */
export class Configuration {
  private readonly values = new Map<string, string>();

  constructor(entries?: Iterable<readonly [string, string]>) {
    for (const [k, v] of entries ?? []) this.values.set(k, String(v));
  }

  /**
   * Reads flink-conf.yaml (flat, Flink 1.x) or else config.yaml (nested, Flink 1.19+/2.x) from the conf dir:
   * `confDir`, else $FLINK_CONF_DIR, else the embedded `conf/`. A conf dir without either file is empty.
   * The embedded one also gets the user's data directory for the locations it leaves unset (embeddedLocations).
   */
  static load(opts: LoadOptions = {}): LoadResult {
    const env = opts.env ?? process.env;
    const named = opts.confDir ?? (env.FLINK_CONF_DIR || undefined);
    if (named !== undefined && !isDirectory(named)) {
      const what = opts.confDir !== undefined ? 'Configuration directory' : 'FLINK_CONF_DIR';
      throw new FlinkError('config', `${what} '${named}' does not exist or is not a directory`);
    }
    const confDir = resolve(named ?? defaultConfDir());
    const warnings: string[] = [];
    const legacy = join(confDir, 'flink-conf.yaml');
    const modern = join(confDir, 'config.yaml');
    let confFile: string | undefined;
    if (existsSync(legacy)) {
      confFile = legacy;
      if (existsSync(modern)) warnings.push(`Both ${legacy} and ${modern} exist; using flink-conf.yaml`);
    } else if (existsSync(modern)) {
      confFile = modern;
    }

    const config = new Configuration(confFile ? readYamlConfig(confFile) : []);
    if (named === undefined) {
      for (const [k, v] of Object.entries(embeddedLocations(env))) if (!config.contains(OPTION_BY_KEY.get(k)!)) config.set(k, v);
    }
    for (const [k, v] of Object.entries(opts.dynamicProperties ?? {})) config.set(k, v);

    for (const key of config.values.keys()) {
      const opt = OPTION_BY_KEY.get(key);
      if (opt?.deprecatedKeys.includes(key)) {
        warnings.push(`Configuration key '${key}' is deprecated; use '${opt.key}' instead`);
      } else if (!opt && !IGNORED.has(key)) {
        warnings.push(`Unknown configuration key '${key}' (ignored)`);
      }
    }
    return { config, warnings, confFile };
  }

  static fromMap(map: Record<string, string>): Configuration {
    return new Configuration(Object.entries(map));
  }

  /** The value, or the option's default when it is not set. Throws a config error naming the key if invalid. */
  get<T>(opt: OptionWithDefault<T>): T;
  get<T>(opt: ConfigOption<T>): T | undefined;
  get<T>(opt: ConfigOption<T>): T | undefined {
    return this.contains(opt) ? this.getOptional(opt) : opt.defaultValue;
  }

  /** The value only if set (the default is not consulted), like Flink's getOptional. */
  getOptional<T>(opt: ConfigOption<T>): T | undefined {
    for (const key of keysOf(opt)) {
      const raw = this.values.get(key);
      if (raw !== undefined) return parseOptionValue(opt, key, raw);
    }
    return undefined;
  }

  contains(optOrKey: ConfigOption<unknown> | string): boolean {
    if (typeof optOrKey === 'string') return this.values.has(optOrKey);
    return keysOf(optOrKey).some((k) => this.values.has(k));
  }

  /** Sets a key; other names of the same option are dropped so the latest setting wins (as -D over the file). */
  set(key: string, value: string): this {
    const opt = OPTION_BY_KEY.get(key);
    if (opt) for (const k of keysOf(opt)) this.values.delete(k);
    this.values.set(key, value);
    return this;
  }

  /** Plain key/value copy, for handing the configuration to a worker thread or another process (fromMap). */
  toMap(): Record<string, string> {
    return Object.fromEntries(this.values);
  }

  /** Parses every supported option that is set and throws the first invalid one, so jobs fail before starting. */
  validate(): void {
    for (const opt of ALL_OPTIONS) this.getOptional(opt);
    restartStrategyFor(this, true);
  }
}

/** Splits a `-D key=value` argument. */
export function parseDynamicProperty(s: string): [string, string] {
  const eq = s.indexOf('=');
  const key = eq < 0 ? '' : s.slice(0, eq).trim();
  if (key === '') throw new FlinkError('invalid-argument', `Invalid dynamic property '${s}': expected key=value`);
  return [key, s.slice(eq + 1)];
}

/**
 * Where the embedded configuration keeps snapshots and logs: per user, outside the package (an install under
 * node_modules may be read-only and is replaced on upgrade) and outside the working directory (cron runs from
 * anywhere). A conf dir of the user's own keeps Flink's meaning of an unset key.
 */
export function embeddedLocations(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const home = userDataDir(env);
  return {
    'state.checkpoints.dir': join(home, 'checkpoints'),
    'state.savepoints.dir': join(home, 'savepoints'),
    'env.log.dir': join(home, 'log'),
    'index.path': join(home, 'flink-index.sqlite'),
  };
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Flattens nested maps into dotted keys and lists into `;`-joined strings, as Flink does for config.yaml. */
function readYamlConfig(file: string): Map<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new FlinkError('config', `Cannot read configuration file ${file}: ${(e as Error).message}`, { cause: e });
  }
  // The failsafe schema keeps scalars as written ('010' stays '010', 'true' stays 'true').
  const doc = parseDocument(text, { schema: 'failsafe', uniqueKeys: false });
  const err = doc.errors[0];
  if (err) {
    const line = err.linePos?.[0].line;
    const reason = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new FlinkError('config', `Malformed YAML in ${file}${line ? ` at line ${line}` : ''}: ${reason}`);
  }
  const out = new Map<string, string>();
  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === '')) return out;
  if (!isMap(root)) throw new FlinkError('config', `Malformed configuration file ${file}: expected 'key: value' entries`);
  flatten(root, '', out);
  return out;
}

function flatten(map: YAMLMap, prefix: string, out: Map<string, string>): void {
  for (const { key, value } of map.items) {
    const name = prefix + String(isScalar(key) ? key.value : key);
    if (isMap(value)) flatten(value, `${name}.`, out);
    else if (isSeq(value)) out.set(name, value.items.map((i) => String(isScalar(i) ? i.value : i)).join(';'));
    // A plain empty value (`key:`) means unset.
    else if (isScalar(value) && !(value.value === '' && value.type === 'PLAIN')) out.set(name, String(value.value));
  }
}
