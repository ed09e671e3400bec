import { Args, Flags } from '@oclif/core';
import { awaitExecutionResult, submitJar } from '../src/client/JarSubmission.js';
import { recordRemoteJob, syncRemoteJobs } from '../src/client/RemoteJobs.js';
import { launchDetached } from '../src/client/DetachedLauncher.js';
import { runJob } from '../src/client/JobRunner.js';
import { CoreOptions, FlinkTsOptions, StateRecoveryOptions } from '../src/config/ConfigOptions.js';
import { RestClient } from '../src/rest/RestClient.js';
import { Configuration } from '../src/config/Configuration.js';
import { FlinkError } from '../src/core/FlinkError.js';
import { parseLatestReference, resolveLatest } from '../src/catalog/LatestSnapshot.js';
import { isRunning } from '../src/catalog/JobReference.js';
import { FlinkCommand } from './base.js';
import { captureJobGraph } from '../src/tools/RestoreDryRun.js';
import { defaultRunnerJar, ensureRunnerJar, RUNNER_JAR_KEY, submitTsJob } from '../src/flink/RunnerSubmission.js';
import { propertyFlags } from './flags.js';

/** Flags of `run` that take a value, so the job file can be told apart from flag values. */
const VALUE_FLAGS = new Set([
  '-p', '--parallelism', '-s', '--fromSavepoint', '-D', '--property', '-rm', '--restoreMode', '-cm', '--claimMode',
  '-m', '--jobmanager', '-c', '--class',
]);

/**
 * Flink stops option parsing at the job file: what follows are the program's own arguments, even
 * when they look like flags (`run job.ts -p 3` passes `-p 3` to the program).
 */
export function splitRunArgv(argv: string[]): { cliArgv: string[]; programArgs: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') return { cliArgv: argv.slice(0, i).concat(argv.slice(i + 1, i + 2)), programArgs: argv.slice(i + 2) };
    if (VALUE_FLAGS.has(a)) {
      i++;
      continue;
    }
    if (!a.startsWith('-') || a === '-') return { cliArgv: argv.slice(0, i + 1), programArgs: argv.slice(i + 1) };
  }
  return { cliArgv: argv, programArgs: [] };
}

/** Flink's restore modes; LEGACY (ownership left undefined) is gone since Flink 2.0 and is refused. */
export function parseRestoreMode(v: string): 'CLAIM' | 'NO_CLAIM' {
  const m = v.trim().toUpperCase();
  if (m === 'CLAIM' || m === 'NO_CLAIM') return m;
  if (m === 'LEGACY') throw new FlinkError('invalid-argument', "Restore mode 'legacy' was removed in Flink 2.0: use claim or no_claim");
  throw new FlinkError('invalid-argument', `Unknown restore mode '${v}': expected claim or no_claim`);
}

export default class Run extends FlinkCommand {
  static override summary = 'Compiles and runs a job program on a local mini-cluster, or a Java job JAR on a Flink cluster (-m).';
  static override description =
    'The job file (.ts or .js) builds a DataStream program and calls env.execute(). Arguments after the job file are passed to the program (process.argv.slice(2)).';
  static override strict = false;
  static override examples = [
    '<%= config.bin %> run examples/WordCount.ts',
    '<%= config.bin %> run -d -p 2 examples/StateMachineExample.ts --output /tmp/out',
    '<%= config.bin %> run -s /tmp/flink-ts/savepoints/savepoint-1a2b3c-0123456789ab examples/StateMachineExample.ts',
  ];

  static override flags = {
    ...propertyFlags,
    detached: Flags.boolean({ char: 'd', summary: 'If present, runs the job in detached mode.', default: false }),
    parallelism: Flags.integer({ char: 'p', summary: 'The parallelism with which to run the program; overrides parallelism.default.', min: 1 }),
    fromSavepoint: Flags.string({ char: 's', summary: 'Path to a savepoint or retained checkpoint (directory or _metadata) to restore the job from.' }),
    restoreMode: Flags.string({
      summary: 'With -s: claim (the job owns the snapshot and deletes it once subsumed) or no_claim (default: never deleted by the job; its first checkpoint is full). Short form -rm.',
      helpValue: 'claim|no_claim',
    }),
    allowNonRestoredState: Flags.boolean({ char: 'n', summary: 'Allow to skip savepoint state that cannot be restored because the operator was removed from the program.', default: false }),
    jobmanager: Flags.string({
      char: 'm',
      summary: 'Address of the Flink JobManager (host:port) to submit a JAR to; rest.address/rest.port of the configuration when set.',
      helpValue: 'host:port',
    }),
    target: Flags.string({ summary: 'remote: a TypeScript job runs on the Flink cluster of -m or rest.address/rest.port (Flink\'s -t/--target).', options: ['remote', 'local'], hidden: true }),
    class: Flags.string({ char: 'c', summary: 'With a JAR: class with the program entry point (default: the JAR manifest\'s Main-Class).', helpValue: 'classname' }),
    shutdownOnAttachedExit: Flags.boolean({ summary: 'Accepted for compatibility: an attached local job always ends with its client.', default: false, hidden: true }),
  };

