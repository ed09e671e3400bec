import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { FlinkError } from '../core/FlinkError.js';
import { packageRoot } from '../core/paths.js';
import type { StreamGraph } from '../graph/StreamGraph.js';
import type { RestClient } from '../rest/RestClient.js';
import { runUploadedJar } from '../client/JarSubmission.js';
import { bundleJob } from './Bundle.js';
import { exportPlan, type FlinkPlan } from './FlinkPlan.js';
import { checkRunnable } from './Refusal.js';

/**
 * `flink run -m host:port job.ts`: the TypeScript job on an Apache Flink cluster through the generic runner JAR
 * (jvm/flink-runner). The program runs here up to execute() (as for `flink info`); the runner is refused what it
 * cannot run before anything is uploaded; the plan and the esbuild bundle go to the cluster as the runner's program
 * arguments (gzip + base64), and the cluster's /jars/:id/run builds and submits the Flink job.
 */
export const RUNNER_MAIN = 'dev.flinkts.runner.RunnerMain';
/** Configuration key (-D) naming a runner JAR to use instead of the one built from jvm/flink-runner. */
export const RUNNER_JAR_KEY = 'flink-ts.runner.jar';

/** Where the runner JAR is built (jvm/pom.xml's cache folder), unless flink-ts.runner.jar names one. */
export function defaultRunnerJar(): string {
  return join(packageRoot(), 'jvm', '.cache', 'flink-runner', 'flink-runner.jar');
}

/** The newest modification time under a folder (the runner's sources). */
function newestUnder(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestUnder(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** The runner JAR, built with Maven from jvm/flink-runner when it is missing or older than its sources. */
export function ensureRunnerJar(path = defaultRunnerJar(), log: (line: string) => void = () => {}): string {
  if (path !== defaultRunnerJar()) {
    if (!existsSync(path)) throw new FlinkError('not-found', `The flink-ts runner JAR does not exist: ${path}`);
    return path;
  }
  const jvm = join(packageRoot(), 'jvm');
  const module = join(jvm, 'flink-runner');
  if (existsSync(path) && (!existsSync(module) || Math.max(newestUnder(join(module, 'src')), statSync(join(module, 'pom.xml')).mtimeMs) <= statSync(path).mtimeMs)) return path;
  log('Building the flink-ts runner JAR (jvm/flink-runner, once) ...');
  const r = spawnSync(process.env.MVN ?? 'mvn', ['-B', '-q', '-f', join(jvm, 'pom.xml'), '-pl', 'flink-runner', `-Djvm.cache=${join(jvm, '.cache')}`, 'package'], { encoding: 'utf8' });
  if (r.status === 0 && existsSync(path)) utimesSync(path, new Date(), new Date()); // Maven may leave an up-to-date jar untouched
  if (r.error || r.status !== 0 || !existsSync(path)) {
    const why = r.error ? `mvn is not available (${r.error.message})` : `mvn exited ${r.status}: ${`${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-3).join(' ')}`;
    throw new FlinkError('not-found', `The flink-ts runner JAR is not built and cannot be built: ${why}`);
  }
  return path;
}

export interface TsRunRequest {
  jobFile: string;
  programArgs: readonly string[];
  graph: StreamGraph;
  runnerJar: string;
  parallelism?: number;
  savepointPath?: string;
  allowNonRestoredState?: boolean;
  claimMode?: 'CLAIM' | 'NO_CLAIM';
  dynamicProperties?: readonly string[];
}

/** The plan and bundle of a job, checked for what the runner supports (throws the refusal). */
export async function prepareTsJob(jobFile: string, graph: StreamGraph, programArgs: readonly string[]): Promise<{ plan: FlinkPlan; bundle: Buffer }> {
  checkRunnable(graph, jobFile);
  const plan = exportPlan(graph, programArgs);
  const bundle = await bundleJob(jobFile);
  return { plan, bundle };
}

/**
 * The cluster's copy of the runner JAR: one uploaded earlier under the same content-hashed name (GET /jars), else
 * a new upload. It stays on the cluster for the next job.
 */
export async function uploadRunnerJar(rest: RestClient, jarFile: string): Promise<string> {
  const bytes = readFileSync(jarFile);
  const name = `flink-ts-runner-${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}.jar`;
  const listed = (await rest.request('GET', '/jars')) as { files?: Array<{ id?: string; name?: string }> };
  const existing = listed?.files?.find((f) => f.name === name && typeof f.id === 'string');
  if (existing) return existing.id!;
  const form = new FormData();
  form.append('jarfile', new Blob([bytes], { type: 'application/x-java-archive' }), name);
  const uploaded = (await rest.request('POST', '/jars/upload', form)) as { filename?: unknown; status?: unknown };
  if (typeof uploaded?.filename !== 'string' || uploaded.status !== 'success') {
    throw new FlinkError('unreachable', `The cluster at ${rest.baseUrl} did not accept the runner JAR upload like Flink's /jars/upload`);
  }
  return uploaded.filename.split('/').pop()!;
}

/** Submits the job through the runner; resolves with its job id once the cluster has submitted it. */
export async function submitTsJob(rest: RestClient, req: TsRunRequest): Promise<{ jobId: string; plan: FlinkPlan }> {
  const { plan, bundle } = await prepareTsJob(req.jobFile, req.graph, req.programArgs);
  const jarId = await uploadRunnerJar(rest, req.runnerJar);
  const programArgs = ['--plan', gzipSync(JSON.stringify(plan)).toString('base64'), '--bundle', gzipSync(bundle).toString('base64')];
  const jobId = await runUploadedJar(rest, jarId, req.jobFile, { ...req, entryClass: RUNNER_MAIN, programArgs });
  return { jobId, plan };
}
