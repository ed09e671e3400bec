import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { StreamExecutionEnvironment } from '../../src/api/StreamExecutionEnvironment.js';
import type { DataStream, SingleOutputStreamOperator } from '../../src/api/DataStream.js';
import { isFlinkError } from '../../src/core/FlinkError.js';
import { buildJobGraph, operatorsById, type JobGraph, type JobGraphDefaults } from '../../src/graph/JobGraph.js';
import type { StreamGraph } from '../../src/graph/StreamGraph.js';

const defaults: JobGraphDefaults = { parallelism: 1, maxParallelism: 128 };
const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const build = (env: StreamExecutionEnvironment, d: Partial<JobGraphDefaults> = {}) => buildJobGraph(env.getStreamGraph(), { ...defaults, ...d });
const newEnv = () => StreamExecutionEnvironment.getExecutionEnvironment();

function invalidArgument(pattern: RegExp) {
  return (e: unknown) => {
    assert.ok(isFlinkError(e), `expected a FlinkError, got ${String(e)}`);
    assert.equal(e.kind, 'invalid-argument');
    assert.match(e.message, pattern);
    return true;
  };
}

const names = (jg: JobGraph) => jg.vertices.map((v) => v.name);

describe('chaining', () => {
  test('forward-connected operators of equal parallelism chain into one vertex', () => {
    const env = newEnv();
    env.fromSequence(1, 10).map((x: number) => x + 1).filter((x: number) => x > 2).print();
    const jg = build(env, { parallelism: 3 });
    assert.deepEqual(names(jg), ['Source: Sequence Source -> Map -> Filter -> Print to Std. Out']);
    const v = jg.vertices[0];
    assert.equal(v.parallelism, 3);
    assert.equal(v.maxParallelism, 128);
    assert.equal(v.isSource, true);
    assert.deepEqual(v.operators.map((o) => o.kind), ['source', 'map', 'filter', 'sink']);
    assert.deepEqual(v.operators.map((o) => o.nodeId), [0, 1, 2, 3]);
    assert.deepEqual([v.inputs, v.outputs], [[], []]);
    assert.equal(v.id, v.operators[0].operatorId, 'the vertex id is the head operator id');
  });

  test('keyBy breaks the chain with a hash partitioner whose key edge carries the key selector', () => {
    const env = newEnv();
    env.fromSequence(1, 10).map((x: number) => [x % 3, 1]).keyBy((t: number[]) => t[0]).sum(1).print();
    const jg = build(env, { parallelism: 2 });
    assert.deepEqual(names(jg), ['Source: Sequence Source -> Map', 'Keyed Aggregation -> Print to Std. Out']);
    const [a, b] = jg.vertices;
    assert.deepEqual(a.outputs, [{ source: 0, target: 1, partitioner: 'hash', keyEdge: 1, typeNumber: 1 }]);
    assert.deepEqual(b.inputs, a.outputs);
    assert.equal(b.isSource, false);
    const sg = env.getStreamGraph();
    assert.equal(typeof sg.node(2).keySelector, 'function', 'the keyed operator carries the key selector');
    assert.deepEqual(sg.node(2).keySelector!([1, 5]), 1);
    assert.equal(sg.edges[1].keySelector, sg.node(2).keySelector, 'the hash edge partitions by the same selector');
  });

  test('rebalance and broadcast break the chain with their partitioner', () => {
    const env = newEnv();
    const s = env.fromSequence(1, 10);
    s.rebalance().map((x: number) => x).broadcast().filter(() => true).print();
    const jg = build(env, { parallelism: 2 });
    assert.deepEqual(names(jg), ['Source: Sequence Source', 'Map', 'Filter -> Print to Std. Out']);
    assert.deepEqual(jg.vertices.map((v) => v.outputs.map((e) => e.partitioner)), [['rebalance'], ['broadcast'], []]);
    assert.equal(jg.vertices[0].outputs[0].keyEdge, undefined);
  });

  test('a change of parallelism breaks the chain with rebalance', () => {
    const env = newEnv();
    env.fromSequence(1, 10).setParallelism(2).map((x: number) => x).setParallelism(3).print().setParallelism(3);
    const jg = build(env);
    assert.deepEqual(names(jg), ['Source: Sequence Source', 'Map -> Print to Std. Out']);
    assert.deepEqual(jg.vertices.map((v) => v.parallelism), [2, 3]);
    assert.equal(jg.vertices[0].outputs[0].partitioner, 'rebalance');
  });

  test('the non-parallel fromElements source runs with parallelism 1 and feeds parallel operators by rebalance', () => {
    const env = newEnv();
    env.setParallelism(2);
    env.fromElements(1, 2, 3).map((x: number) => x).print();
    const jg = build(env);
    assert.deepEqual(jg.vertices.map((v) => [v.name, v.parallelism]), [['Source: Collection Source', 1], ['Map -> Print to Std. Out', 2]]);
    assert.equal(jg.vertices[0].outputs[0].partitioner, 'rebalance');
  });

  test('an explicit forward between different parallelisms is an error', () => {
    const env = newEnv();
    env.fromSequence(1, 10).setParallelism(2).forward().map((x: number) => x).setParallelism(3);
    assert.throws(() => build(env), invalidArgument(/Forward partitioning does not allow change of parallelism/));
  });

  test('an explicit forward at equal parallelism chains', () => {
    const env = newEnv();
    env.fromSequence(1, 10).forward().map((x: number) => x).print();
    assert.deepEqual(names(build(env, { parallelism: 2 })), ['Source: Sequence Source -> Map -> Print to Std. Out']);
  });

  test('disableChaining isolates the operator from both neighbours', () => {
    const env = newEnv();
    env.fromSequence(1, 10).map((x: number) => x).filter(() => true).disableChaining().map((x: number) => x).print();
    const jg = build(env);
    assert.deepEqual(names(jg), ['Source: Sequence Source -> Map', 'Filter', 'Map -> Print to Std. Out']);
    assert.deepEqual(jg.vertices.map((v) => v.outputs.map((e) => e.partitioner)), [['forward'], ['forward'], []]);
  });

  test('startNewChain begins a chain that its successors join', () => {
    const env = newEnv();
    env.fromSequence(1, 10).map((x: number) => x).filter(() => true).startNewChain().map((x: number) => x).print();
    assert.deepEqual(names(build(env)), ['Source: Sequence Source -> Map', 'Filter -> Map -> Print to Std. Out']);
  });

  test('disableChaining on a sink', () => {
    const env = newEnv();
    env.fromSequence(1, 10).map((x: number) => x).print().disableChaining();
    assert.deepEqual(names(build(env)), ['Source: Sequence Source -> Map', 'Print to Std. Out']);
  });

  test('an operator with two consumers does not chain them; each consumer gets the stream', () => {
    const env = newEnv();
    const m = env.fromSequence(1, 10).map((x: number) => x);
    m.print('a');
    m.filter(() => true).print('b');
    const jg = build(env);
    const byName = new Map(jg.vertices.map((v) => [v.name, v]));
    assert.equal(jg.vertices.reduce((n, v) => n + v.operators.length, 0), 5);
    const mapVertex = jg.vertices.find((v) => v.operators.some((o) => o.kind === 'map'))!;
    assert.equal(mapVertex.outputs.length, 2);
    for (const e of mapVertex.outputs) assert.equal(e.partitioner, 'forward');
    assert.ok(byName.size === jg.vertices.length);
  });

  test('different max parallelism breaks the chain', () => {
    const env = newEnv();
    env.fromSequence(1, 10).map((x: number) => x).setMaxParallelism(64).print();
    const jg = build(env);
    assert.deepEqual(jg.vertices.map((v) => [v.name, v.maxParallelism]), [['Source: Sequence Source', 128], ['Map', 64], ['Print to Std. Out', 128]]);
  });

  test('parallelism resolution: operator > environment > defaults; max parallelism from the graph or defaults', () => {
    const env = newEnv();
    env.setParallelism(3).setMaxParallelism(256);
    env.fromSequence(1, 10).map((x: number) => x).setParallelism(2).print();
    const jg = build(env, { parallelism: 7, maxParallelism: 64 });
    assert.deepEqual(jg.vertices.map((v) => [v.parallelism, v.maxParallelism]), [[3, 256], [2, 256], [3, 256]]);
    assert.equal(jg.maxParallelism, 256);
    const env2 = newEnv();
    env2.fromSequence(1, 10).print();
    const jg2 = build(env2, { parallelism: 4, maxParallelism: 64 });
    assert.deepEqual(jg2.vertices.map((v) => [v.parallelism, v.maxParallelism]), [[4, 64]]);
  });

  test('checkpoint interval comes from the program, else the defaults', () => {
    const env = newEnv();
    env.enableCheckpointing(500);
    env.fromSequence(1, 2).print();
    assert.equal(build(env, { checkpointInterval: 9000 }).checkpointInterval, 500);
    const env2 = newEnv();
    env2.fromSequence(1, 2).print();
    assert.equal(build(env2, { checkpointInterval: 9000 }).checkpointInterval, 9000);
    assert.equal(build(env2).checkpointInterval, undefined);
    assert.throws(() => newEnv().enableCheckpointing(5), RangeError);
  });

  test('parallelism above max parallelism is an error', () => {
    const env = newEnv();
    env.fromSequence(1, 10).setParallelism(4).setMaxParallelism(2).print();
    assert.throws(() => build(env), invalidArgument(/Parallelism 4 is higher than the max parallelism 2/));
  });
});

