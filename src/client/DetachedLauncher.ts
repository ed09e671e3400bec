import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Configuration } from '../config/Configuration.js';
import { FlinkError } from '../core/FlinkError.js';
import { newJobId } from '../core/ids.js';
import type { DetachedRequest, EntrypointMessage } from './ClusterEntrypoint.js';
import { checkRunRequest, logFileFor } from './JobRunner.js';

export interface DetachedJob {
  jobId: string;
  restUrl: string;
  logFile: string;
  /** Where the cluster process's own output (and the job's print()) goes. */
  outFile: string;
  pid: number | undefined;
}

/**
 * `flink run -d`: starts the cluster process (ClusterEntrypoint) in the background, with its output in the
 * job's .out file, hands it the request, and resolves once it reports the job as submitted over IPC. The
 * daemon outlives the CLI; nothing of the terminal is known here.
 */
export async function launchDetached(
  req: { jobFile: string; programArgs: string[]; config: Record<string, string>; savepointPath?: string; allowNonRestoredState: boolean },
): Promise<DetachedJob> {
  const jobFile = checkRunRequest(req.jobFile, req.savepointPath);
  const jobId = newJobId();
  const logFile = logFileFor(Configuration.fromMap(req.config), jobId);
  const outFile = logFile.replace(/\.log$/, '.out');
  mkdirSync(dirname(logFile), { recursive: true });
  const out = openSync(outFile, 'a');
  const request: DetachedRequest = { ...req, jobId, jobFile };
  const entry = fileURLToPath(new URL('./ClusterEntrypoint.js', import.meta.url));
  // A daemon that outlives this CLI: plain spawn hands it the log file descriptors directly.
  const child = spawn(process.execPath, [entry], {
    detached: true,
    stdio: ['ignore', out, out, 'ipc'],
    env: { ...process.env, FLINK_TS_RUN_REQUEST: JSON.stringify(request) },
  });
  closeSync(out);
  const first = await new Promise<EntrypointMessage | { type: 'exited'; code: number | null }>((resolve) => {
    child.once('message', (m) => resolve(m as EntrypointMessage));
    child.once('exit', (code) => resolve({ type: 'exited', code }));
    child.once('error', () => resolve({ type: 'exited', code: null }));
  });
  if (first.type === 'submitted') {
    child.disconnect();
    child.unref();
    return { jobId: first.jobId, restUrl: first.restUrl, logFile: first.logFile, outFile, pid: child.pid };
  }
  if (first.type === 'failed') throw new FlinkError(first.kind as never, first.message);
  throw new FlinkError('internal', `The cluster process exited (code ${first.code}) before the job was submitted; see ${outFile} and ${logFile}`);
}
