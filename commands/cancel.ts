import { Args, Flags } from '@oclif/core';
import { FlinkError } from '../src/core/FlinkError.js';
import { FlinkCommand } from './base.js';
import { savepointAcks } from './format.js';
import { clusterFlags, formatTypeFlag, splitOptionalValueFlag } from './flags.js';
import { parseFormatType } from '../src/core/SavepointFormatType.js';

export default class Cancel extends FlinkCommand {
  static override summary = 'Cancel a running job.';
  static override description =
    'Like Flink\'s "flink cancel". -s [targetDirectory] (deprecated in Flink in favour of "stop") first takes a ' +
    'savepoint, into targetDirectory or else state.savepoints.dir: "cancel -s <jobId>" uses the default, ' +
    '"cancel -s <dir> <jobId>" the given directory.';
  static override examples = [
    '<%= config.bin %> cancel fd72014d4c864993a2e5a9287b4a9c5d',
    '<%= config.bin %> cancel -s /tmp/savepoints fd72014d4c864993a2e5a9287b4a9c5d',
  ];
  static override usage = 'cancel [-s [targetDirectory]] <jobId>';

  // Positionals are sorted out by hand: with -s the first of two is the directory.
  static override args = {
    first: Args.string({ description: 'Job ID, or with -s the savepoint target directory.', ignoreStdin: true }),
    second: Args.string({ description: 'Job ID when -s is given a directory.', ignoreStdin: true }),
  };

  static override flags = {
    withSavepoint: Flags.boolean({
      char: 's',
      summary: 'Trigger a savepoint and cancel the job; the target directory (the next argument) is optional.',
    }),
    ...formatTypeFlag,
    ...clusterFlags,
  };

  async run(): Promise<Record<string, unknown>> {
    const { args, flags } = await this.parse(Cancel, splitOptionalValueFlag(this.argv, 's', 'withSavepoint'));
    const positionals = [args.first, args.second].filter((a): a is string => a !== undefined);

    if (!flags.withSavepoint) {
      if (positionals.length === 0) throw new FlinkError('invalid-argument', 'Missing JobID. Specify a JobID to cancel a job.');
      if (positionals.length > 1) throw new FlinkError('invalid-argument', `Unexpected argument: ${positionals[1]}`);
      const config = this.loadConfig(flags.property);
      const jobId = this.jobIdOf(positionals[0], config, flags.jobmanager);
      const client = this.clusterClient(config, flags.jobmanager);
      this.ui.progress(`Cancelling job ${jobId}.`);
      await this.ui.spin('Waiting for response...', () => client.cancel(jobId));
      this.ui.out(`Cancelled job ${jobId}.`);
      return { jobId, cancelled: true };
    }

    process.stderr.write('DEPRECATION WARNING: Cancelling a job with savepoint is deprecated. Use "stop" instead.\n');
    if (positionals.length === 0) throw new FlinkError('invalid-argument', 'Missing JobID');
    const [targetDirectory, rawJobId] = positionals.length === 2 ? positionals : [undefined, positionals[0]];
    const config = this.loadConfig(flags.property);
    const jobId = this.jobIdOf(rawJobId, config, flags.jobmanager);
    const formatType = parseFormatType(flags.type) ?? 'CANONICAL';
    const client = this.clusterClient(config, flags.jobmanager);
    this.ui.progress(targetDirectory === undefined
      ? `Cancelling job ${jobId} with ${formatType} savepoint to default savepoint directory.`
      : `Cancelling job ${jobId} with ${formatType} savepoint to ${targetDirectory}.`);
    const location = await this.ui.spin('Waiting for response...', () =>
      client.triggerSavepoint(jobId, targetDirectory, { cancelJob: true, formatType }), savepointAcks(client, jobId));
    this.ui.out(`Cancelled job ${jobId}. Savepoint stored in ${location}.`);
    return { jobId, cancelled: true, savepointPath: location, formatType };
  }
}
