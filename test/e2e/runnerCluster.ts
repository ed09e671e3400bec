import { ensureRunnerJar } from '../../src/flink/RunnerSubmission.js';
import { startFlinkCluster, type FlinkCluster } from '../support/flink.js';
import { cleanup, createWorkspace, type Workspace } from './helpers.js';

/** What each of the runner's e2e files runs against: one real Flink cluster, its address and one workspace. */
export interface RunnerCluster {
  cluster: FlinkCluster;
  ws: Workspace;
  m: string;
}

/** The runner JAR built (or found up to date), then a Flink session cluster and a workspace for one test file. */
export async function startRunnerCluster(): Promise<RunnerCluster> {
  const log = (l: string) => process.stderr.write(`# ${l}\n`);
  ensureRunnerJar(undefined, log);
  const cluster = await startFlinkCluster({ log });
  return { cluster, ws: createWorkspace(), m: cluster.address };
}

export async function stopRunnerCluster(r: Partial<RunnerCluster>): Promise<void> {
  if (r.ws) await cleanup(r.ws);
  await r.cluster?.stop();
}
