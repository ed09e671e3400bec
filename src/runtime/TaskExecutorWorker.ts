import { parentPort, type MessagePort } from 'node:worker_threads';
import { Configuration } from '../config/Configuration.js';
import { CoreOptions, PipelineOptions } from '../config/ConfigOptions.js';
import { taskKey } from '../core/ids.js';
import { checkpointInterval } from '../checkpoint/EffectiveCheckpointConfig.js';
import { loadStateBackend, stateBackendSpec } from '../state/StateBackendLoader.js';
import { buildJobGraph, type JobGraph } from '../graph/JobGraph.js';
import type { StreamGraph } from '../graph/StreamGraph.js';
import { Transport } from './network/Transport.js';
import { runProgram } from './ProgramLoader.js';
import { AsyncOperationsThread } from './AsyncOperationsThread.js';
import { StreamTask, type TaskHost } from './StreamTask.js';
import type { JobManagerToWorker, WorkerInit, WorkerToJobManager } from './messages.js';

/**
 * A task slot: a worker thread that loads the job program itself (to get the user functions), checks
 * that it built the same JobGraph as the JobManager, and runs the subtasks deployed to it.
 */
const port = parentPort!;
const send = (m: WorkerToJobManager) => port.postMessage(m);
const tasks = new Map<string, StreamTask>();
let host: TaskHost | undefined;
/** How often the slot reports its tasks' metrics (Flink's metric fetcher asks every 10 s; we push every second). */
const METRICS_INTERVAL_MS = 1000;
setInterval(() => {
  const reports = [];
  for (const t of tasks.values()) if (t.running) reports.push(t.metricsReport());
  if (reports.length > 0) send({ type: 'metrics', reports });
}, METRICS_INTERVAL_MS).unref();

function errorInfo(e: unknown) {
  const err = e instanceof Error ? e : new Error(String(e));
  return { message: err.message, name: err.name, stack: err.stack ?? '' };
}

async function init(msg: WorkerInit): Promise<void> {
  let graph: StreamGraph | undefined;
  await runProgram(msg.jobFile, msg.programArgs, msg.config, 'capture', async (g) => {
    graph = g;
    return new Promise<never>(() => {});
  });
  const config = Configuration.fromMap(msg.config);
  const jobGraph: JobGraph = buildJobGraph(graph!, {
    parallelism: config.get(CoreOptions.DEFAULT_PARALLELISM),
    maxParallelism: config.get(PipelineOptions.MAX_PARALLELISM),
  });
  if (jobGraph.fingerprint !== msg.fingerprint) {
    throw new Error('The program built a different job graph in the task slot than in the JobManager. Building the graph must be deterministic (no randomness, clock or environment in the topology).');
  }
  const stateBackend = { ...stateBackendSpec(config, graph!.stateBackend), periodicCheckpoints: (checkpointInterval(config, jobGraph) ?? 0) > 0 };
  await loadStateBackend(stateBackend);
  if (stateBackend.periodicCheckpoints) AsyncOperationsThread.get().prestart();
  const peers = new Map<number, MessagePort>(Object.entries(msg.peers).map(([k, v]) => [Number(k), v as MessagePort]));
  host = {
    transport: new Transport(msg.workerIndex, peers),
    streamGraph: graph!,
    jobGraph,
    bufferTimeoutMs: msg.bufferTimeoutMs,
    autoWatermarkIntervalMs: graph!.autoWatermarkInterval ?? config.get(PipelineOptions.AUTO_WATERMARK_INTERVAL),
    stateBackend,
    send,
  };
}

port.on('message', (msg: JobManagerToWorker) => {
  switch (msg.type) {
    case 'init':
      init(msg).then(() => send({ type: 'ready' }), (e) => send({ type: 'initFailed', error: errorInfo(e) }));
      return;
    case 'deploy':
      for (const d of msg.tasks) {
        const t = new StreamTask(host!, d);
        tasks.set(taskKey(d.vertexIndex, d.subtask), t);
      }
      // Register every task's channels before any task starts sending.
      for (const d of msg.tasks) tasks.get(taskKey(d.vertexIndex, d.subtask))!.start();
      return;
    case 'trigger':
      tasks.get(taskKey(msg.vertexIndex, msg.subtask))?.triggerCheckpoint(msg.barrier);
      return;
    case 'notifyComplete': {
      const commits = [...tasks.values()].map((t) => t.notifyCheckpointComplete(msg.checkpointId)).filter((p) => p !== undefined);
      const ackId = msg.ackId;
      if (ackId !== undefined) {
        if (commits.length === 0) send({ type: 'notified', ackId });
        else void Promise.all(commits).then(() => send({ type: 'notified', ackId }));
      }
      return;
    }
    case 'notifyAborted':
      for (const t of tasks.values()) t.notifyCheckpointAborted(msg.checkpointId);
      return;
    case 'cancel':
      for (const t of tasks.values()) t.cancel();
      host?.transport.close();
      send({ type: 'cancelled' });
      return;
  }
});