  static override args = {
    jobFile: Args.string({ description: 'The job program: a .ts or .js module, or a Java job JAR for a Flink cluster (-m).', required: true }),
  };

  async run(): Promise<Record<string, unknown>> {
    const split = splitRunArgv(this.argv);
    const programArgs = split.programArgs;
    // Flink's two-letter short option, which the flag parser does not know.
    // -cm/--claimMode: Flink 2.x's name of the same option.
    const cliArgv = split.cliArgv.map((a) => (a === '-rm' || a === '-cm' || a === '--claimMode' ? '--restoreMode' : a));
    // Parse only what precedes the program arguments; the parser must not see those.
    const { flags, args } = await this.parse(
      { flags: Run.flags, baseFlags: FlinkCommand.baseFlags, enableJsonFlag: true, args: Run.args, strict: true } as unknown as typeof Run,
      cliArgv,
    );
    const config = this.loadConfig(flags.property);
    if (args.jobFile.toLowerCase().endsWith('.jar')) return this.runJar(args.jobFile, programArgs, config, flags);
    if (flags.class !== undefined) {
      throw new FlinkError('invalid-argument', `-c is for Java job JARs on a Flink cluster; ${args.jobFile} is a flink-ts program`);
    }
    // A TypeScript job on an Apache Flink cluster: through the flink-ts runner JAR (src/flink/RunnerSubmission.ts).
    if (flags.jobmanager !== undefined || flags.target === 'remote') {
      return this.runJar(args.jobFile, programArgs, config, { ...flags, jobmanager: this.jobManagerAddress(config, flags.jobmanager) }, { typescript: true });
    }
    if (flags.parallelism !== undefined) config.set(CoreOptions.DEFAULT_PARALLELISM.key, String(flags.parallelism));
    if (flags.restoreMode !== undefined) config.set(StateRecoveryOptions.CLAIM_MODE.key, parseRestoreMode(flags.restoreMode));
    const jobFile = args.jobFile;
    let savepointPath = flags.fromSavepoint;
    if (savepointPath !== undefined && parseLatestReference(savepointPath)) {
      // -s latest:<jobId|jobName> (ours): the newest intact snapshot in the catalog, checked against its checksums.
      const index = this.openIndex(config);
      const latest = resolveLatest(index, savepointPath, (p, why) => this.ui.warn(`skipping damaged snapshot ${p}: ${why}`));
      const owner = index.getJob(latest.jobId);
      if (config.get(StateRecoveryOptions.CLAIM_MODE) === 'CLAIM' && latest.kind === 'CHECKPOINT' && owner && isRunning(owner)) {
        // Claiming would let the new job delete a checkpoint the running one still owns and may subsume.
        throw new FlinkError('conflict', `Refusing to claim ${latest.path}: it is a checkpoint of job ${owner.jobId}, which is still ${owner.status}; stop it first or restore with --restoreMode no_claim`);
      }
      this.ui.progress(`Restoring from ${latest.kind === 'SAVEPOINT' ? 'savepoint' : 'checkpoint'} ${latest.path} (the newest intact one of job ${latest.jobName}, ${latest.jobId}).`);
      savepointPath = latest.path;
    }
    return flags.detached
      ? this.runDetached(jobFile, programArgs, config.toMap(), savepointPath, flags.allowNonRestoredState)
      : this.runAttached(jobFile, programArgs, config, savepointPath, flags.allowNonRestoredState);
  }

