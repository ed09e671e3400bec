import type { ProgramCheckpointSettings } from '../api/ProgramCheckpointSettings.js';
import type { StateBackend } from '../api/stateBackends.js';
import type { StreamOperator } from '../operators/StreamOperator.js';
import type { PreflightContext } from '../api/sources.js';

/**
 * How a record picks its target channels (Flink's StreamPartitioner, as a switch in RecordWriter rather than
 * classes). The plan names it; the network, which already reads the plan, follows it.
 */
export type PartitionerKind = 'forward' | 'rebalance' | 'hash' | 'broadcast';
export type KeySelectorFn = (value: any) => unknown;

export interface StreamNode {
  /** Creation order; identical in every process that runs the same program with the same arguments. */
  id: number;
  kind: string;
  name: string;
  uid?: string;
  parallelism?: number;
  maxParallelism?: number;
  /** Sources like fromElements run with parallelism 1 whatever the default. */
  nonParallel?: boolean;
  isSource?: boolean;
  /** Set on keyed operators: the key selector of the keyed input (input 1 of a two-input operator). */
  keySelector?: KeySelectorFn;
  /** Keyed two-input operators (connect of two keyed streams): the key selector of input 2. */
  keySelector2?: KeySelectorFn;
  chaining: 'ALWAYS' | 'HEAD' | 'NEVER';
  /** Creates the runtime operator inside a task; called in the worker that runs the subtask. */
  factory: () => StreamOperator;
  /** Checked in the JobManager before deployment (a connector reaching its system): see Source.preflight. */
  preflight?: (ctx: PreflightContext) => Promise<void>;
  /** The Source or Sink object a source/sink node wraps (the Flink runner asks it for its Flink connector). */
  connector?: unknown;
}

export interface StreamEdge {
  source: number;
  target: number;
  /** Explicit partitioner (keyBy, rebalance, broadcast); otherwise forward or rebalance by parallelism. */
  partitioner?: PartitionerKind;
  keySelector?: KeySelectorFn;
  /** Which input of a two-input operator this edge feeds (1 unless it is the second input). */
  typeNumber?: 1 | 2;
  /** Side-output edge: carries only the records the source operator emits for this OutputTag id. */
  outputTag?: string;
}

/** env.getCheckpointConfig(): the checkpointing settings the program set. */
export type CheckpointSettings = ProgramCheckpointSettings;

/** The program's logical dataflow, as built by the DataStream API. */
export class StreamGraph {
  readonly nodes: StreamNode[] = [];
  readonly edges: StreamEdge[] = [];
  jobName = 'Flink Streaming Job';
  parallelism?: number;
  maxParallelism?: number;
  readonly checkpointing: CheckpointSettings = {};
  /** env.getConfig().setAutoWatermarkInterval(ms): overrides pipeline.auto-watermark-interval. */
  autoWatermarkInterval?: number;
  /** env.setStateBackend(); the configuration decides when unset. */
  stateBackend?: StateBackend;

  addNode(n: Omit<StreamNode, 'id' | 'chaining'> & { chaining?: StreamNode['chaining'] }): StreamNode {
    const node: StreamNode = { chaining: 'ALWAYS', ...n, id: this.nodes.length };
    this.nodes.push(node);
    return node;
  }

  addEdge(e: StreamEdge): void {
    this.edges.push(e);
  }

  node(id: number): StreamNode {
    return this.nodes[id];
  }
}
