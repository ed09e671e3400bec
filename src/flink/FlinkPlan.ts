import type { ProgramCheckpointSettings } from '../api/ProgramCheckpointSettings.js';
import type { PartitionerKind, StreamGraph, StreamNode } from '../graph/StreamGraph.js';

/**
 * The plan a TypeScript job becomes for the Flink runner (jvm/flink-runner, dev.flinkts.runner.RunnerMain): the
 * StreamGraph as JSON, plus how it maps to Flink operators. A chain of JS nodes (forward edges, equal parallelism,
 * chaining allowed, one output each) is one Flink operator (JsOperator) run by the TaskManager's Node.js worker;
 * a source or sink whose object offers `toFlinkConnector()` is Flink's own connector. See docs/flink-runner.md.
 */
export const PLAN_VERSION = 1;

export interface FlinkPlan {
  version: typeof PLAN_VERSION;
  jobName: string;
  /** The program's arguments: the worker runs the program with them to rebuild the same StreamGraph. */
  programArgs: string[];
  /** env.setParallelism(); null: the cluster's default (or `-p` of the submission). */
  parallelism: number | null;
  maxParallelism: number | null;
  autoWatermarkInterval: number | null;
  checkpointing: PlanCheckpointing;
  /** env.setStateBackend(); null: the cluster's configuration decides. */
  stateBackend: { type: 'hashmap' | 'rocksdb'; incremental: boolean | null } | null;
  /** Every StreamNode, in creation order (ids are the StreamGraph's; the worker rebuilds the same graph). */
  nodes: PlanStreamNode[];
  edges: PlanStreamEdge[];
  /** The Flink operators, upstream before downstream. */
  operators: PlanOperator[];
}

export interface PlanCheckpointing {
  interval: number | null;
  mode: string | null;
  timeout: number | null;
  minPause: number | null;
  maxConcurrent: number | null;
  unaligned: boolean | null;
  tolerableFailures: number | null;
  retention: string | null;
}

export interface PlanStreamNode {
  id: number;
  kind: string;
  name: string;
  uid: string | null;
  parallelism: number | null;
  maxParallelism: number | null;
  chaining: StreamNode['chaining'];
  isSource: boolean;
  /** The node's input is keyed (a keyBy edge leads into it). */
  keyed: boolean;
  /** Sources and sinks mapped to Flink connectors: the connector's descriptor (JSON, read by Connectors.java). */
  connector?: Record<string, unknown>;
}

export interface PlanStreamEdge {
  source: number;
  target: number;
  partitioner: PartitionerKind;
  typeNumber: 1 | 2;
  outputTag: string | null;
}

export interface PlanOperator {
  /** "op-<head node id>". */
  id: string;
  /**
   * Stream node ids, chain head first; all run in one JsOperator. A head that is a Flink-native source runs there
   * as the decoding of the source's byte[] records; a tail that is a Flink-native sink, as their encoding.
   */
  nodes: number[];
  name: string;
  /** The JsOperator's Flink uid: the first uid() of its JS nodes, else "flink-ts-op-<head id>". */
  uid: string;
  parallelism: number | null;
  maxParallelism: number | null;
  /** The operator's input is a Flink keyBy on the String key the upstream JS computed (KeyEncoding.ts). */
  keyed: boolean;
  /** A Flink-native source feeding this operator: its node, Flink uid and the connector descriptor. */
  source: PlanConnector | null;
  /** A Flink-native sink this operator's output goes to. */
  sink: PlanConnector | null;
  inputs: Array<{ from: string; output: number; partitioner: PartitionerKind; typeNumber: 1 | 2 }>;
  /** The head is `connect(broadcastStream).process(...)`: input 2 (typeNumber 2) is broadcast, never keyed. */
  broadcast: boolean;
  /** Output i carries the records of stream edge `edge` (index into edges); 0 is Flink's main output. */
  outputs: Array<{ edge: number; to: string; keyed: boolean }>;
}

export interface PlanConnector {
  node: number;
  uid: string;
  descriptor: Record<string, unknown>;
}

/** A source or sink object that maps to a Flink connector (i17-connectors implements the method on connectors). */
export interface FlinkConnectorCapable {
  toFlinkConnector(): { descriptor: Record<string, unknown> };
}

export function flinkConnectorOf(n: StreamNode): FlinkConnectorCapable | undefined {
  const c = n.connector as Partial<FlinkConnectorCapable> | undefined;
  return c && typeof c.toFlinkConnector === 'function' ? (c as FlinkConnectorCapable) : undefined;
}

function effectivePartitioner(p: PartitionerKind | undefined, up: number | null, down: number | null): PartitionerKind {
  if (p && p !== 'forward') return p;
  return up === down ? 'forward' : 'rebalance';
}

function nodeParallelism(n: StreamNode): number | null {
  return n.parallelism ?? (n.nonParallel ? 1 : null);
}