describe('operator ids', () => {
  function program(env: StreamExecutionEnvironment, withUids: boolean): void {
    const src = env.fromSequence(1, 100);
    if (withUids) src.uid('src');
    const m = src.map((x: number) => [x % 5, x]);
    if (withUids) m.uid('parse');
    const agg = m.keyBy((t: number[]) => t[0]).sum(1);
    if (withUids) agg.uid('sum');
    agg.print();
  }

  test('the id of an operator with a uid is the md5 of the uid', () => {
    const env = newEnv();
    program(env, true);
    const jg = build(env);
    const ops = jg.vertices.flatMap((v) => v.operators);
    const byUid = new Map(ops.filter((o) => o.uid).map((o) => [o.uid!, o.operatorId]));
    assert.equal(byUid.get('src'), md5('src'));
    assert.equal(byUid.get('parse'), md5('parse'));
    assert.equal(byUid.get('sum'), md5('sum'));
    for (const o of ops) assert.match(o.operatorId, /^[0-9a-f]{32}$/);
    const index = operatorsById(jg);
    assert.equal(index.size, ops.length);
    assert.equal(index.get(md5('sum'))!.op.name, 'Keyed Aggregation');
    assert.equal(index.get(md5('sum'))!.vertex.index, 1);
  });

  test('auto ids are deterministic across two builds of the same program', () => {
    const a = newEnv();
    const b = newEnv();
    program(a, false);
    program(b, false);
    const ja = build(a);
    const jb = build(b);
    const ids = (jg: JobGraph) => jg.vertices.flatMap((v) => v.operators.map((o) => o.operatorId));
    assert.deepEqual(ids(ja), ids(jb));
    assert.equal(new Set(ids(ja)).size, ids(ja).length, 'every operator has its own id');
    assert.equal(ja.fingerprint, jb.fingerprint);
  });

  test('auto ids differ for different positions and do not depend on parallelism or names', () => {
    const ids = (f: (env: StreamExecutionEnvironment) => void, d: Partial<JobGraphDefaults> = {}) => {
      const env = newEnv();
      f(env);
      return build(env, d).vertices.flatMap((v) => v.operators.map((o) => [o.kind, o.operatorId]));
    };
    const twoMaps = ids((env) => env.fromSequence(1, 2).map((x: number) => x).map((x: number) => x).print());
    assert.notEqual(twoMaps[1][1], twoMaps[2][1], 'two maps at different positions');
    const filterFirst = ids((env) => env.fromSequence(1, 2).filter(() => true).map((x: number) => x).print());
    assert.equal(twoMaps[0][1], filterFirst[0][1], 'same source position, same id');
    assert.notEqual(twoMaps[2][1], filterFirst[2][1], 'a map behind a filter is not a map behind a map');
    // Rescaling a job without uids from a savepoint needs the ids to ignore parallelism; renaming must not matter either.
    const p1 = ids((env) => env.fromSequence(1, 2).map((x: number) => x).print(), { parallelism: 1 });
    const p4 = ids((env) => env.fromSequence(1, 2).map((x: number) => x).name('renamed').print(), { parallelism: 4 });
    assert.deepEqual(p1, p4);
  });

  test('a uid elsewhere does not change the auto ids of operators upstream of it', () => {
    const ids = (uid: boolean) => {
      const env = newEnv();
      const m = env.fromSequence(1, 2).map((x: number) => x);
      const f = m.filter(() => true);
      if (uid) f.uid('f');
      f.print();
      return build(env).vertices.flatMap((v) => v.operators.map((o) => o.operatorId));
    };
    const [a, b] = [ids(false), ids(true)];
    assert.deepEqual(a.slice(0, 2), b.slice(0, 2));
    assert.equal(b[2], md5('f'));
  });

  test('duplicate uids are an error', () => {
    const env = newEnv();
    env.fromSequence(1, 2).uid('same').map((x: number) => x).uid('same').print();
    assert.throws(() => build(env), invalidArgument(/Hash collision on user-specified ID "same"/));
  });

  test('an empty uid is rejected by the API', () => {
    assert.throws(() => newEnv().fromSequence(1, 2).uid(''), TypeError);
  });

  test('a non-parallel source with parallelism 2 is an error', () => {
    const env = newEnv();
    const src = env.fromElements(1, 2, 3);
    assert.throws(() => src.setParallelism(2), /The parallelism of non parallel operator 'Source: Collection Source' must be 1/);
    assert.doesNotThrow(() => src.setParallelism(1));
    // A graph that got there anyway is rejected when the JobGraph is built.
    env.getStreamGraph().node(src.nodeId).parallelism = 2;
    src.print();
    assert.throws(() => build(env), invalidArgument(/The parallelism of non parallel operator 'Source: Collection Source' must be 1/));
  });

  test('invalid parallelism values are rejected by the API', () => {
    const env = newEnv();
    assert.throws(() => env.setParallelism(0), RangeError);
    assert.throws(() => env.setParallelism(1.5), RangeError);
    assert.throws(() => env.fromSequence(1, 2).setParallelism(0), RangeError);
  });
});

