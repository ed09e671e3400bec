/**
 * The chaos harness: runs ChaosJob detached with the exactly-once FileSink, kills its cluster process with
 * SIGKILL — at seeded random moments, and exactly at each step of writing a checkpoint through the fault
 * points of src/core/FaultInjection.ts (FLINK_TS_FAULT) — finds the checkpoint to resume from through
 * the index (`flink list -a --json`: `latestCheckpoint`), resumes with `flink run -d -s`, and repeats until the
 * job finishes. The committed output must then equal a failure-free run's, byte for byte (lines sorted:
 * which part file a line lands in depends on checkpoint timing; the set of lines does not).
 *
 * After every kill it also checks the crash-safety invariants: the dead job is reported lost; the recovery
 * point is a complete snapshot (valid `_metadata`, every state file present with its checksum); it never goes
 * back to an older checkpoint; no partial `chk-N` folder of the dead job is left behind.
 *
 * Bounded mode (`--bounded`): each round's job has a bounded input and ends by itself at the end of it (FLIP-147's
 * final checkpoint commits the last data), not with `flink stop`; kills also land at the end of input, at the
 * sinks' pre-commit and commit, and after the final commit (`task.final-checkpoint`). The committed output must
 * equal the model's for the whole input, each line once.
 *
 * Used by test/e2e/chaos.test.ts (quick mode) and test/chaos/run.ts (`npm run chaos -- --kills 100 --seed 42`).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  cleanup, committedLines, createWorkspace, flink, readSnapshot, recordsEmittedAt, ROOT, savepointPathFrom, sleep, waitFor, withArgs,
  type Workspace,
} from '../e2e/helpers.js';
import { FAULT_POINTS } from '../../src/core/FaultInjection.js';

/** Points a bounded round also kills at: the end of input, the FileSink's two phases, after the final commit. */
export const BOUNDED_FAULT_POINTS = ['sink.end-input', 'file.pre-commit', 'file.commit', 'task.final-checkpoint'] as const;

export const CHAOS_JOB = join(ROOT, 'test', 'chaos', 'ChaosJob.ts');

export interface ChaosOptions {
  /** Kills to survive in total (fault-point kills that fired and random ones; unfired fault kills come on top). */
  kills: number;
  seed: number;
  /** Records of the failure-free reference run that validates expectedLines(). */
  count?: number;
  /** Kills per round; a round then ends with `flink stop` and the comparison. */
  killsPerRound?: number;
  rate?: number;
  /** Random kills happen this long after the (re)submission returned, uniformly. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Share of kills made by a fault point rather than at a random moment (0..1). */
  faultShare?: number;
  /** Start with one kill at every fault point, in order. */
  everyPointFirst?: boolean;
  /** Rounds of `boundedCount` records that end at the end of input (FLIP-147) instead of with `flink stop`. */
  bounded?: boolean;
  /** Records per bounded round (default 4000). */
  boundedCount?: number;
  log?: (line: string) => void;
}

export interface ChaosResult {
  seed: number;
  kills: number;
  randomKills: number;
  /** Kills by each fault point that fired (confirmed by its line in the cluster's .out file). */
  faultKills: Record<string, number>;
  /** Fault kills that did not fire in time (the process was killed from outside instead). */
  faultsNotReached: number;
  /** With everyPointFirst: points that did not fire in any of their attempts. */
  pointsNeverReached: string[];
  rounds: number;
  resumes: number;
  records: number;
  linesCompared: number;
  durationMs: number;
}

/** mulberry32: a small seeded PRNG, so a run is reproducible from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const CHAOS_CONFIG: Record<string, string> = {
  'execution.checkpointing.interval': '150 ms',
  'state.checkpoints.num-retained': '3',
  'parallelism.default': '2',
  'restart-strategy.type': 'fixed-delay',
  'restart-strategy.fixed-delay.attempts': '3',
  'restart-strategy.fixed-delay.delay': '100 ms',
  // CHAOS_STATE_BACKEND=embedded runs the same kills against the embedded backend, incremental checkpoints on.
  ...(process.env.CHAOS_STATE_BACKEND ? { 'state.backend.type': process.env.CHAOS_STATE_BACKEND, 'execution.checkpointing.incremental': 'true' } : {}),
};

interface Listed {
  jobId: string;
  status: string;
  pid: number | null;
  lost: boolean;
  latestCheckpoint: string | null;
  failureCause: string | null;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSyncSafe(`/proc/${pid}/stat`);
    return !stat || !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

function readFileSyncSafe(p: string): string | undefined {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
}

async function listed(ws: Workspace, jobId: string): Promise<Listed> {
  let r = await flink(ws, ['list', '-a', '--json'], { timeoutMs: 60_000 });
  // A loaded machine can starve one CLI process past its timeout (-1): that is not what is under test.
  for (let i = 0; i < 2 && r.exitCode === -1; i++) r = await flink(ws, ['list', '-a', '--json'], { timeoutMs: 120_000 });
  if (r.exitCode !== 0) throw new Error(`flink list failed (${r.exitCode}): ${r.stderr}`);
  const j = (JSON.parse(r.stdout) as Listed[]).find((x) => x.jobId === jobId);
  if (!j) throw new Error(`job ${jobId} is not in flink list -a`);
  return j;
}

function checkpointId(dir: string): number {
  return readSnapshot(dir).checkpointId;
}

/**
 * What an uninterrupted run commits for the first `m` records, sorted: record i goes to key i % keys, the n-th
 * record of a key makes `key,n,sum`. Checked against a real failure-free run once per harness run.
 */