/** Builds the plan of a StreamGraph (the program already ran up to execute()). */
export function exportPlan(sg: StreamGraph, programArgs: readonly string[] = []): FlinkPlan {
  const keyedTargets = new Set(sg.edges.filter((e) => e.partitioner === 'hash').map((e) => e.target));
  const nodes: PlanStreamNode[] = sg.nodes.map((n) => {
    const connector = flinkConnectorOf(n)?.toFlinkConnector().descriptor;
    return {
      id: n.id, kind: n.kind, name: n.name, uid: n.uid ?? null, parallelism: nodeParallelism(n), maxParallelism: n.maxParallelism ?? null,
      chaining: n.chaining, isSource: !!n.isSource, keyed: keyedTargets.has(n.id) || !!n.keySelector,
      ...(connector ? { connector } : {}),
    };
  });
  const edges: PlanStreamEdge[] = sg.edges.map((e) => ({
    source: e.source, target: e.target,
    partitioner: effectivePartitioner(e.partitioner, nodes[e.source].parallelism, nodes[e.target].parallelism),
    typeNumber: e.typeNumber ?? 1, outputTag: e.outputTag ?? null,
  }));
  const inEdges = (id: number) => edges.filter((e) => e.target === id);
  const outEdges = (id: number) => edges.filter((e) => e.source === id);
  const native = (id: number) => nodes[id].connector !== undefined;

  // Chains: a node joins its only input's chain when that edge is forward, side-output free, the upstream has no
  // other output and chaining allows it (Flink's StreamingJobGraphGenerator rule, reduced). A node with its own
  // uid() starts a new operator, so each Flink uid holds one node's state; a native sink ends a chain, a native
  // source only heads one.
  const chainOf = new Map<number, number[]>();
  const chains: number[][] = [];
  for (const n of sg.nodes) {
    const ins = inEdges(n.id);
    const e = ins.length === 1 ? ins[0] : undefined;
    const up = e && chainOf.get(e.source);
    const joins = e !== undefined && up !== undefined && e.partitioner === 'forward' && e.outputTag === null && outEdges(e.source).length === 1
      && !(native(e.source) && !nodes[e.source].isSource) && !(native(n.id) && n.isSource)
      && n.chaining === 'ALWAYS' && sg.nodes[e.source].chaining !== 'NEVER'
      && nodes[e.source].maxParallelism === nodes[n.id].maxParallelism
      && (n.uid === undefined || up.every((id) => native(id) || nodes[id].uid === null));
    if (joins) {
      up!.push(n.id);
      chainOf.set(n.id, up!);
    } else {
      const chain = [n.id];
      chains.push(chain);
      chainOf.set(n.id, chain);
    }
  }
  const opId = (nodeId: number) => `op-${chainOf.get(nodeId)![0]}`;
  const connectorOf = (id: number, what: string): PlanConnector => ({ node: id, uid: nodes[id].uid ?? `flink-ts-${what}-${id}`, descriptor: nodes[id].connector! });
  const operators: PlanOperator[] = chains.map((chain) => {
    const head = nodes[chain[0]];
    const tail = chain[chain.length - 1];
    const source = head.isSource && native(head.id) ? connectorOf(head.id, 'source') : null;
    const sink = !nodes[tail].isSource && native(tail) ? connectorOf(tail, 'sink') : null;
    const jsUid = chain.filter((id) => !native(id)).map((id) => nodes[id].uid).find((u) => u !== null);
    return {
      id: `op-${head.id}`, nodes: chain, name: chain.map((id) => nodes[id].name).join(' -> '),
      uid: jsUid ?? (source ? `${source.uid}-decode` : `flink-ts-op-${head.id}`),
      parallelism: head.parallelism, maxParallelism: head.maxParallelism, keyed: head.keyed, source, sink,
      inputs: inEdges(head.id).map((e) => ({ from: opId(e.source), output: outEdges(e.source).indexOf(e), partitioner: e.partitioner, typeNumber: e.typeNumber ?? 1 })),
      broadcast: head.kind === 'broadcastProcess',
      outputs: outEdges(tail).map((e) => ({ edge: edges.indexOf(e), to: opId(e.target), keyed: e.partitioner === 'hash' })),
    };
  });
  // Creation order is already topological (a node is created after its inputs), except for iterations, which flink-ts has not.
  const cp: ProgramCheckpointSettings = sg.checkpointing;
  return {
    version: PLAN_VERSION,
    jobName: sg.jobName,
    programArgs: [...programArgs],
    parallelism: sg.parallelism ?? null,
    maxParallelism: sg.maxParallelism ?? null,
    autoWatermarkInterval: sg.autoWatermarkInterval ?? null,
    checkpointing: {
      interval: cp.interval ?? null, mode: cp.mode ?? null, timeout: cp.timeout ?? null, minPause: cp.minPause ?? null,
      maxConcurrent: cp.maxConcurrent ?? null, unaligned: cp.unaligned ?? null, tolerableFailures: cp.tolerableFailures ?? null,
      retention: cp.retention ?? null,
    },
    stateBackend: sg.stateBackend ? { type: sg.stateBackend.type === 'embedded' ? 'rocksdb' : 'hashmap', incremental: sg.stateBackend.incremental ?? null } : null,
    nodes, edges, operators,
  };
}
