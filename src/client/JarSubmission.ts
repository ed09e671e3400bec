import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { parseDynamicProperty } from '../config/Configuration.js';
import { describeError, FlinkError } from '../core/FlinkError.js';
import { failureMessage } from '../rest/decode.js';
import type { RestClient } from '../rest/RestClient.js';

/**
 * `flink run -m host:port job.jar`: a Java job JAR submitted to an Apache Flink session cluster through
 * flink-runtime-web's REST API, as the web UI does (Flink's own CLI builds the JobGraph locally instead, which
 * needs a JVM): POST /jars/upload, POST /jars/:jarid/run (the cluster runs the JAR's main() and submits the
 * job), then DELETE /jars/:jarid (the job no longer needs the upload). Attached, the client then waits for
 * GET /jobs/:jobid/execution-result.
 */

export interface JarRunRequest {
  jarFile: string;
  /** -c: the entry class; else the JAR manifest's Main-Class (the cluster reads it). */
  entryClass?: string;
  programArgs: readonly string[];
  parallelism?: number;
  /** -s: passed to the cluster as given; it resolves the path. */
  savepointPath?: string;
  allowNonRestoredState?: boolean;
  claimMode?: 'CLAIM' | 'NO_CLAIM';
  /** -D key=value entries: the job's configuration (JarRunRequestBody.flinkConfiguration). */
  dynamicProperties?: readonly string[];
}

export interface JobExecutionResult {
  jobId: string;
  /** Flink's ApplicationStatus: SUCCEEDED, FAILED, CANCELED, UNKNOWN. */
  applicationStatus: string;
  netRuntime: number;
  failureCause?: string;
}

const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04]);

/** Refuses, before any upload, what cannot be a JAR: a missing file, a folder, a file that is not a zip archive. */
export function checkJarFile(path: string): void {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new FlinkError('not-found', `JAR file does not exist: ${path}`);
  }
  if (!st.isFile()) throw new FlinkError('invalid-argument', `JAR file is not a file: ${path}`);
  const head = Buffer.alloc(4);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  // Flink's CLI words, and why.
  if (!head.equals(ZIP_MAGIC)) throw new FlinkError('invalid-argument', `Error while opening jar file '${path}': not a JAR (zip) archive`);
}

/** Uploads and runs a JAR; resolves with the job id once the cluster has submitted the job. */
export async function submitJar(rest: RestClient, req: JarRunRequest): Promise<{ jobId: string; jarId: string }> {
  checkJarFile(req.jarFile);
  const form = new FormData();
  form.append('jarfile', new Blob([readFileSync(req.jarFile)], { type: 'application/x-java-archive' }), basename(resolve(req.jarFile)));
  const uploaded = (await rest.request('POST', '/jars/upload', form)) as { filename?: unknown; status?: unknown };
  if (typeof uploaded?.filename !== 'string' || uploaded.status !== 'success') {
    throw new FlinkError('unreachable', `The cluster at ${rest.baseUrl} did not accept the JAR upload like Flink's /jars/upload`);
  }
  const jarId = basename(uploaded.filename);
  try {
    return { jobId: await runUploadedJar(rest, jarId, basename(req.jarFile), req), jarId };
  } finally {
    await rest.request('DELETE', `/jars/${encodeURIComponent(jarId)}`).catch(() => { /* the upload folder is the cluster's to clean */ });
  }
}

/** A refused restore is a restore error (exit 7), not a failed job. */
/** The run options of /jars/:jarid/run that `run -m` passes for a JAR and for the runner alike. */
export type JarRunOptions = Omit<JarRunRequest, 'jarFile'>;

/**
 * POST /jars/:jarid/run (JarRunRequestBody) for an uploaded JAR; resolves with the job id once the cluster has
 * submitted the job. `what` names the job in the error line (the JAR, or the job file the runner runs).
 */
export async function runUploadedJar(rest: RestClient, jarId: string, what: string, req: JarRunOptions): Promise<string> {
  const body: Record<string, unknown> = { programArgsList: [...req.programArgs] };
  if (req.entryClass !== undefined) body.entryClass = req.entryClass;
  if (req.parallelism !== undefined) body.parallelism = req.parallelism;
  if (req.savepointPath !== undefined) body.savepointPath = req.savepointPath;
  if (req.allowNonRestoredState) body.allowNonRestoredState = true;
  if (req.claimMode !== undefined) body.claimMode = req.claimMode;
  if (req.dynamicProperties && req.dynamicProperties.length > 0) body.flinkConfiguration = Object.fromEntries(req.dynamicProperties.map(parseDynamicProperty));
  let ran: { jobid?: unknown };
  try {
    ran = (await rest.request('POST', `/jars/${encodeURIComponent(jarId)}/run`, body)) as { jobid?: unknown };
  } catch (e) {
    // The cluster's words (e.g. the unmapped operator of a savepoint) are the message; say what failed.
    throw new FlinkError(runErrorKind(e), `Could not run ${what} on ${rest.baseUrl}: ${describeError(e)}`, { cause: e });
  }
  if (typeof ran?.jobid !== 'string') throw new FlinkError('unreachable', `The cluster at ${rest.baseUrl} answered /jars/run without a job id`);
  return ran.jobid;
}

function runErrorKind(e: unknown): FlinkError['kind'] {
  const msg = describeError(e);
  if (/savepoint|checkpoint/i.test(msg) && /(cannot map|allowNonRestoredState|restore)/i.test(msg)) return 'restore';
  const kind = (e as FlinkError).kind;
  return kind === 'internal' ? 'job-failed' : kind ?? 'job-failed';
}

/**
 * Polls /jobs/:jobid/execution-result until the job has ended (no deadline: an attached client waits for its job);
 * undefined once `signal` aborts (the user stopped waiting).
 */
export async function awaitExecutionResult(rest: RestClient, jobId: string, opts: { pollMs?: number; signal?: AbortSignal } = {}): Promise<JobExecutionResult | undefined> {
  for (;;) {
    const r = (await rest.request('GET', `/jobs/${encodeURIComponent(jobId)}/execution-result`)) as {
      status?: { id?: string }; 'job-execution-result'?: { 'application-status'?: string; 'net-runtime'?: number; 'failure-cause'?: unknown };
    };
    if (r?.status?.id === 'COMPLETED') {
      const res = r['job-execution-result'] ?? {};
      return {
        jobId, applicationStatus: res['application-status'] ?? 'UNKNOWN', netRuntime: res['net-runtime'] ?? -1,
        ...(res['failure-cause'] ? { failureCause: failureMessage(res['failure-cause']) } : {}),
      };
    }
    if (opts.signal?.aborted) return undefined;
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
  }
}