  private async runAttached(
    jobFile: string, programArgs: string[], config: Configuration, savepointPath: string | undefined, allowNonRestoredState: boolean,
  ): Promise<Record<string, unknown>> {
    let interrupted = false;
    let cancel: () => void = () => {};
    const cancelSignal = new Promise<void>((r) => (cancel = r));
    const onSigint = () => {
      if (interrupted) process.exit(130); // a second Ctrl-C does not wait
      interrupted = true;
      this.ui.progress('Cancelling the job (Ctrl-C again to exit at once)...');
      cancel();
    };
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigint);
    let submitted: { jobId: string; restUrl: string; logFile: string } | undefined;
    const restore = savepointPath !== undefined && this.ui.animated ? this.showRestore(savepointPath, config, () => submitted) : undefined;
    // With --json, stdout carries only the JSON result; the job's print() output goes to stderr.
    const stdout = this.jsonEnabled() ? (t: string) => process.stderr.write(t) : (t: string) => process.stdout.write(t);
    try {
      const result = await runJob({
        jobFile, programArgs, config, savepointPath, allowNonRestoredState, stdout, cancelSignal,
        onProgress: restore?.phase,
        onSubmitted: (info) => {
          submitted = info;
          this.ui.out(`Job has been submitted with JobID ${info.jobId}`);
        },
      });
      if (result.status === 'CANCELED') {
        if (interrupted) process.exitCode = 130;
        else throw new FlinkError('job-failed', `Job ${result.jobId} was cancelled.`);
        this.ui.out(`Job with JobID ${result.jobId} has been cancelled.`);
      } else {
        this.ui.out('Program execution finished');
        this.ui.out(`Job with JobID ${result.jobId} has finished.`);
        this.ui.out(`Job Runtime: ${result.netRuntime} ms`);
      }
      return { jobId: result.jobId, status: result.status, netRuntime: result.netRuntime, restUrl: submitted?.restUrl, logFile: submitted?.logFile };
    } finally {
      restore?.done();
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigint);
    }
  }

  /**
   * On a TTY, a restore shows what it is doing until every subtask runs: verifying the snapshot, deploying,
   * then how many subtasks have restored their state and run (from the job's REST details).
   */
  private showRestore(savepointPath: string, config: Configuration, submitted: () => { jobId: string; restUrl: string } | undefined) {
    let phase = 'loading the program';
    let done!: () => void;
    const running = new Promise<void>((r) => (done = r));
    const token = config.getOptional(FlinkTsOptions.REST_AUTH_TOKEN);
    void this.ui.spin(`Restoring from ${savepointPath}`, () => running, async () => {
      const job = submitted();
      if (!job) return phase;
      const d = await new RestClient(job.restUrl, { timeoutMs: 2_000, token }).jobDetails(job.jobId);
      const total = d.vertices.reduce((n, v) => n + v.parallelism, 0);
      const up = d.vertices.reduce((n, v) => n + v.tasks.RUNNING + v.tasks.FINISHED, 0);
      if (d.status !== 'CREATED' && d.status !== 'INITIALIZING' && up === total) done();
      return `restoring state: ${up}/${total} subtasks running`;
    });
    return { phase: (what: string) => void (phase = what), done };
  }

  /** Starts the cluster process in the background and returns once it reports the job as submitted. */
  private async runDetached(
    jobFile: string, programArgs: string[], config: Record<string, string>, savepointPath: string | undefined, allowNonRestoredState: boolean,
  ): Promise<Record<string, unknown>> {
    const job = await this.ui.spin('Submitting the job...', () => launchDetached({ jobFile, programArgs, config, savepointPath, allowNonRestoredState }));
    this.ui.out(`Job has been submitted with JobID ${job.jobId}`);
    return { jobId: job.jobId, restUrl: job.restUrl, logFile: job.logFile, outFile: job.outFile, pid: job.pid, detached: true };
  }

  /**
   * The program runs here up to execute() (its StreamGraph, as for `flink info`); what the runner cannot run is
   * refused before any upload; then the runner JAR (uploaded once per cluster) runs the plan and the bundle.
   */
  private async submitTypeScript(
    jobFile: string, programArgs: string[], config: Configuration, rest: RestClient,
    o: { parallelism?: number; savepointPath?: string; allowNonRestoredState: boolean; claimMode?: 'CLAIM' | 'NO_CLAIM'; dynamicProperties?: string[] },
  ): Promise<{ jobId: string }> {
    const { streamGraph } = await captureJobGraph(jobFile, programArgs, config);
    const runnerJar = ensureRunnerJar(config.toMap()[RUNNER_JAR_KEY] ?? defaultRunnerJar(), (l) => this.ui.progress(l));
    return this.ui.spin('Submitting the job...', () => submitTsJob(rest, { jobFile, programArgs, graph: streamGraph, runnerJar, ...o }));
  }

  /**
   * A Java job JAR on an Apache Flink cluster (-m, or rest.address/rest.port): uploaded and run through its REST
   * API. Attached, waits for the job's end as Flink's CLI does (Ctrl-C stops waiting; the job keeps running).
   */
  private async runJar(
    jarFile: string, programArgs: string[], config: Configuration,
    flags: {
      jobmanager?: string; class?: string; parallelism?: number; fromSavepoint?: string; restoreMode?: string;
      allowNonRestoredState: boolean; detached: boolean; property?: string[];
    },
    opts: { typescript?: boolean } = {},
  ): Promise<Record<string, unknown>> {
    const address = this.jobManagerAddress(config, flags.jobmanager);
    if (address === undefined) throw new FlinkError('invalid-argument', `${opts.typescript ? '--target remote' : 'A JAR'} runs on a Flink cluster: give its address with -m host:port (or rest.address/rest.port)`);
    const claimMode = flags.restoreMode === undefined ? undefined : parseRestoreMode(flags.restoreMode);
    const rest = this.restClient(config, address);
    let savepointPath = flags.fromSavepoint;
    const latestRef = savepointPath !== undefined ? parseLatestReference(savepointPath) : undefined;
    if (latestRef) {
      // -s latest…:<jobId|jobName> on a cluster: the catalog's newest snapshot of that cluster's job, refreshed from
      // its checkpoint statistics first; the path goes to the cluster as it reported it, and the cluster checks it.
      const index = this.openIndex(config);
      await syncRemoteJobs(index, rest, latestRef.ref);
      const latest = resolveLatest(index, savepointPath!, undefined, { cluster: rest.baseUrl });
      const owner = index.getJob(latest.jobId);
      if (claimMode === 'CLAIM' && latest.kind === 'CHECKPOINT' && owner && isRunning(owner)) {
        throw new FlinkError('conflict', `Refusing to claim ${latest.path}: it is a checkpoint of job ${owner.jobId}, which is still ${owner.status}; stop it first or restore with --restoreMode no_claim`);
      }
      this.ui.progress(`Restoring from ${latest.kind === 'SAVEPOINT' ? 'savepoint' : 'checkpoint'} ${latest.path} (the newest one of job ${latest.jobName}, ${latest.jobId}, on ${rest.baseUrl}).`);
      savepointPath = latest.path;
    }
    const { jobId } = opts.typescript
      ? await this.submitTypeScript(jarFile, programArgs, config, rest, { parallelism: flags.parallelism, savepointPath, allowNonRestoredState: flags.allowNonRestoredState, claimMode, dynamicProperties: flags.property })
      : await this.ui.spin('Submitting the job...', () => submitJar(rest, {
        jarFile, entryClass: flags.class, programArgs, parallelism: flags.parallelism, savepointPath,
        allowNonRestoredState: flags.allowNonRestoredState, claimMode, dynamicProperties: flags.property,
      }));
    const index = this.openIndexQuietly(config);
    if (index) await recordRemoteJob(index, rest, jobId, { restoredFrom: savepointPath ?? null });
    this.ui.out(`Job has been submitted with JobID ${jobId}`);
    if (flags.detached) return { jobId, jobmanager: rest.baseUrl, detached: true };

    const stopWaiting = new AbortController();
    const onSigint = () => {
      if (stopWaiting.signal.aborted) process.exit(130);
      this.ui.progress(`Stopped waiting; job ${jobId} keeps running on ${rest.baseUrl} (flink cancel -m ${address} ${jobId})`);
      stopWaiting.abort();
      process.exitCode = 130;
    };
    process.on('SIGINT', onSigint);
    try {
      const result = await awaitExecutionResult(rest, jobId, { signal: stopWaiting.signal });
      if (result === undefined) return { jobId, status: 'RUNNING', jobmanager: rest.baseUrl, interrupted: true }; // exit 130
      if (index) await recordRemoteJob(index, rest, jobId);
      if (result.applicationStatus === 'FAILED') throw new FlinkError('job-failed', `Job ${jobId} failed: ${result.failureCause ?? 'unknown cause'}`);
      if (result.applicationStatus === 'CANCELED') throw new FlinkError('job-failed', `Job ${jobId} was cancelled.`);
      this.ui.out('Program execution finished');
      this.ui.out(`Job with JobID ${jobId} has finished.`);
      this.ui.out(`Job Runtime: ${result.netRuntime} ms`);
      return { jobId, status: 'FINISHED', netRuntime: result.netRuntime, jobmanager: rest.baseUrl };
    } finally {
      process.off('SIGINT', onSigint);
    }
  }
}
