import { Flags } from '@oclif/core';
import type { ListedJob } from '../src/client/ClusterClient.js';
import { isGloballyTerminal } from '../src/core/JobStatus.js';
import { FlinkCommand } from './base.js';
import { clusterFlags } from './flags.js';
import { formatTimestamp } from './format.js';

const RULE = '--------------------------------------------------------------';

export default class List extends FlinkCommand {
  static override summary = 'List running and scheduled jobs.';
  static override description =
    'Like Flink\'s "flink list": running/restarting and scheduled jobs, and with -a also terminated ones. Without -m, ' +
    'jobs come from the index and each running job\'s cluster is asked for its status; a job whose cluster process ' +
    'has died is marked FAILED and reported.';
  static override examples = ['<%= config.bin %> list', '<%= config.bin %> list -a', '<%= config.bin %> list -m 127.0.0.1:8081 --json'];

  static override flags = {
    all: Flags.boolean({ char: 'a', summary: 'Show all jobs, including terminated ones.' }),
    running: Flags.boolean({ char: 'r', summary: 'Show only running jobs.' }),
    scheduled: Flags.boolean({ char: 's', summary: 'Show only scheduled jobs.' }),
    ...clusterFlags,
  };

  async run(): Promise<ListedJob[]> {
    const { flags } = await this.parse(List);
    // Flink: no selection means running and scheduled.
    const none = !flags.all && !flags.running && !flags.scheduled;
    const showRunning = none || flags.running || flags.all;
    const showScheduled = none || flags.scheduled || flags.all;
    const showAll = flags.all;

    const config = this.loadConfig(flags.property);
    const client = this.clusterClient(config, flags.jobmanager);
    const jobs = await this.ui.spin('Waiting for response...', () => client.listJobs({ all: showAll }));

    const scheduled = jobs.filter((j) => j.status === 'CREATED' || j.status === 'INITIALIZING');
    const running = jobs.filter((j) => j.status !== 'UNKNOWN' && !isGloballyTerminal(j.status) && !scheduled.includes(j));
    // Lost jobs are shown even without -a: the user believed them running.
    const terminated = jobs.filter((j) => !running.includes(j) && !scheduled.includes(j) && (showAll || j.lost));

    if (showRunning) this.section('------------------ Running/Restarting Jobs -------------------', running, 'No running jobs.');
    if (showScheduled) this.section('----------------------- Scheduled Jobs -----------------------', scheduled, 'No scheduled jobs.');
    if (terminated.length > 0) this.section('---------------------- Terminated Jobs -----------------------', terminated);

    return [...(showRunning ? running : []), ...(showScheduled ? scheduled : []), ...terminated];
  }

  private section(header: string, jobs: ListedJob[], empty?: string): void {
    if (jobs.length === 0) {
      if (empty) this.ui.out(empty);
      return;
    }
    this.ui.out(header);
    for (const j of sortJobs(jobs)) this.ui.out(this.line(j));
    this.ui.out(RULE);
  }

  private line(j: ListedJob): string {
    const c = this.ui.chalk;
    const status = j.status === 'RUNNING' || j.status === 'FINISHED' ? c.green(j.status)
      : j.status === 'FAILED' || j.status === 'FAILING' ? c.red(j.status)
        : j.status === 'CANCELED' || j.status === 'CANCELLING' ? c.yellow(j.status) : j.status;
    let line = `${formatTimestamp(j.startTime)} : ${j.jobId} : ${j.name} (${status})`;
    if (j.numRestarts) line += c.yellow(` - restarted ${j.numRestarts} time(s)`);
    if (j.stale) line += c.dim(` - its JobManager at ${j.restUrl} is not answering`);
    if (j.checkpointFailures > 0 && !isGloballyTerminal(j.status as never)) {
      line += c.yellow(` - ${j.checkpointFailures} checkpoint(s) failed since the last completed one; last: ${j.lastCheckpointFailure ?? 'unknown cause'}`);
    }
    if (j.checkpointStorage === 'jobmanager') {
      line += c.dim(' - checkpoints in JobManager memory (JobManagerCheckpointStorage): not restorable with run -s once its cluster is gone');
    }
    if (j.status === 'FAILED' && j.failureCause) {
      line += ` - ${j.failureCause}`;
      if (j.logFile) line += `; log: ${j.logFile}`;
    }
    return line;
  }
}

/** Flink orders each section by start time. */
function sortJobs(jobs: ListedJob[]): ListedJob[] {
  return [...jobs].sort((a, b) => a.startTime - b.startTime || a.status.localeCompare(b.status) || a.jobId.localeCompare(b.jobId));
}
