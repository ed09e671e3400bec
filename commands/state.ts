import { Args, Flags } from '@oclif/core';
import { relative } from 'node:path';
import { loadSnapshot, type LoadedSnapshot } from '../src/checkpoint/Metadata.js';
import { dryRunRestore, type RestorePlan } from '../src/tools/RestoreDryRun.js';
import {
  dumpState, inspectSnapshot, resolveDumpTarget, toReadableJson, verifyDumpTarget, type SnapshotSummary,
} from '../src/tools/SnapshotInspector.js';
import { CoreOptions } from '../src/config/ConfigOptions.js';
import { FlinkError } from '../src/core/FlinkError.js';
import { parseLatestReference, resolveLatest } from '../src/catalog/LatestSnapshot.js';
import { FlinkCommand } from './base.js';
import { ExitCode } from './errors.js';
import { formatBytes, formatTimestamp, table } from './format.js';
import { propertyFlags } from './flags.js';

/** Splits off the program arguments of `--dry-run`: everything after the first `--`. */
export function splitStateArgv(argv: string[]): { cliArgv: string[]; programArgs: string[]; dashdash: boolean } {
  const i = argv.indexOf('--');
  return i < 0 ? { cliArgv: argv, programArgs: [], dashdash: false } : { cliArgv: argv.slice(0, i), programArgs: argv.slice(i + 1), dashdash: true };
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const range = (r: [number, number]) => `${r[0]}-${r[1]}`;

export default class State extends FlinkCommand {
  static override summary = 'Inspect a savepoint or retained checkpoint without running the job.';
  static override description =
    'Prints what a savepoint, chk-N directory or _metadata file holds: job, checkpoint, and per operator its uid, id, ' +
    'parallelism and states with kinds, entry counts and sizes. Every state file is checked against the checksums in ' +
    '_metadata; a damaged snapshot fails with exit code 7. --dump prints one state\'s entries as JSON lines; ' +
    '--dry-run loads a job program (without running it) and reports how a restore from the snapshot would map ' +
    'its state: exit code 0 if "flink run -s" would succeed, 7 if not (state without operator: needs -n; ' +
    'max parallelism changed). Program arguments for --dry-run follow "--".';
  static override examples = [
    '<%= config.bin %> state /tmp/flink-ts/savepoints/savepoint-5e20cb-8b1f6d7ad6a2',
    '<%= config.bin %> state file:/tmp/flink-ts/checkpoints/5e20cb6b0f357591171dfcca2eea09de/chk-12 --json',
    '<%= config.bin %> state /tmp/sp/savepoint-5e20cb-8b1f6d7ad6a2 --dump state --operator state-machine',
    '<%= config.bin %> state /tmp/sp/savepoint-5e20cb-8b1f6d7ad6a2 --dry-run examples/StateMachineExample.ts -p 3 -- --output /tmp/alerts',
  ];

  static override args = {
    path: Args.string({ description: 'Savepoint directory, chk-N directory, _metadata file or file: URI.', required: true }),
  };

  static override flags = {
    dump: Flags.string({ summary: 'Print the entries of this state as JSON lines.', helpValue: 'stateName', exclusive: ['dry-run'] }),
    operator: Flags.string({ summary: 'With --dump: the operator holding the state (uid or operator id).', helpValue: 'uid|operatorId' }),
    'dry-run': Flags.string({ summary: 'Report how restoring the snapshot into this job program would map its state, without running it.', helpValue: 'job.ts' }),
    parallelism: Flags.integer({ char: 'p', summary: 'With --dry-run: the parallelism of the new job; overrides parallelism.default.', min: 1 }),
    allowNonRestoredState: Flags.boolean({ char: 'n', summary: 'With --dry-run: as "run -s -n": state without an operator in the new program is dropped.', default: false }),
    ...propertyFlags,
  };

  async run(): Promise<unknown> {
    const { cliArgv, programArgs, dashdash } = splitStateArgv(this.argv);
    const { flags, args } = await this.parse(
      { flags: State.flags, baseFlags: FlinkCommand.baseFlags, enableJsonFlag: true, args: State.args, strict: true } as unknown as typeof State,
      cliArgv,
    );
    const dryRun = flags['dry-run'];
    if (flags.operator !== undefined && flags.dump === undefined) throw new FlinkError('invalid-argument', '--operator selects the operator of --dump <stateName>; it needs --dump');
    if (dryRun === undefined) {
      if (flags.parallelism !== undefined || flags.allowNonRestoredState) throw new FlinkError('invalid-argument', '-p and -n apply to --dry-run <job.ts> only');
      if (dashdash) throw new FlinkError('invalid-argument', 'Program arguments after "--" apply to --dry-run <job.ts> only');
    }
    const config = this.loadConfig(flags.property);
    let path = args.path;
    if (parseLatestReference(path)) {
      // latest:<jobId|jobName> (ours): the newest intact snapshot the catalog knows, as `run -s latest:` picks it.
      const latest = resolveLatest(this.openIndex(this.loadConfig(flags.property)), path, (p, why) => this.ui.warn(`skipping damaged ${p}: ${why}`));
      this.ui.progress(`Resolved ${path} to ${latest.path}`);
      path = latest.path;
    }
    const snap = loadSnapshot(path);

    if (flags.dump !== undefined) {
      await this.dump(snap, flags.dump, flags.operator);
      return undefined;
    }
    if (dryRun !== undefined) {
      if (flags.parallelism !== undefined) config.set(CoreOptions.DEFAULT_PARALLELISM.key, String(flags.parallelism));
      const plan = await dryRunRestore({ snapshot: snap, jobFile: dryRun, programArgs, config, allowNonRestoredState: flags.allowNonRestoredState });
      this.printPlan(plan);
      if (!plan.restorable) {
        // The report is the result; the exit code and one stderr line say that `run -s` would fail.
        process.exitCode = ExitCode.RESTORE;
        process.stderr.write(`flink: ${plan.error?.message ?? plan.verdict}\n`);
      }
      return plan;
    }
    const summary = inspectSnapshot(snap);
    this.printSummary(summary);
    return summary;
  }

  private printSummary(s: SnapshotSummary): void {
    const ui = this.ui;
    const files = s.operators.reduce((n, o) => n + o.subtasks.length, 0);
    const duration = s.completionTimestamp >= s.triggerTimestamp && s.triggerTimestamp > 0 ? ` (${s.completionTimestamp - s.triggerTimestamp} ms)` : '';
    for (const line of table([
      ['Snapshot:', s.path],
      ['Kind:', `${s.kind} (${s.format})`],
      ['Job ID:', s.jobId],
      ['Job name:', s.jobName],
      ['Checkpoint ID:', String(s.checkpointId)],
      ['Triggered:', `${formatTimestamp(s.triggerTimestamp)}${s.triggerTime ? `  ${s.triggerTime}` : ''}`],
      ['Completed:', `${formatTimestamp(s.completionTimestamp)}${s.completionTime ? `  ${s.completionTime}` : ''}${duration}`],
      ['Max parallelism:', String(s.maxParallelism)],
      ['State size:', `${formatBytes(s.bytes)} in ${plural(files, 'file')}`],
    ])) ui.out(line);
    ui.out();
    ui.out(`Operators (${s.operators.length}):`);
    for (const o of s.operators) {
      ui.out();
      ui.out(`  ${ui.chalk.bold(o.uid ?? '-')}  ${o.operatorId}  '${o.name}'`);
      ui.out(`    parallelism ${o.parallelism}, max parallelism ${o.maxParallelism}, ${formatBytes(o.bytes)}`);
      const rows = [['STATE', 'TYPE', 'KIND', 'ENTRIES'], ...o.states.map((st) => [st.name, st.type, st.kind, String(st.entries)])];
      for (const line of table(rows, [3])) ui.out(`    ${line}`);
      for (const st of o.subtasks) {
        const kg = st.keyGroupRange ? `key groups ${range(st.keyGroupRange)}, ${plural(st.keyedEntries, 'keyed entry', 'keyed entries')}, ` : '';
        ui.out(`    subtask ${st.subtask}: ${kg}${formatBytes(st.bytes)} (${st.file})`);
      }
    }
  }

  private printPlan(p: RestorePlan): void {
    const ui = this.ui;
    const jobFile = relative(process.cwd(), p.job.jobFile) || p.job.jobFile;
    ui.out(`Dry run: restoring ${p.snapshot.kind} ${p.snapshot.path} (job ${p.snapshot.jobId}, checkpoint ${p.snapshot.checkpointId})`);
    ui.out(`into ${jobFile}${p.job.programArgs.length > 0 ? ` ${p.job.programArgs.join(' ')}` : ''}: job '${p.job.jobName}', parallelism.default ${p.job.defaultParallelism}, max parallelism ${p.job.maxParallelism}${p.allowNonRestoredState ? ', with --allowNonRestoredState' : ''}`);
    ui.out();
    ui.out('Snapshot operators -> new program:');
    const rows: string[][] = [];
    for (const o of p.operators) {
      let to: string;
      if (o.status === 'DROPPED') {
        to = `DROPPED: not in the new program, state [${o.states.map((s) => s.name).join(', ')}] ${p.allowNonRestoredState ? 'skipped (-n)' : 'needs -n'}`;
      } else {
        const t = o.target!;
        to = `${t.uid ?? t.operatorId} (by ${o.matchedBy}), parallelism ${o.oldParallelism} -> ${t.parallelism}`;
        if (o.maxParallelismConflict) to += `, MAX PARALLELISM CHANGED ${o.maxParallelismConflict.snapshot} -> ${o.maxParallelismConflict.job}`;
      }
      rows.push([o.uid ?? o.operatorId, `'${o.name}'`, '->', to]);
    }
    for (const line of table(rows)) ui.out(`  ${line}`);
    const empty = p.newOperators.filter((o) => o.state === 'empty');
    ui.out();
    if (empty.length === 0) ui.out('Every operator of the new job gets state from the snapshot.');
    else {
      ui.out('New operators without state in the snapshot (start empty):');
      for (const line of table(empty.map((o) => [o.uid ?? o.operatorId, `'${o.name}'`, `parallelism ${o.parallelism}`]))) ui.out(`  ${line}`);
    }
    for (const o of p.operators) {
      const kg = o.keyGroups;
      if (kg) {
        ui.out();
        ui.out(`Key groups of ${o.uid ?? o.operatorId} (max parallelism ${kg.maxParallelism}): ${kg.oldParallelism} -> ${kg.newParallelism} subtasks${kg.changed ? '' : ', unchanged'}`);
        const kgRows = [
          ...kg.old.map((s) => [`old subtask ${s.subtask}:`, range(s.range), '', plural(s.entries, 'entry', 'entries'), formatBytes(s.bytes)]),
          ...kg.new.map((s) => [
            `new subtask ${s.subtask}:`, range(s.range),
            `<- ${s.from.map((f) => `old ${f.subtask} (${range(f.range)})`).join(', ') || 'nothing'}`,
            plural(s.entries, 'entry', 'entries'), formatBytes(s.bytes),
          ]),
        ];
        for (const line of table(kgRows, [3, 4])) ui.out(`  ${line}`);
      }
      for (const os of o.operatorState ?? []) {
        if (!o.target || (o.oldParallelism === o.target.parallelism && os.mode !== 'UNION')) continue;
        ui.out();
        ui.out(`Operator state ${os.name} (${os.mode}) of ${o.uid ?? o.operatorId}: ${plural(os.entries, 'entry', 'entries')} -> ${os.perNewSubtask.map((n, i) => `subtask ${i}: ${n}`).join(', ')}`);
      }
    }
    for (const w of p.warnings) {
      ui.out();
      ui.out(`Warning: ${w}`);
    }
    ui.out();
    ui.out(`Result: ${p.verdict}`);
  }

  /** Streams the entries as JSON lines, respecting backpressure; a closed pipe (`| head`) ends it quietly. */
  private async dump(snap: LoadedSnapshot, stateName: string, operator: string | undefined): Promise<void> {
    const target = resolveDumpTarget(snap, stateName, operator);
    verifyDumpTarget(snap, target); // a damaged file fails before any line is printed
    const out = process.stdout;
    let closed = false;
    let failure: Error | undefined;
    const onError = (e: NodeJS.ErrnoException) => {
      closed = true;
      if (e.code !== 'EPIPE') failure = e;
    };
    out.on('error', onError);
    // One write in flight at a time, each awaited: the reader's pace sets ours, so memory stays flat.
    const flush = (text: string) => new Promise<void>((resolve) => {
      if (closed) resolve();
      else out.write(text, () => resolve());
    });
    try {
      let buf = '';
      for (const batch of dumpState(snap, target)) {
        for (const e of batch) buf += `${toReadableJson(e)}\n`;
        if (buf.length >= 1 << 16) {
          await flush(buf);
          buf = '';
          if (closed) return;
        }
      }
      if (buf !== '') await flush(buf);
    } finally {
      out.off('error', onError);
    }
    if (failure) throw new FlinkError('io', `Cannot write to stdout: ${failure.message}`);
  }
}