export function expectedLines(m: number, keys = 16): string[] {
  return recordLines(0, m, keys).sort();
}

/** The lines of records from..to-1 (in record order), as an uninterrupted run commits them. */
export function recordLines(from: number, to: number, keys = 16): string[] {
  const count = new Array<number>(keys).fill(0);
  const sum = new Array<number>(keys).fill(0);
  const out: string[] = [];
  for (let i = 0; i < to; i++) {
    const k = i % keys;
    const line = `${k},${++count[k]!},${(sum[k]! += i)}`;
    if (i >= from) out.push(line);
  }
  return out;
}

/** The committed output of one uninterrupted attached run. */
export async function reference(count: number): Promise<string[]> {
  const ws = createWorkspace(CHAOS_CONFIG);
  try {
    const out = join(ws.dir, 'reference');
    const r = await flink(ws, ['run', CHAOS_JOB, '--output', out, '--count', String(count), '--rate', '1000000'], { timeoutMs: 120_000 });
    if (r.exitCode !== 0) throw new Error(`reference run failed (${r.exitCode}): ${r.stderr}`);
    return committedLines(out);
  } finally {
    await cleanup(ws);
  }
}

export async function runChaos(o: ChaosOptions): Promise<ChaosResult> {
  const started = Date.now();
  const log = o.log ?? (() => {});
  const rnd = prng(o.seed);
  const count = o.count ?? 20_000;
  const rate = o.rate ?? 4_000;
  const perRound = o.killsPerRound ?? 15;
  const minDelay = o.minDelayMs ?? 200;
  const maxDelay = o.maxDelayMs ?? 1_500;
  const faultShare = o.faultShare ?? 0.5;
  const bounded = !!o.bounded;
  const boundedCount = o.boundedCount ?? 4000;
  const points: readonly string[] = bounded ? [...FAULT_POINTS, ...BOUNDED_FAULT_POINTS] : FAULT_POINTS;
  // Unbounded rounds end with `flink stop`; bounded ones at the end of their input. The failure-free reference
  // of a bounded run validates the model.
  const reality = await reference(count);
  if (Buffer.compare(Buffer.from(reality.join('\n')), Buffer.from(expectedLines(count).join('\n'))) !== 0) {
    throw new Error(`the failure-free run of ${count} records did not commit expectedLines(${count})`);
  }
  const res: ChaosResult = {
    seed: o.seed, kills: 0, randomKills: 0, faultKills: {}, faultsNotReached: 0, pointsNeverReached: [], rounds: 0, resumes: 0, records: 0, linesCompared: 0, durationMs: 0,
  };
  // A targeted point that does not fire in time is tried again (at its first pass), up to TARGET_ATTEMPTS times.
  const TARGET_ATTEMPTS = 3;
  const targeted: { point: string; attempt: number }[] = o.everyPointFirst ? points.map((point) => ({ point, attempt: 1 })) : [];

  while (res.kills < o.kills || targeted.length > 0) {
    res.rounds++;
    const ws = createWorkspace(CHAOS_CONFIG);
    try {
      const out = join(ws.dir, 'output');
      const args = withArgs([], { output: out, count: String(bounded ? boundedCount : 1e12), rate: String(rate) });
      const roundEnd = Math.min(o.kills, res.kills + perRound);
      let from: string | undefined;
      let fromId = 0;
      let finalSavepoint: string | undefined;
      for (;;) {
        // Pick how this attempt dies (unless the kill budget is spent and no targeted point is left).
        const killing = res.kills < roundEnd || targeted.length > 0;
        let fault: string | undefined;
        let target: { point: string; attempt: number } | undefined;
        if (killing && (targeted.length > 0 || rnd() < faultShare)) {
          target = targeted.shift();
          const point = target?.point ?? points[Math.floor(rnd() * points.length)]!;
          // State files: several per checkpoint in a thread; the rest: one pass per checkpoint; the end of input
          // once per sink subtask (one per thread), the final checkpoint once per task. A retry takes the first.
          const passes = point.startsWith('state-file') ? 6 : point === 'sink.end-input' ? 1 : point === 'task.final-checkpoint' ? 2 : 3;
          const nth = target && target.attempt > 1 ? 1 : 1 + Math.floor(rnd() * passes);
          fault = `${point}:${nth}:kill`;
        }
        const delay = minDelay + Math.floor(rnd() * (maxDelay - minDelay));
        const runArgs = ['run', '-d', '--json', ...(from ? ['-s', from] : []), CHAOS_JOB, ...args];
        const sub = await flink(ws, runArgs, { timeoutMs: 60_000, env: fault ? { FLINK_TS_FAULT: fault } : {} });
        if (sub.exitCode !== 0) throw new Error(`resubmission failed (seed ${o.seed}, from ${from ?? 'scratch'}): exit ${sub.exitCode}: ${sub.stderr}`);
        const { jobId, pid, outFile } = JSON.parse(sub.stdout) as { jobId: string; pid: number; outFile: string };
        if (!/^[0-9a-f]{32}$/.test(jobId) || !pid) throw new Error(`unexpected run -d --json output: ${sub.stdout}`);
        if (from) res.resumes++;

        if (!killing && bounded) {
          // End of the round: the job runs to the end of its input and finishes by itself.
          const j = await waitFor(async () => {
            const l = await listed(ws, jobId);
            return l.status === 'FINISHED' || l.status === 'FAILED' || l.lost ? l : undefined;
          }, 180_000, `job ${jobId} to finish`, 500);
          if (j.status !== 'FINISHED') throw new Error(`the final attempt ended ${j.status} (seed ${o.seed}, from ${from}): ${j.failureCause}`);
          break;
        }
        if (!killing) {
          // End of the round: let it run a little, then stop it with a savepoint (sinks commit, job FINISHED).
          await sleep(delay);
          const stop = await waitFor(async () => {
            const r = await flink(ws, ['stop', jobId], { timeoutMs: 120_000 });
            return r.exitCode === 0 ? r : undefined;
          }, 120_000, `flink stop ${jobId}`, 500);
          finalSavepoint = savepointPathFrom(stop.stdout);
          const j = await waitFor(async () => {
            const l = await listed(ws, jobId);
            return l.status === 'FINISHED' || l.status === 'FAILED' || l.lost ? l : undefined;
          }, 120_000, `job ${jobId} to finish`, 500);
          if (j.status !== 'FINISHED') throw new Error(`the final attempt ended ${j.status} (seed ${o.seed}, from ${from}): ${j.failureCause}`);
          break;
        }

        let how: string;
        if (fault) {
          const died = await waitFor(() => !alive(pid), 10_000, 'the fault point to fire', 50).then(() => true, () => false);
          // Died is not enough: the cluster's own line says the point fired (and not some other crash).
          const fired = died && (readFileSyncSafe(outFile) ?? '').includes(`FaultInjection: killing process ${pid} at ${fault.split(':')[0]} `);
          if (fired) how = `fault ${fault}`;
          else {
            how = `fault ${fault} not reached${died ? ' (the process died without firing it)' : ''}, killed from outside`;
            if (alive(pid)) process.kill(pid, 'SIGKILL');
            if (target && target.attempt < TARGET_ATTEMPTS) targeted.unshift({ point: target.point, attempt: target.attempt + 1 });
            else if (target) res.pointsNeverReached.push(target.point);
          }
        } else {
          await sleep(delay);
          how = `SIGKILL after ${delay} ms`;
          if (alive(pid)) process.kill(pid, 'SIGKILL');
        }
        await waitFor(() => !alive(pid), 10_000, `cluster process ${pid} to be gone`, 50);

        const j = await listed(ws, jobId);
        // Unbounded input: only `flink stop` ends the job, with the savepoint the comparison needs. A bounded one
        // may reach its end before the kill: the round is over.
        if (j.status === 'FINISHED' && bounded) {
          log(`round ${res.rounds}: the job finished before the kill (${how})`);
          break;
        }
        if (j.status === 'FINISHED') throw new Error(`job ${jobId} of unbounded input FINISHED before it was killed (${how})`);
        // A fault kill that did not fire is still a kill to recover from, but not one of the budget's.
        if (how.startsWith('SIGKILL')) res.randomKills++;
        else if (how.includes('not reached')) res.faultsNotReached++;
        else res.faultKills[fault!.split(':')[0]!] = (res.faultKills[fault!.split(':')[0]!] ?? 0) + 1;
        if (!how.includes('not reached')) res.kills++;
        if (!j.lost && j.status !== 'FAILED') throw new Error(`job ${jobId} was killed (${how}) but flink list says ${j.status}`);
        // Invariants: the recovery point is complete and not older than the last one; no partial folder is left.
        const next = j.latestCheckpoint ?? from;
        if (next) {
          const id = checkpointId(next); // throws if _metadata or a state file is missing or damaged
          if (id < fromId) throw new Error(`recovery went back from checkpoint ${fromId} to ${id} (${next})`);
          fromId = id;
        }
        const jobDir = join(ws.checkpointsDir, jobId);
        // Going back behind a checkpoint the sink may have committed would repeat output: the recovery point must
        // be the newest complete checkpoint the dead job left on disk (if it left any).
        const onDisk = existsSync(jobDir) ? readdirSync(jobDir).filter((d) => /^chk-\d+$/.test(d) && existsSync(join(jobDir, d, '_metadata'))) : [];
        const newestOnDisk = Math.max(0, ...onDisk.map((d) => Number(d.slice(4))));
        if (newestOnDisk > fromId) {
          throw new Error(`after ${how}: recovery point ${next} (checkpoint ${fromId}) is older than chk-${newestOnDisk} on disk (${onDisk.join(', ')})`);
        }
        const partial = existsSync(jobDir) ? readdirSync(jobDir).filter((d) => /^chk-\d+$/.test(d) && !existsSync(join(jobDir, d, '_metadata'))) : [];
        if (partial.length > 0) throw new Error(`partial checkpoint folders left after the crash of ${jobId}: ${partial.join(', ')}`);
        log(`kill ${res.kills}/${o.kills} (round ${res.rounds}): ${how}; resuming from ${next ? `chk ${fromId} (${next.split('/').slice(-2).join('/').slice(0, 8)}…)` : 'scratch'}`);
        from = next;
      }
      const got = committedLines(out);
      // As many records as the source had read at the final savepoint (stop without drain: nothing after it is
      // emitted), taken from the savepoint and not from the output under test, so a lost tail is seen; a bounded
      // round's whole input.
      const emitted = bounded ? boundedCount : recordsEmittedAt(finalSavepoint!, 1e12);
      const expected = expectedLines(emitted); // the output of the same records without failures
      const a = Buffer.from(got.join('\n'));
      const b = Buffer.from(expected.join('\n'));
      if (!a.equals(b)) {
        const missing = expected.filter((l) => !got.includes(l)).slice(0, 5);
        // Which records were committed twice (record index = (count - 1) * keys + key), and in which part files.
        const seen = new Map<string, number>();
        for (const l of got) seen.set(l, (seen.get(l) ?? 0) + 1);
        const dupIdx = [...seen].filter(([, n]) => n > 1).map(([l]) => { const [k, c] = l.split(',').map(Number); return (c! - 1) * 16 + k!; }).sort((x, y) => x - y);
        const files = readdirSync(out).filter((f) => f.startsWith('part-')).filter((f) => readFileSync(join(out, f), 'utf8').split('\n').some((l) => (seen.get(l) ?? 0) > 1));
        log(`duplicated records ${dupIdx[0]}..${dupIdx.at(-1)} (${dupIdx.length}), in ${files.join(', ')}; output ${out}`);
        const extra = got.length - expected.length;
        throw new Error(`round ${res.rounds} (seed ${o.seed}): committed output differs from the failure-free run of the ${emitted} records the final savepoint's source position accounts for: ${got.length} lines vs ${expected.length} (${extra >= 0 ? '+' : ''}${extra}); missing e.g. ${missing.join(' | ')}`);
      }
      res.records += got.length;
      res.linesCompared += got.length;
      log(`round ${res.rounds}: output identical to the failure-free run (${got.length} lines)`);
    } catch (e) {
      if (process.env.CHAOS_KEEP) {
        log(`keeping the workspace ${ws.dir}`);
        ws.dir = join(ws.dir, 'nonexistent'); // cleanup() still ends the processes
      }
      throw e;
    } finally {
      await cleanup(ws);
    }
  }
  res.durationMs = Date.now() - started;
  return res;
}
