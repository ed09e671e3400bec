import { Args, Flags } from '@oclif/core';
import { ClusterClient } from '../src/client/ClusterClient.js';
import type { Configuration } from '../src/config/Configuration.js';
import { describeError, FlinkError } from '../src/core/FlinkError.js';
import type { CheckpointIndex } from '../src/catalog/CheckpointIndex.js';
import { FlinkCommand } from './base.js';
import { savepointAcks } from './format.js';
import { clusterFlags, formatTypeFlag } from './flags.js';
import { parseFormatType } from '../src/core/SavepointFormatType.js';

export default class Savepoint extends FlinkCommand {
  static override summary = 'Trigger a savepoint for a running job, or dispose an existing one.';
  static override description =
    'Like Flink\'s "flink savepoint": the target directory defaults to state.savepoints.dir. With -d the savepoint ' +
    'is disposed: through the JobManager given with -m, or else locally, without a cluster.';
  static override examples = [
    '<%= config.bin %> savepoint fd72014d4c864993a2e5a9287b4a9c5d /tmp/savepoints',
    '<%= config.bin %> savepoint -d /tmp/savepoints/savepoint-fd7201-0123456789ab',
  ];

  static override args = {
    jobId: Args.string({ description: 'Job ID (32 hex characters).', ignoreStdin: true }),
    targetDirectory: Args.string({ description: 'Directory for the savepoint (default: state.savepoints.dir).', ignoreStdin: true }),
  };

  static override flags = {
    dispose: Flags.string({ char: 'd', summary: 'Path of savepoint to dispose.', helpValue: 'savepointPath' }),
    ...formatTypeFlag,
    ...clusterFlags,
  };

  async run(): Promise<Record<string, unknown>> {
    const { args, flags } = await this.parse(Savepoint);
    const config = this.loadConfig(flags.property);

    if (flags.dispose !== undefined) {
      const path = flags.dispose;
      if (path.trim() === '') {
        throw new FlinkError('invalid-argument', 'Missing required argument: savepoint path. Usage: flink savepoint -d <savepoint-path>');
      }
      const client = new ClusterClient({ config, jobmanager: flags.jobmanager, index: flags.jobmanager ? undefined : this.tryOpenIndex(config) });
      this.ui.progress(`Disposing savepoint '${path}'.`);
      const details = await this.ui.spin('Waiting for response...', () => client.disposeSavepoint(path));
      this.ui.out(`Savepoint '${path}' disposed.`);
      return { disposed: path, ...(details ?? {}) };
    }

    if (args.jobId === undefined) throw new FlinkError('invalid-argument', 'Missing JobID. Specify a Job ID to trigger a savepoint.');
    const jobId = this.jobIdOf(args.jobId, config, flags.jobmanager);
    const formatType = parseFormatType(flags.type) ?? 'CANONICAL';
    const client = this.clusterClient(config, flags.jobmanager);
    this.ui.progress(`Triggering savepoint for job ${jobId}.`);
    const location = await this.ui.spin('Waiting for response...', () =>
      client.triggerSavepoint(jobId, args.targetDirectory, { formatType }), savepointAcks(client, jobId));
    this.ui.out(`Savepoint completed. Path: ${location}`);
    this.ui.out('You can resume your program from this savepoint with the run command.');
    return { jobId, savepointPath: location, formatType };
  }

  /** Local disposal needs no index; without one it only skips the bookkeeping. */
  private tryOpenIndex(config: Configuration): CheckpointIndex | undefined {
    try {
      return this.openIndex(config);
    } catch (e) {
      this.ui.warn(`cannot open the index, the savepoint will not be marked discarded there: ${describeError(e)}`);
      return undefined;
    }
  }
}
