/**
 * One real StreamTask of a single source vertex (no channels), with the messages it sends to the JobManager:
 * for tests of a task's own lifecycle (finish-after-ack, end-of-input-timers).
 */
import type { JobGraph, JobVertex } from '../../src/graph/JobGraph.js';
import type { StreamGraph } from '../../src/graph/StreamGraph.js';
import type { StreamOperator } from '../../src/operators/StreamOperator.js';
import { Transport } from '../../src/runtime/network/Transport.js';
import { StreamTask, type TaskHost } from '../../src/runtime/StreamTask.js';
import type { TaskDeployment, TaskToJobManager } from '../../src/runtime/messages.js';

export function sourceTask(op: StreamOperator<never>, deployment: Partial<TaskDeployment> = {}): { task: StreamTask; sent: TaskToJobManager[] } {
  const vertex = {
    index: 0, id: 'op', name: 'Source', parallelism: 1, maxParallelism: 128, isSource: true, inputs: [], outputs: [],
    operators: [{ nodeId: 0, operatorId: 'op', name: 'Source' }],
  } as unknown as JobVertex;
  const streamGraph = { node: () => ({ factory: () => op }), edges: [] } as unknown as StreamGraph;
  const sent: TaskToJobManager[] = [];
  const host: TaskHost = {
    transport: new Transport(0, new Map()), streamGraph, jobGraph: { jobName: 'j', vertices: [vertex], maxParallelism: 128 } as unknown as JobGraph,
    bufferTimeoutMs: 0, send: (m) => sent.push(m),
  };
  const task = new StreamTask(host, {
    jobId: 'a'.repeat(32), vertexIndex: 0, subtask: 0, attempt: 0, checkpointMode: 'EXACTLY_ONCE', inputChannels: [], outputs: [], ...deployment,
  });
  return { task, sent };
}