describe('fingerprint', () => {
  const prog = (env: StreamExecutionEnvironment, p = 2) => {
    env.fromSequence(1, 10).map((x: number) => x).setParallelism(p).keyBy((x: number) => x % 2).sum(0).print();
  };

  test('is stable across builds of the same program', () => {
    const a = newEnv();
    const b = newEnv();
    prog(a);
    prog(b);
    const fa = build(a).fingerprint;
    assert.match(fa, /^[0-9a-f]{40}$/);
    assert.equal(fa, build(b).fingerprint);
    assert.equal(fa, build(a).fingerprint, 'building twice from one graph');
  });

  test('changes with the structure: parallelism, partitioning, operators, uids', () => {
    const fp = (f: (env: StreamExecutionEnvironment) => void) => {
      const env = newEnv();
      f(env);
      return build(env).fingerprint;
    };
    const base = fp((e) => prog(e, 2));
    assert.notEqual(fp((e) => prog(e, 3)), base);
    assert.notEqual(fp((e) => e.fromSequence(1, 10).map((x: number) => x).setParallelism(2).rebalance().map((x: number) => x).print()), base);
    assert.notEqual(fp((e) => e.fromSequence(1, 10).map((x: number) => x).setParallelism(2).uid('m').keyBy((x: number) => x % 2).sum(0).print()), base);
  });
});

