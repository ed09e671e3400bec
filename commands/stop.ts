import { Args, Flags } from '@oclif/core';
import { FlinkError } from '../src/core/FlinkError.js';
import { FlinkCommand } from './base.js';
import { savepointAcks } from './format.js';
import { clusterFlags, formatTypeFlag, splitOptionalValueFlag } from './flags.js';
import { parseFormatType } from '../src/core/SavepointFormatType.js';

export default class Stop extends FlinkCommand {
  static override summary = 'Stop a running job with a savepoint.';
  static override description =
    'Like Flink\'s "flink stop": the sources stop after the savepoint, the job ends FINISHED. The savepoint goes to ' +
    '-p <savepointPath> or else state.savepoints.dir; as in Flink, -p may be given without a value. With -d the ' +
    'job is drained (MAX_WATERMARK fires all event-time timers) before the savepoint.';
  static override examples = [
    '<%= config.bin %> stop fd72014d4c864993a2e5a9287b4a9c5d',
    '<%= config.bin %> stop -p /tmp/savepoints --drain fd72014d4c864993a2e5a9287b4a9c5d',
  ];
  static override usage = 'stop [-p [savepointPath]] [-d] [-t canonical|native] <jobId>';

  static override args = {
    first: Args.string({ description: 'Job ID, or with -p the savepoint directory.', ignoreStdin: true }),
    second: Args.string({ description: 'Job ID when -p is given a directory.', ignoreStdin: true }),
  };

  static override flags = {
    savepointPath: Flags.boolean({
      char: 'p',
      summary: 'Savepoint directory (the next argument); optional, default state.savepoints.dir.',
    }),
    drain: Flags.boolean({ char: 'd', summary: 'Send MAX_WATERMARK before taking the savepoint and stopping the pipeline.' }),
    ...formatTypeFlag,
    ...clusterFlags,
  };

  async run(): Promise<Record<string, unknown>> {
    const { args, flags } = await this.parse(Stop, splitOptionalValueFlag(this.argv, 'p', 'savepointPath'));
    const positionals = [args.first, args.second].filter((a): a is string => a !== undefined);
    if (positionals.length === 0) throw new FlinkError('invalid-argument', 'Missing JobID');
    if (positionals.length === 2 && !flags.savepointPath) throw new FlinkError('invalid-argument', `Unexpected argument: ${positionals[1]}`);
    const [targetDirectory, rawJobId] = positionals.length === 2 ? positionals : [undefined, positionals[0]];
    const config = this.loadConfig(flags.property);
    const jobId = this.jobIdOf(rawJobId, config, flags.jobmanager);
    const formatType = parseFormatType(flags.type) ?? 'CANONICAL';
    const client = this.clusterClient(config, flags.jobmanager);

    this.ui.progress(`${flags.drain ? 'Draining job' : 'Suspending job'} "${jobId}" with a ${formatType} savepoint.`);
    this.ui.progress(`Triggering stop-with-savepoint for job ${jobId}.`);
    const location = await this.ui.spin('Waiting for response...', () =>
      client.stopWithSavepoint(jobId, targetDirectory, flags.drain, formatType), savepointAcks(client, jobId));
    this.ui.out(`Savepoint completed. Path: ${location}`);
    return { jobId, savepointPath: location, drain: flags.drain, formatType };
  }
}
