import { createHash } from 'node:crypto';
import type { ProgramCheckpointSettings } from '../api/ProgramCheckpointSettings.js';
import type { StateBackend } from '../api/stateBackends.js';
import { FlinkError } from '../core/FlinkError.js';
import { hash128 } from '../core/ids.js';
import { checkParallelism, DEFAULT_MAX_PARALLELISM } from '../state/KeyGroupRangeAssignment.js';
import type { PartitionerKind, StreamGraph, StreamNode } from './StreamGraph.js';

export interface ChainedOperator {
  nodeId: number;
  /** 32 hex: hash of the uid, or a hash of the operator's position in the graph when it has none. */
  operatorId: string;
  uid?: string;
  name: string;
  kind: string;
}

export interface JobEdge {
  source: number; // vertex index
  target: number;
  partitioner: PartitionerKind;
  /** Index in StreamGraph.edges of the edge whose keySelector partitions this one (hash edges). */
  keyEdge?: number;
  /** Input of the target's head operator: 2 for the second input of a two-input operator. */
  typeNumber: 1 | 2;
  /** Side-output edge (OutputTag id): only the records the source emits for that tag. */
  outputTag?: string;
}

export interface JobVertex {
  index: number;
  /** Flink's JobVertexID: the head operator's id. */
  id: string;
  name: string;
  parallelism: number;
  maxParallelism: number;
  operators: ChainedOperator[];
  inputs: JobEdge[];
  outputs: JobEdge[];
  isSource: boolean;
}

export interface JobGraph {
  jobName: string;
  vertices: JobVertex[];
  maxParallelism: number;
  checkpointInterval?: number;
  /** What the program set with env.getCheckpointConfig() (and a legacy state backend); wins over the configuration. */
  checkpointing?: ProgramCheckpointSettings;
  stateBackend?: StateBackend;
  /** Hash of the structure; every worker checks it rebuilt the same graph from the program. */
  fingerprint: string;
}

export interface JobGraphDefaults {
  parallelism: number;
  maxParallelism: number;
  checkpointInterval?: number;
}

/**
 * Turns the StreamGraph into a JobGraph: resolves parallelism and partitioners, assigns operator ids,
 * and chains forward-connected operators of equal parallelism into one vertex (one task, no
 * serialization between them).
 */
