import { checkArgumentCount } from './arguments.js';
import { StreamGraph } from '../graph/StreamGraph.js';
import { SourceOperator } from '../operators/SourceOperator.js';
import { DataStream, SingleOutputStreamOperator } from './DataStream.js';
import type { StateBackend } from './stateBackends.js';
import { getProgramContext, type JobExecutionResult } from './ProgramContext.js';
import { FromElementsSource, NumberSequenceSource, TextFileSource, type Source, type SourceSplit } from './sources.js';

import { WatermarkStrategy } from './eventtime.js';
import { CheckpointConfig } from './CheckpointConfig.js';
import { CheckpointingMode, checkCheckpointingMode } from './CheckpointingMode.js';

export { WatermarkStrategy };

export { CheckpointingMode };

export class StreamExecutionEnvironment {
  private readonly graph = new StreamGraph();

  static getExecutionEnvironment(): StreamExecutionEnvironment {
    return new StreamExecutionEnvironment();
  }

  /** Default parallelism for this job's operators; overrides `-p` and parallelism.default, as in Flink. */
  setParallelism(parallelism: number): this {
    if (!Number.isInteger(parallelism) || parallelism < 1) throw new RangeError(`The parallelism must be at least 1, got ${parallelism}`);
    this.graph.parallelism = parallelism;
    return this;
  }

  getParallelism(): number | undefined {
    return this.graph.parallelism;
  }

  setMaxParallelism(maxParallelism: number): this {
    this.graph.maxParallelism = maxParallelism;
    return this;
  }

  /**
   * Periodic checkpoints every `interval` ms in `mode` (execution.checkpointing.interval and .mode in the
   * configuration; the program wins). Without `mode` the configured mode stays in effect, as in Flink.
   */
  enableCheckpointing(interval: number, mode?: CheckpointingMode): this {
    checkArgumentCount('enableCheckpointing(interval, mode?)', 2, arguments.length);
    const config = this.getCheckpointConfig();
    config.setCheckpointInterval(interval);
    if (mode !== undefined) config.setCheckpointingMode(checkCheckpointingMode(mode));
    return this;
  }

  /** Flink's CheckpointConfig of this job: what the program sets wins over the configuration. */
  getCheckpointConfig(): CheckpointConfig {
    return new CheckpointConfig(this.graph.checkpointing);
  }

  /** Flink's ExecutionConfig, reduced to what flink-ts reads from it. */
  getConfig(): { setAutoWatermarkInterval(ms: number): void; getAutoWatermarkInterval(): number | undefined } {
    const graph = this.graph;
    return {
      setAutoWatermarkInterval: (ms: number) => {
        if (!(ms >= 0)) throw new RangeError(`The auto watermark interval must not be negative, got ${ms}`);
        graph.autoWatermarkInterval = ms;
      },
      getAutoWatermarkInterval: () => graph.autoWatermarkInterval,
    };
  }

  /** The keyed state backend of this job (HashMapStateBackend, EmbeddedRocksDBStateBackend). */
  setStateBackend(backend: StateBackend): this {
    this.graph.stateBackend = backend;
    return this;
  }

  /** A source whose records get timestamps and watermarks from `watermarks` (one generator per subtask, or per split for sources with per-split watermarks: Kafka). */
  fromSource<T>(source: Source<T, any>, watermarks: WatermarkStrategy<T> = WatermarkStrategy.noWatermarks<T>(), sourceName = source.name): SingleOutputStreamOperator<T> {
    const node = this.graph.addNode({
      kind: 'source',
      name: `Source: ${sourceName}`,
      isSource: true,
      nonParallel: source.nonParallel,
      factory: () => new SourceOperator<T>(source as Source<T, SourceSplit>, watermarks),
      preflight: source.preflight && ((ctx) => source.preflight!(ctx)),
      connector: source,
    });
    return new SingleOutputStreamOperator<T>(this.graph, node.id);
  }

  fromSequence(from: number, to: number): SingleOutputStreamOperator<number> {
    return this.fromSource(new NumberSequenceSource(from, to), undefined, 'Sequence Source');
  }

  fromElements<T>(...elements: T[]): SingleOutputStreamOperator<T> {
    return this.fromSource(new FromElementsSource<T>(elements), undefined, 'Collection Source');
  }

  fromData<T>(...elements: T[]): SingleOutputStreamOperator<T> {
    return this.fromElements(...elements);
  }

  fromCollection<T>(elements: Iterable<T>): SingleOutputStreamOperator<T> {
    return this.fromElements(...elements);
  }

  readTextFile(path: string): SingleOutputStreamOperator<string> {
    const src = new TextFileSource(path);
    return this.fromSource(src, undefined, src.name);
  }

  /** @internal The graph built so far (for tests and tools). */
  getStreamGraph(jobName?: string): StreamGraph {
    if (jobName) this.graph.jobName = jobName;
    return this.graph;
  }

  async execute(jobName = 'Flink Streaming Job'): Promise<JobExecutionResult> {
    this.graph.jobName = jobName;
    if (this.graph.nodes.length === 0) throw new Error('No operators defined in streaming topology. Cannot execute.');
    const ctx = getProgramContext();
    if (ctx) return ctx.execute(this.graph);
    // Run directly (node/tsx job.ts): execute on an in-process mini-cluster, like Flink's local environment.
    const { executeLocally } = await import('../client/LocalExecutor.js');
    return executeLocally(this.graph);
  }
}

export { DataStream };
