import { Args, Flags } from '@oclif/core';
import { jobsReferencedBy } from '../src/catalog/JobReference.js';
import { historyRows, type HistoryRow } from '../src/catalog/SnapshotHistory.js';
import { pruneSavepoints, type PruneResult } from '../src/client/SavepointRetention.js';
import { FlinkTsOptions } from '../src/config/ConfigOptions.js';
import { DURATION_EXPECTED, tryParseDuration } from '../src/config/Duration.js';
import { FlinkError } from '../src/core/FlinkError.js';
import { FlinkCommand } from './base.js';
import { ExitCode } from './errors.js';
import { formatTimestamp } from './format.js';
import { clusterFlags } from './flags.js';
import { syncRemoteJobs } from '../src/client/RemoteJobs.js';
import { historyTable } from './history.js';

export default class Savepoints extends FlinkCommand {
  static override summary = 'List savepoints from the catalog, or prune them by the retention policy.';
  static override description =
    'Ours: every savepoint the catalog knows, newest first (all jobs, or every run of one job name or the one job ' +
    'of an id), with -a also disposed ones. --prune disposes the oldest completed savepoints of each job name beyond ' +
    '--max-count (default state.savepoints.history.max-count, 10) or older than --max-age (default ' +
    'state.savepoints.history.max-age, unset), always keeping the newest intact one of each job name and any a ' +
    'running job was restored from; --dry-run only says what it would dispose. Exit code 1 if a disposal failed.';
  static override examples = [
    '<%= config.bin %> savepoints',
    '<%= config.bin %> savepoints "State machine job" --json',
    '<%= config.bin %> savepoints --prune --max-count 5 --max-age 7d',
    '<%= config.bin %> savepoints --prune "State machine job" --dry-run',
  ];

  static override args = {
    job: Args.string({ description: 'Job ID or job name (default: every job).', ignoreStdin: true }),
  };

  static override flags = {
    all: Flags.boolean({ char: 'a', summary: 'Include disposed savepoints.', default: false }),
    prune: Flags.boolean({ summary: 'Dispose savepoints beyond the retention policy.', default: false }),
    'max-count': Flags.string({ summary: 'With --prune: newest savepoints to keep per job name (>= 1).', helpValue: 'N', dependsOn: ['prune'] }),
    'max-age': Flags.string({ summary: 'With --prune: dispose savepoints older than this (e.g. 7d, 12 h).', helpValue: 'duration', dependsOn: ['prune'] }),
    'dry-run': Flags.boolean({ summary: 'With --prune: print what would be disposed, dispose nothing.', default: false, dependsOn: ['prune'] }),
    ...clusterFlags,
  };

  async run(): Promise<{ savepoints: HistoryRow[] } | PruneResult> {
    const { args, flags } = await this.parse(Savepoints);
    const config = this.loadConfig(flags.property);
    const ref = args.job !== undefined && args.job.trim() !== '' ? args.job : undefined;
    if (flags.prune) {
      if (flags.jobmanager !== undefined) {
        throw new FlinkError('invalid-argument', '--prune disposes the savepoints of local jobs; a remote cluster\'s are disposed through it: flink savepoint -m <address> -d <path>');
      }
      const maxCount = flags['max-count'] !== undefined ? parseCount(flags['max-count']) : config.get(FlinkTsOptions.SAVEPOINT_HISTORY_MAX_COUNT);
      const maxAgeMs = flags['max-age'] !== undefined ? parseAge(flags['max-age']) : config.get(FlinkTsOptions.SAVEPOINT_HISTORY_MAX_AGE);
      const index = this.openIndex(config);
      const result = await pruneSavepoints(index, { maxCount, maxAgeMs }, { ref, dryRun: flags['dry-run'] });
      const verb = result.dryRun ? 'Would dispose' : 'Disposed';
      for (const d of result.disposed) this.ui.out(`${verb} savepoint ${d.path} (job ${d.jobName}, ${d.jobId}, triggered ${formatTimestamp(d.triggerTime)}): ${d.reason}`);
      for (const f of result.failed) this.ui.warn(`could not dispose savepoint ${f.path}: ${f.error}; it stays in the catalog`);
      const kept = result.kept.filter((k) => k.reason !== 'within the policy');
      for (const k of kept) this.ui.out(`Kept savepoint ${k.path} (job ${k.jobName}): ${k.reason}`);
      this.ui.out(`${verb} ${result.disposed.length} savepoint(s), kept ${result.kept.length}${result.failed.length ? `, ${result.failed.length} failed` : ''}.`);
      if (result.failed.length > 0) process.exitCode = ExitCode.FAILED;
      return result;
    }
    const index = this.openIndex(config);
    if (flags.jobmanager !== undefined) await syncRemoteJobs(index, this.restClient(config, flags.jobmanager), ref);
    const jobs = ref === undefined ? index.listJobs() : jobsReferencedBy(index, ref);
    const rows = historyRows(index, jobs, { kind: 'SAVEPOINT', all: flags.all });
    if (rows.length === 0) this.ui.out('No savepoints.');
    else for (const l of historyTable(rows, true)) this.ui.out(l);
    return { savepoints: rows };
  }
}

function parseCount(s: string): number {
  const n = /^\s*\d+\s*$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n)) throw new FlinkError('invalid-argument', `Invalid --max-count '${s}': expected a whole number of savepoints, at least 1`);
  if (n < 1) throw new FlinkError('invalid-argument', `Refusing --max-count ${n}: it would remove the last savepoint of every job name; the prune always keeps at least 1`);
  return n;
}

function parseAge(s: string): number {
  const ms = tryParseDuration(s);
  if (ms === undefined) throw new FlinkError('invalid-argument', `Invalid --max-age '${s}': expected ${DURATION_EXPECTED} or '7d'`);
  return ms;
}
