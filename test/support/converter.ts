/**
 * The savepoint converter's jars (jvm/flink-savepoint-converter: Flink's State Processor API and Flink's runtime
 * to run it locally), fetched from Maven Central through jvm/pom.xml into jvm/.cache/flink-savepoint-converter
 * once and reused; rebuilt when its sources or pom are newer than its jar.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { JVM_CACHE, JVM_DIR, javaMissing, serviceSkipReason } from './services.js';

const DIR = join(JVM_CACHE, 'flink-savepoint-converter');
const JAR = join(DIR, 'flink-savepoint-converter.jar');
const MODULE = join(JVM_DIR, 'flink-savepoint-converter');

function newestSource(dir: string): number {
  let t = 0;
  for (const f of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (f.isFile()) t = Math.max(t, statSync(join(f.parentPath, f.name)).mtimeMs);
  }
  return t;
}

function fresh(): boolean {
  return existsSync(JAR) && existsSync(join(DIR, 'lib')) && statSync(JAR).mtimeMs >= newestSource(MODULE);
}

/** Builds the converter with Maven unless it is in the cache folder already. */
export function ensureConverterJars(log: (line: string) => void = () => {}): void {
  if (fresh()) return;
  log(`Fetching Flink's State Processor API from Maven Central into ${DIR} (once) ...`);
  const r = spawnSync(process.env.MVN ?? 'mvn', ['-B', '-q', '-f', join(JVM_DIR, 'pom.xml'), '-pl', 'flink-savepoint-converter', `-Djvm.cache=${JVM_CACHE}`, 'package'], { encoding: 'utf8' });
  if (r.error) throw new Error(`Cannot build the savepoint converter: mvn is not available (${r.error.message})`);
  if (r.status === 0 && existsSync(JAR)) utimesSync(JAR, new Date(), new Date());
  if (r.status !== 0 || !fresh()) {
    throw new Error(`Cannot build the savepoint converter (mvn exited ${r.status}):\n${`${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-15).join('\n')}`);
  }
}

/** Why the converter cannot run here (no Java), for `describe(..., { skip })`; throws in CI. */
export function converterSkip(): string | undefined {
  return serviceSkipReason('Flink savepoint converter', javaMissing());
}