export function buildJobGraph(sg: StreamGraph, defaults: JobGraphDefaults): JobGraph {
  const maxParallelism = sg.maxParallelism ?? defaults.maxParallelism ?? DEFAULT_MAX_PARALLELISM;
  const defaultParallelism = sg.parallelism ?? defaults.parallelism;
  const par = (n: StreamNode) => (n.nonParallel ? 1 : (n.parallelism ?? defaultParallelism));
  const maxPar = (n: StreamNode) => n.maxParallelism ?? maxParallelism;
  for (const n of sg.nodes) {
    if (n.nonParallel && n.parallelism !== undefined && n.parallelism !== 1) {
      throw new FlinkError('invalid-argument', `The parallelism of non parallel operator '${n.name}' must be 1.`);
    }
    try {
      checkParallelism(par(n), maxPar(n));
    } catch (e) {
      throw new FlinkError('invalid-argument', `Operator '${n.name}': ${(e as Error).message}`);
    }
  }
  const inEdges = new Map<number, typeof sg.edges>();
  const outEdges = new Map<number, typeof sg.edges>();
  for (const e of sg.edges) {
    (inEdges.get(e.target) ?? inEdges.set(e.target, []).get(e.target)!).push(e);
    (outEdges.get(e.source) ?? outEdges.set(e.source, []).get(e.source)!).push(e);
  }
  const partitionerOf = (e: StreamGraph['edges'][number]): PartitionerKind => {
    if (e.partitioner && e.partitioner !== 'forward') return e.partitioner;
    const same = par(sg.node(e.source)) === par(sg.node(e.target));
    if (e.partitioner === 'forward' && !same) {
      throw new FlinkError('invalid-argument', `Forward partitioning does not allow change of parallelism between '${sg.node(e.source).name}' and '${sg.node(e.target).name}'. Use rebalance() instead.`);
    }
    return same ? 'forward' : 'rebalance';
  };

  // Operator ids: from the uid, or deterministically from the node's place in the graph.
  const ids = new Map<number, string>();
  const seenUids = new Map<string, string>();
  for (const n of sg.nodes) {
    if (n.uid !== undefined) {
      if (seenUids.has(n.uid)) {
        throw new FlinkError('invalid-argument', `Hash collision on user-specified ID "${n.uid}". Most likely cause is a non-unique ID. Please check that all IDs specified via uid(String) are unique.`);
      }
      seenUids.set(n.uid, n.name);
      ids.set(n.id, hash128(n.uid));
    } else {
      const inputs = (inEdges.get(n.id) ?? []).map((e) => ids.get(e.source)).join(',');
      ids.set(n.id, hash128(`auto:${n.id}:${n.kind}:${inputs}`));
    }
  }

  const chainable = (e: StreamGraph['edges'][number]) => {
    const up = sg.node(e.source);
    const down = sg.node(e.target);
    return (
      partitionerOf(e) === 'forward' &&
      e.outputTag === undefined && // side outputs leave from a chain's end
      (outEdges.get(up.id)?.length ?? 0) === 1 &&
      (inEdges.get(down.id)?.length ?? 0) === 1 &&
      down.chaining === 'ALWAYS' &&
      up.chaining !== 'NEVER' &&
      maxPar(up) === maxPar(down)
    );
  };

  const vertexOf = new Map<number, number>();
  const vertices: JobVertex[] = [];
  for (const n of sg.nodes) {
    const ins = inEdges.get(n.id) ?? [];
    if (ins.length === 1 && chainable(ins[0])) continue; // chained into its predecessor's vertex
    const chain: StreamNode[] = [n];
    for (;;) {
      const outs = outEdges.get(chain[chain.length - 1].id) ?? [];
      if (outs.length === 1 && chainable(outs[0])) chain.push(sg.node(outs[0].target));
      else break;
    }
    const v: JobVertex = {
      index: vertices.length,
      id: ids.get(n.id)!,
      name: chain.map((c) => c.name).join(' -> '),
      parallelism: par(n),
      maxParallelism: maxPar(n),
      operators: chain.map((c) => ({ nodeId: c.id, operatorId: ids.get(c.id)!, uid: c.uid, name: c.name, kind: c.kind })),
      inputs: [],
      outputs: [],
      isSource: !!n.isSource,
    };
    for (const c of chain) vertexOf.set(c.id, v.index);
    vertices.push(v);
  }
  for (const [ei, e] of sg.edges.entries()) {
    const s = vertexOf.get(e.source)!;
    const t = vertexOf.get(e.target)!;
    if (s === t) continue;
    const je: JobEdge = {
      source: s, target: t, partitioner: partitionerOf(e), keyEdge: e.partitioner === 'hash' ? ei : undefined, typeNumber: e.typeNumber ?? 1,
      ...(e.outputTag !== undefined ? { outputTag: e.outputTag } : {}),
    };
    vertices[s].outputs.push(je);
    vertices[t].inputs.push(je);
  }
  const structure = vertices.map((v) => [v.id, v.parallelism, v.maxParallelism, v.operators.map((o) => o.operatorId), v.inputs.map((i) => [i.source, i.partitioner, i.typeNumber])]);
  return {
    jobName: sg.jobName,
    vertices,
    maxParallelism,
    checkpointInterval: sg.checkpointing.interval ?? defaults.checkpointInterval,
    checkpointing: { ...sg.checkpointing },
    stateBackend: sg.stateBackend,
    fingerprint: createHash('sha1').update(JSON.stringify(structure)).digest('hex'),
  };
}

export function operatorsById(jg: JobGraph): Map<string, { vertex: JobVertex; op: ChainedOperator }> {
  const m = new Map<string, { vertex: JobVertex; op: ChainedOperator }>();
  for (const v of jg.vertices) for (const op of v.operators) m.set(op.operatorId, { vertex: v, op });
  return m;
}
