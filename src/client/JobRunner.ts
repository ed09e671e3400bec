import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { loadSnapshot } from '../checkpoint/Metadata.js';
import type { Configuration } from '../config/Configuration.js';
import { CoreOptions } from '../config/ConfigOptions.js';
import { describeError, FlinkError } from '../core/FlinkError.js';
import { newJobId } from '../core/ids.js';
import { Logger } from '../core/Logger.js';
import { openIndex } from './openIndex.js';
import { configuredRetention, pruneSavepoints } from './SavepointRetention.js';
import { MiniCluster } from '../runtime/MiniCluster.js';
import type { JobResult } from '../runtime/JobMaster.js';
import { checkJobFile, runProgram } from '../runtime/ProgramLoader.js';

export interface RunRequest {
  jobFile: string;
  programArgs: string[];
  config: Configuration;
  jobId?: string;
  savepointPath?: string;
  allowNonRestoredState?: boolean;
  /** print() output. */
  stdout: (text: string) => void;
  /** Called once the job is deployed and reachable over REST. */
  onSubmitted?: (info: SubmittedJob) => void;
  /** What the submission is doing (restore phases), for a progress display. */
  onProgress?: (what: string) => void;
  /** Resolves when the job should be cancelled (Ctrl-C). */
  cancelSignal?: Promise<void>;
}

export interface SubmittedJob {
  jobId: string;
  restUrl: string;
  logFile: string;
}

/** Flink's log file naming: log/flink-<user>-<service>-<host>.log; one file per job here. */
export function logFileFor(config: Configuration, jobId: string): string {
  let user = 'user';
  try {
    user = userInfo().username;
  } catch {
    /* no passwd entry */
  }
  return join(config.get(CoreOptions.FLINK_LOG_DIR), `flink-${user}-job-${jobId}-${hostname()}.log`);
}

/**
 * What `flink run` checks before starting anything, attached or detached: the job file, and the snapshot
 * to restore from. Returns the job file's absolute path.
 */
export function checkRunRequest(jobFile: string, savepointPath: string | undefined): string {
  const abs = checkJobFile(jobFile);
  if (savepointPath) loadSnapshot(savepointPath); // fail on a bad path before starting anything
  return abs;
}

/**
 * Runs a job program on a fresh mini-cluster in this process: loads the program, which builds its
 * graph and calls execute(); the job is deployed, registered in the index and reachable over REST
 * until it ends. Resolves with the job's final state.
 */
export async function runJob(req: RunRequest): Promise<JobResult> {
  req.config.validate();
  checkRunRequest(req.jobFile, req.savepointPath);
  const jobId = req.jobId ?? newJobId();
  const logFile = logFileFor(req.config, jobId);
  const log = Logger.toFile(logFile);
  log.info(`Starting local cluster for job ${jobId} (pid ${process.pid}).`);
  const index = openIndex(req.config);
  const retention = configuredRetention(req.config);
  const cluster = new MiniCluster(req.config, index, log, {
    // Periodic savepoints are pruned like the rest (flink savepoints --prune's rules) as each one completes.
    afterPeriodicSavepoint: retention && (async (id) => {
      try {
        const r = await pruneSavepoints(index, retention, { ref: id });
        for (const d of r.disposed) log.info(`Disposed savepoint ${d.path} of job ${d.jobId} (${d.reason}).`);
        for (const f of r.failed) log.warn(`Could not dispose savepoint ${f.path} of job ${f.jobId}: ${f.error}`);
      } catch (e) {
        log.warn(`Savepoint retention after the periodic savepoint of job ${id} failed: ${describeError(e)}`);
      }
    }),
  });
  let result: JobResult | undefined;
  try {
    const restUrl = await cluster.startRestEndpoint();
    await runProgram(req.jobFile, req.programArgs, req.config.toMap(), 'submit', async (graph) => {
      if (result) throw new FlinkError('invalid-argument', 'The program called execute() more than once; one job per program is supported.');
      const jm = await cluster.submitJob(graph, {
        jobId, jobFile: req.jobFile, programArgs: req.programArgs, savepointPath: req.savepointPath,
        allowNonRestoredState: req.allowNonRestoredState, logFile, stdout: req.stdout, onProgress: req.onProgress,
      });
      req.onSubmitted?.({ jobId, restUrl, logFile });
      void req.cancelSignal?.then(() => jm.cancel());
      result = await jm.result;
      if (result.status === 'FAILED') {
        throw new FlinkError('job-failed', `Job ${jobId} failed: ${result.failure}. See the log at ${logFile}.`);
      }
      return { getJobID: () => jobId, getNetRuntime: () => result!.netRuntime };
    });
  } catch (e) {
    log.error(`Job ${jobId} ended with an error: ${(e as Error).message}`, e);
    throw e;
  } finally {
    await cluster.close();
    index.close();
  }
  return result!;
}
