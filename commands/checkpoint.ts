import { Args, Flags } from '@oclif/core';
import { parseJobId } from '../src/client/ClusterClient.js';
import { FlinkError } from '../src/core/FlinkError.js';
import { FlinkCommand } from './base.js';
import { clusterFlags } from './flags.js';

export default class Checkpoint extends FlinkCommand {
  static override summary = 'Trigger a checkpoint of a running job.';
  static override description =
    'Like Flink\'s "flink checkpoint" (1.19+): the checkpoint is taken as configured (aligned or unaligned, ' +
    'exactly-once or at-least-once) and counts like a periodic one; it waits while max-concurrent-checkpoints ' +
    'are in progress. --full asks the state backend for a full (non-incremental) checkpoint.';
  static override examples = [
    '<%= config.bin %> checkpoint fd72014d4c864993a2e5a9287b4a9c5d',
    '<%= config.bin %> checkpoint --full fd72014d4c864993a2e5a9287b4a9c5d',
  ];

  static override args = {
    jobId: Args.string({ description: 'Job ID (32 hex characters).', ignoreStdin: true }),
  };

  static override flags = {
    full: Flags.boolean({ summary: 'Trigger a full checkpoint (Flink\'s CheckpointType FULL) instead of the configured type.', default: false }),
    ...clusterFlags,
  };

  async run(): Promise<Record<string, unknown>> {
    const { args, flags } = await this.parse(Checkpoint);
    if (args.jobId === undefined) throw new FlinkError('invalid-argument', 'Missing JobID. Specify a Job ID to manipulate a checkpoint.');
    const jobId = parseJobId(args.jobId);
    const checkpointType = flags.full ? 'FULL' : 'CONFIGURED';
    const client = this.clusterClient(this.loadConfig(flags.property), flags.jobmanager);
    this.ui.progress(`Triggering checkpoint for job ${jobId}.`);
    const c = await this.ui.spin('Waiting for response...', () => client.triggerCheckpoint(jobId, checkpointType));
    // Flink's lines: the type only when not CONFIGURED ("Checkpoint 7 …", "Checkpoint(FULL) 8 …"), then the resume hint.
    this.ui.out(`Checkpoint${checkpointType === 'CONFIGURED' ? '' : `(${checkpointType})`} ${c.checkpointId} for job ${jobId} completed.`);
    this.ui.out('You can resume your program from this checkpoint with the run command.');
    return { jobId, checkpointId: c.checkpointId, checkpointType, path: c.location };
  }
}
