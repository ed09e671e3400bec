import { Args, Flags } from '@oclif/core';
import { FlinkError } from '../src/core/FlinkError.js';
import { captureJobGraph } from '../src/tools/RestoreDryRun.js';
import {
  convertToFlink, convertToFlinkTs, flinkConnectorsOf, numberSequenceSourcesOf, uidsOf, type ConvertedOperator,
} from '../src/flink/SavepointConversion.js';
import { FlinkCommand } from './base.js';
import { propertyFlags } from './flags.js';
import { splitRunArgv } from './run.js';

const VALUE_FLAGS = new Set(['-i', '--input', '-o', '--output', '-D', '--property']);

export interface ConvertResult {
  direction: 'to-flink' | 'to-flink-ts';
  input: string;
  output: string;
  operators: ConvertedOperator[];
  /** `uid/state` of runtime state the target does not keep (watermark generators). */
  dropped: string[];
  /** to-flink: part files of the file sink committed by the move (a restore would have committed them). */
  committedFiles: number;
}

export default class SavepointConvert extends FlinkCommand {
  static override summary = 'Converts a flink-ts savepoint into a Flink savepoint of the same job on the Flink runner, or back.';
  static override description =
    'Graduation with state (docs/flink-runner.md, "Savepoint conversion"): --to-flink writes a Flink savepoint (Flink\'s State ' +
    'Processor API, HashMap state backend, canonical format) holding every operator\'s state by uid, keyed state in Flink\'s own ' +
    'key groups; --to-flink-ts reads a Flink savepoint of a runner job back into a canonical flink-ts savepoint. The job file ' +
    '(and its arguments) names the uids to read and the data generator sources whose positions are translated; it is required ' +
    'with --to-flink-ts. `flink run -m host:port -s <flink-ts savepoint> job.ts` and `flink run -s <Flink savepoint> job.ts` ' +
    'convert by themselves; this verb does it alone.';
  static override strict = false;
  static override examples = [
    '<%= config.bin %> savepoint-convert --to-flink -i /tmp/savepoints/savepoint-a1b2c3-0123456789ab -o /shared/sp-flink examples/StateMachineExample.ts --output /tmp/alerts',
    '<%= config.bin %> savepoint-convert --to-flink-ts -i /shared/flink-savepoints/savepoint-4f2a1c-9d8e7f6a5b4c -o /tmp/sp-back examples/StateMachineExample.ts --output /tmp/alerts',
  ];

  static override flags = {
    ...propertyFlags,
    'to-flink': Flags.boolean({ summary: 'flink-ts savepoint -> Flink savepoint.', exclusive: ['to-flink-ts'] }),
    'to-flink-ts': Flags.boolean({ summary: 'Flink savepoint of a runner job -> flink-ts savepoint.', exclusive: ['to-flink'] }),
    input: Flags.string({ char: 'i', summary: 'The savepoint to convert (directory or _metadata).', required: true }),
    output: Flags.string({ char: 'o', summary: 'The new savepoint directory (must not hold a snapshot yet).', required: true }),
  };

  static override args = {
    jobFile: Args.string({ description: 'The job program (.ts or .js) whose savepoint this is; its arguments follow it.', required: false }),
  };

  async run(): Promise<ConvertResult> {
    const { cliArgv, programArgs } = splitRunArgv(this.argv, VALUE_FLAGS);
    const { flags, args } = await this.parse(
      { flags: SavepointConvert.flags, baseFlags: FlinkCommand.baseFlags, enableJsonFlag: true, args: SavepointConvert.args, strict: true } as unknown as typeof SavepointConvert,
      cliArgv,
    );
    if (!flags['to-flink'] && !flags['to-flink-ts']) throw new FlinkError('invalid-argument', 'Say which way: --to-flink or --to-flink-ts');
    const config = this.loadConfig(flags.property);
    let graph;
    if (args.jobFile !== undefined) {
      // The program's own prints while it builds its graph must not mix into --json output.
      const write = process.stdout.write;
      process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
      try {
        graph = (await captureJobGraph(args.jobFile, programArgs, config)).streamGraph;
      } finally {
        process.stdout.write = write;
      }
    }
    const numberSequenceSources = graph ? numberSequenceSourcesOf(graph) : {};
    // A spinner on a terminal; otherwise nothing before the result, so a refusal stays one line.
    const spin = <T>(fn: () => Promise<T>) => (this.ui.animated ? this.ui.spin('Converting the savepoint...', fn) : fn());
    let result: ConvertResult;
    if (flags['to-flink']) {
      const r = await spin(() => convertToFlink(flags.input, flags.output, { numberSequenceSources }));
      result = { direction: 'to-flink', input: flags.input, output: r.path, operators: r.operators, dropped: r.dropped, committedFiles: r.committedFiles };
    } else {
      if (!graph) throw new FlinkError('invalid-argument', '--to-flink-ts needs the job file: a Flink savepoint holds only hashes of the uids it reads');
      const r = await spin(() => convertToFlinkTs(flags.input, flags.output, uidsOf(graph), { numberSequenceSources, flinkConnectors: flinkConnectorsOf(graph), jobName: graph.jobName }));
      result = { direction: 'to-flink-ts', input: flags.input, output: r.path, operators: r.operators, dropped: r.dropped, committedFiles: 0 };
    }
    for (const o of result.operators) {
      this.ui.out(`  ${o.uid}: ${o.keyedEntries} keyed entries, ${o.timers} timers, ${o.operatorStateEntries} operator state entries (parallelism ${o.parallelism}, max ${o.maxParallelism})`);
    }
    if (result.dropped.length > 0) this.ui.warn(`not carried (Flink does not keep it): ${result.dropped.join(', ')}`);
    if (result.committedFiles > 0) this.ui.out(`Committed ${result.committedFiles} pending part file(s) of the file sink, as a restore would.`);
    this.ui.out(`${result.direction === 'to-flink' ? 'Flink' : 'flink-ts'} savepoint written to ${result.output}`);
    return result;
  }
}
