import type { JobGraph } from '../graph/JobGraph.js';
import type { PartitionerKind, StreamGraph } from '../graph/StreamGraph.js';

/**
 * The execution plan `flink info` prints: Flink's JSON plan of the StreamGraph (one node per operator, with
 * its predecessors and ship strategies) plus what a restore needs to know about each operator — the
 * operator id its state is stored under, its uid, and the task (chain) it runs in, as the dry run and
 * `flink state` name them.
 */
export interface ExecutionPlan {
  nodes: PlanNode[];
}

export interface PlanNode {
  /** Flink numbers stream nodes from 1. */
  id: number;
  type: string;
  pact: 'Data Source' | 'Operator' | 'Data Sink';
  contents: string;
  parallelism: number;
  predecessors?: Array<{ id: number; ship_strategy: string; side: 'second' }>;
  // Ours, not in Flink's plan:
  operator_id: string;
  uid: string | null;
  max_parallelism: number;
  /** The JobVertex (task) the operator is chained into, and that task's name. */
  vertex_id: string;
  vertex: string;
}

const SHIP_STRATEGY: Record<PartitionerKind, string> = { forward: 'FORWARD', rebalance: 'REBALANCE', hash: 'HASH', broadcast: 'BROADCAST' };

export function executionPlan(sg: StreamGraph, jg: JobGraph): ExecutionPlan {
  const placed = new Map<number, { vertex: JobGraph['vertices'][number]; operatorId: string }>();
  for (const v of jg.vertices) for (const op of v.operators) placed.set(op.nodeId, { vertex: v, operatorId: op.operatorId });
  const hasOutputs = new Set(sg.edges.map((e) => e.source));
  const nodes = sg.nodes.filter((n) => placed.has(n.id)).map((n): PlanNode => {
    const { vertex, operatorId } = placed.get(n.id)!;
    const predecessors = sg.edges.filter((e) => e.target === n.id).map((e) => {
      const up = placed.get(e.source)!.vertex;
      // As buildJobGraph resolves it: an explicit partitioner, else forward at equal parallelism.
      const kind: PartitionerKind = e.partitioner && e.partitioner !== 'forward' ? e.partitioner : up.parallelism === vertex.parallelism ? 'forward' : 'rebalance';
      return { id: e.source + 1, ship_strategy: SHIP_STRATEGY[kind], side: 'second' as const };
    });
    return {
      id: n.id + 1,
      type: n.name,
      pact: n.isSource ? 'Data Source' : hasOutputs.has(n.id) ? 'Operator' : 'Data Sink',
      contents: n.name,
      parallelism: vertex.parallelism,
      ...(predecessors.length > 0 ? { predecessors } : {}),
      operator_id: operatorId,
      uid: n.uid ?? null,
      max_parallelism: vertex.maxParallelism,
      vertex_id: vertex.id,
      vertex: vertex.name,
    };
  });
  return { nodes };
}
