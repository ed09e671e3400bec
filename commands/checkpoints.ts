import { Args, Flags } from '@oclif/core';
import { resolveJob } from '../src/catalog/JobReference.js';
import { historyRows, type HistoryRow } from '../src/catalog/SnapshotHistory.js';
import { FlinkError } from '../src/core/FlinkError.js';
import { FlinkCommand } from './base.js';
import { clusterFlags } from './flags.js';
import { syncRemoteJobs } from '../src/client/RemoteJobs.js';
import { historyTable } from './history.js';

export default class Checkpoints extends FlinkCommand {
  static override summary = 'Show the checkpoint history of a job, from the catalog.';
  static override description =
    'Ours (the web UI\'s checkpoint history in the terminal): every checkpoint the catalog knows of a job, newest ' +
    'first, with id, kind (checkpoint or incremental), status, trigger time, duration, size, format, path and what ' +
    'the job was restored from. A job name means its running job (refused if two run), else its newest run. ' +
    'Discarded checkpoints are shown with -a (the catalog keeps index.checkpoints.history of them per job).';
  static override examples = [
    '<%= config.bin %> checkpoints fd72014d4c864993a2e5a9287b4a9c5d',
    '<%= config.bin %> checkpoints "State machine job" -a --json',
  ];

  static override args = {
    job: Args.string({ description: 'Job ID or job name.', ignoreStdin: true }),
  };

  static override flags = {
    all: Flags.boolean({ char: 'a', summary: 'Include discarded (subsumed or disposed) checkpoints.', default: false }),
    ...clusterFlags,
  };

  async run(): Promise<{ jobId: string; jobName: string; checkpoints: HistoryRow[] }> {
    const { args, flags } = await this.parse(Checkpoints);
    if (args.job === undefined || args.job.trim() === '') throw new FlinkError('invalid-argument', 'Missing job: flink checkpoints <jobId|jobName>');
    const config = this.loadConfig(flags.property);
    const index = this.openIndex(config);
    // -m: what that cluster's checkpoint statistics say now (its own periodic checkpoints, what it subsumed).
    if (flags.jobmanager !== undefined) await syncRemoteJobs(index, this.restClient(config, flags.jobmanager), args.job);
    const job = resolveJob(index, args.job);
    const rows = historyRows(index, [job], { kind: 'CHECKPOINT', all: flags.all });
    this.ui.out(`Checkpoints of job ${job.jobId} (${job.name}, ${job.status}):`);
    if (rows.length === 0) this.ui.out('No checkpoints.');
    else for (const l of historyTable(rows, false)) this.ui.out(l);
    return { jobId: job.jobId, jobName: job.name, checkpoints: rows };
  }
}
