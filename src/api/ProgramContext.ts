import type { StreamGraph } from '../graph/StreamGraph.js';

export interface JobExecutionResult {
  getJobID(): string;
  getNetRuntime(): number;
}

/**
 * How `env.execute()` behaves depends on who loaded the program: the JobManager submits the graph,
 * a worker only captures it (to get at the user functions) and never lets the program go past
 * execute(), and a program run directly (no context) executes on an in-process mini-cluster.
 * Kept on globalThis so it is found even if the API were loaded twice.
 */
export interface ProgramContext {
  mode: 'submit' | 'capture';
  /** Effective configuration (flink-conf.yaml + -D), as strings. */
  config: Record<string, string>;
  execute(graph: StreamGraph): Promise<JobExecutionResult>;
}

const KEY = Symbol.for('flink-ts.program-context');
type Holder = { [KEY]?: ProgramContext };

export function setProgramContext(ctx: ProgramContext | undefined): void {
  (globalThis as Holder)[KEY] = ctx;
}

export function getProgramContext(): ProgramContext | undefined {
  return (globalThis as Holder)[KEY];
}
