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
    'Like Flink\'s "flink savepoint": the target directory defaults to state.savepoints.dir (with -m, the cluster\'s ' +
    'own default; a target is then passed to the cluster as given). With -d the savepoint is disposed: through the ' +
    'JobManager given with -m, or else locally, without a cluster.';
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
    detached: Flags.boolean({ summary: 'Trigger the savepoint and print its trigger id without waiting (Flink\'s -detached). Ask for the result later with --trigger-id.' }),
    'trigger-id': Flags.string({ summary: 'Report the result of the savepoint with this trigger id (from --detached): waits up to client.timeout, or with --detached answers at once.', helpValue: 'triggerId' }),
    ...formatTypeFlag,
    ...clusterFlags,
  };

  async run(): Promise<Record<string, unknown>> {
    // Flink spells it -detached; the flag parser would read that as -d (dispose) "etached".
    const { args, flags } = await this.parse(Savepoint, this.argv.map((a) => (a === '-detached' ? '--detached' : a)));
    const config = this.loadConfig(flags.property);

    if (flags.dispose !== undefined) {
      const path = flags.dispose;
      if (path.trim() === '') {
        throw new FlinkError('invalid-argument', 'Missing required argument: savepoint path. Usage: flink savepoint -d <savepoint-path>');
      }
      const address = this.jobManagerAddress(config, flags.jobmanager);
      const client = address === undefined ? new ClusterClient({ config, index: this.tryOpenIndex(config) }) : this.clusterClient(config, address);
      this.ui.progress(`Disposing savepoint '${path}'.`);
      const details = await this.ui.spin('Waiting for response...', () => client.disposeSavepoint(path));
      this.ui.out(`Savepoint '${path}' disposed.`);
      return { disposed: path, ...(details ?? {}) };
    }

    if (args.jobId === undefined) throw new FlinkError('invalid-argument', 'Missing JobID. Specify a Job ID to trigger a savepoint.');
    const jobId = this.jobIdOf(args.jobId, config, flags.jobmanager);
    const formatType = parseFormatType(flags.type) ?? 'CANONICAL';
    const client = this.clusterClient(config, flags.jobmanager);
    const triggerId = flags['trigger-id'];
    if (triggerId !== undefined) {
      const r = await this.ui.spin('Waiting for response...', () => client.savepointResult(jobId, triggerId, { wait: !flags.detached }));
      if (r.status === 'IN_PROGRESS') {
        this.ui.out(`Savepoint ${triggerId} for job ${jobId} is still in progress.`);
        return { jobId, triggerId, status: 'IN_PROGRESS' };
      }
      this.ui.out(`Savepoint completed. Path: ${r.location}`);
      return { jobId, triggerId, status: 'COMPLETED', savepointPath: r.location };
    }
    if (flags.detached) {
      this.ui.progress(`Triggering savepoint in detached mode for job ${jobId}.`);
      const id = await client.triggerSavepointDetached(jobId, args.targetDirectory, { formatType });
      this.ui.out(`Successfully trigger manual savepoint, triggerId: ${id}`);
      this.ui.progress(`Its result: flink savepoint --trigger-id ${id} ${jobId}`);
      return { jobId, triggerId: id, status: 'IN_PROGRESS', formatType };
    }
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
