import { Args, Flags } from '@oclif/core';
import { CoreOptions } from '../src/config/ConfigOptions.js';
import { captureJobGraph } from '../src/tools/RestoreDryRun.js';
import { executionPlan, type ExecutionPlan } from '../src/tools/ExecutionPlan.js';
import { FlinkCommand } from './base.js';
import { propertyFlags } from './flags.js';
import { splitRunArgv } from './run.js';

export default class Info extends FlinkCommand {
  static override summary = 'Shows the optimized execution plan of a job program (JSON), without running it.';
  static override description =
    'Like Flink\'s "flink info": loads the program up to env.execute() and prints its plan as Flink\'s JSON plan ' +
    '(nodes with type, pact, contents, parallelism and predecessors with their ship strategy). Each node also carries ' +
    'operator_id and uid (what its state is stored under in a snapshot, as "flink state" shows them), max_parallelism, ' +
    'and the task (vertex_id, vertex) it is chained into. Arguments after the job file go to the program.';
  static override strict = false;
  static override examples = [
    '<%= config.bin %> info examples/WordCount.ts',
    '<%= config.bin %> info -p 4 examples/StateMachineExample.ts --output /tmp/alerts',
  ];

  static override flags = {
    ...propertyFlags,
    parallelism: Flags.integer({ char: 'p', summary: 'The parallelism with which to run the program; overrides parallelism.default.', min: 1 }),
  };

  static override args = {
    jobFile: Args.string({ description: 'The job program: a .ts or .js module.', required: true }),
  };

  async run(): Promise<ExecutionPlan> {
    const { cliArgv, programArgs } = splitRunArgv(this.argv);
    const { flags, args } = await this.parse(
      { flags: Info.flags, baseFlags: FlinkCommand.baseFlags, enableJsonFlag: true, args: Info.args, strict: true } as unknown as typeof Info,
      cliArgv,
    );
    const config = this.loadConfig(flags.property);
    if (flags.parallelism !== undefined) config.set(CoreOptions.DEFAULT_PARALLELISM.key, String(flags.parallelism));
    // With --json, stdout carries only the plan: what the program prints while building its graph goes to stderr.
    const write = process.stdout.write;
    if (this.jsonEnabled()) process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
    let captured: Awaited<ReturnType<typeof captureJobGraph>>;
    try {
      captured = await captureJobGraph(args.jobFile, programArgs, config);
    } finally {
      process.stdout.write = write;
    }
    const { streamGraph, jobGraph } = captured;
    const plan = executionPlan(streamGraph, jobGraph);
    this.ui.out('----------------------- Execution Plan -----------------------');
    this.ui.out(JSON.stringify(plan, null, 2));
    this.ui.out('--------------------------------------------------------------');
    return plan;
  }
}