/** Random linear pipelines: every chaining decision follows the rules, and chains are maximal. */
describe('chaining rules on random pipelines (property)', () => {
  type Step = { part: 'none' | 'keyBy' | 'rebalance' | 'broadcast'; par?: number; maxPar?: number; chain: 'default' | 'disable' | 'newChain' };
  const step = fc.record({
    part: fc.constantFrom('none', 'none', 'keyBy', 'rebalance', 'broadcast'),
    par: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
    maxPar: fc.option(fc.constantFrom(64, 128), { nil: undefined }),
    chain: fc.constantFrom('default', 'default', 'disable', 'newChain'),
  }) as fc.Arbitrary<Step>;

  function buildPipeline(env: StreamExecutionEnvironment, srcPar: number | undefined, steps: Step[]): void {
    let s: SingleOutputStreamOperator<number> = env.fromSequence(1, 10);
    if (srcPar) s = s.setParallelism(srcPar);
    for (const st of steps) {
      let input: DataStream<number> = s;
      if (st.part === 'keyBy') input = s.keyBy((x: number) => x % 3);
      else if (st.part === 'rebalance') input = s.rebalance();
      else if (st.part === 'broadcast') input = s.broadcast();
      s = input.map((x: number) => x);
      if (st.par) s.setParallelism(st.par);
      if (st.maxPar) s.setMaxParallelism(st.maxPar);
      if (st.chain === 'disable') s.disableChaining();
      if (st.chain === 'newChain') s.startNewChain();
    }
  }

  test('operators partition into vertices; chained edges obey the rules; chainable edges are chained', () => {
    fc.assert(
      fc.property(fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }), fc.array(step, { maxLength: 8 }), fc.integer({ min: 1, max: 3 }), (srcPar, steps, defPar) => {
        const env = newEnv();
        buildPipeline(env, srcPar, steps);
        const sg: StreamGraph = env.getStreamGraph();
        const jg = build(env, { parallelism: defPar });
        const vertexOf = new Map<number, number>();
        for (const v of jg.vertices) {
          v.operators.forEach((o) => {
            assert.ok(!vertexOf.has(o.nodeId), `node ${o.nodeId} in two vertices`);
            vertexOf.set(o.nodeId, v.index);
          });
        }
        assert.equal(vertexOf.size, sg.nodes.length);
        const par = (id: number) => sg.node(id).parallelism ?? defPar;
        const maxPar = (id: number) => sg.node(id).maxParallelism ?? 128;
        for (const e of sg.edges) {
          const explicit = e.partitioner && e.partitioner !== 'forward' ? e.partitioner : undefined;
          const expectedPartitioner = explicit ?? (par(e.source) === par(e.target) ? 'forward' : 'rebalance');
          const chainableByRules =
            expectedPartitioner === 'forward' && sg.node(e.target).chaining === 'ALWAYS' && sg.node(e.source).chaining !== 'NEVER' && maxPar(e.source) === maxPar(e.target);
          const sv = vertexOf.get(e.source)!;
          const tv = vertexOf.get(e.target)!;
          if (sv === tv) {
            assert.ok(chainableByRules, `edge ${e.source}->${e.target} chained against the rules`);
            const ops = jg.vertices[sv].operators.map((o) => o.nodeId);
            assert.equal(ops.indexOf(e.target), ops.indexOf(e.source) + 1, 'chained operators are adjacent in order');
          } else {
            assert.ok(!chainableByRules, `edge ${e.source}->${e.target} could chain but did not`);
            const je = jg.vertices[sv].outputs.find((x) => x.target === tv);
            assert.ok(je, 'a job edge between the two vertices');
            assert.equal(je.partitioner, expectedPartitioner);
            assert.equal(je.keyEdge, e.partitioner === 'hash' ? sg.edges.indexOf(e) : undefined);
            assert.ok(jg.vertices[tv].inputs.includes(je));
          }
        }
        for (const v of jg.vertices) {
          for (const o of v.operators) {
            assert.equal(par(o.nodeId), v.parallelism, 'all chained operators share the vertex parallelism');
            assert.equal(maxPar(o.nodeId), v.maxParallelism);
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});
