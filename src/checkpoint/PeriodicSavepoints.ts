import { Cron } from 'croner';
import { FlinkError } from '../core/FlinkError.js';
import { DURATION_EXPECTED, tryParseDuration } from '../config/Duration.js';

/**
 * When periodic savepoints are due, as the Kubernetes operator's periodic.savepoint.interval has it: a
 * duration (`1 h`: one savepoint per interval, counted from the job running and from each attempt) or a
 * cron expression (`0 0 * * * *`: at those wall-clock times, in the cluster's local time zone). Croner parses
 * the expression (5 fields, or 6 with seconds first; `L`, `W`, `#` and ranges as in Quartz).
 */
export type SavepointSchedule =
  | { type: 'interval'; intervalMs: number }
  | { type: 'cron'; expression: string };

/** Parses the key's value; `0` (or empty) means no periodic savepoints, as for the operator. */
export function parseSavepointSchedule(raw: string): SavepointSchedule | undefined {
  const text = raw.trim();
  if (text === '' || text === '0') return undefined;
  const ms = tryParseDuration(text);
  if (ms !== undefined) {
    if (ms === 0) return undefined;
    return { type: 'interval', intervalMs: ms };
  }
  if (!/\s/.test(text)) throw new FlinkError('config', `expected ${DURATION_EXPECTED}, 0, or a cron expression such as '0 0 * * *'`);
  try {
    new Cron(text, { paused: true });
  } catch (e) {
    throw new FlinkError('config', `expected a duration or a cron expression: ${(e as Error).message}`);
  }
  return { type: 'cron', expression: text };
}

/** Milliseconds from `now` until the next savepoint is due (undefined: never again, e.g. a cron date passed). */
export function nextSavepointDelay(schedule: SavepointSchedule, now: number): number | undefined {
  if (schedule.type === 'interval') return schedule.intervalMs;
  const next = new Cron(schedule.expression, { paused: true }).nextRun(new Date(now));
  return next ? Math.max(0, next.getTime() - now) : undefined;
}

// setTimeout holds at most a 32-bit delay (about 24.8 days); longer waits are taken in steps.
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Takes the job's savepoints on schedule while it runs. `trigger` takes one (the JobMaster's savepoint into
 * state.savepoints.dir, recorded in the catalog like any other); a failure is reported and the schedule goes on.
 */
export class PeriodicSavepointScheduler {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** A savepoint of the schedule is being taken: it re-arms when done, so there is never a second timer. */
  private inFlight = false;
  private dueAt = 0;

  constructor(
    private readonly schedule: SavepointSchedule,
    private readonly trigger: () => Promise<void>,
    private readonly onFailure: (e: Error) => void,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.arm(Date.now());
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(now: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.running || this.inFlight) return;
    const delay = nextSavepointDelay(this.schedule, now);
    if (delay === undefined) return;
    this.dueAt = now + delay;
    this.wait();
  }

  private wait(): void {
    const left = this.dueAt - Date.now();
    this.timer = setTimeout(() => {
      if (!this.running) return;
      if (this.dueAt - Date.now() > 0) return this.wait();
      void this.fire();
    }, Math.min(Math.max(0, left), MAX_TIMER_MS));
    this.timer.unref();
  }

  private async fire(): Promise<void> {
    this.inFlight = true;
    try {
      await this.trigger();
    } catch (e) {
      this.onFailure(e as Error);
    } finally {
      this.inFlight = false;
    }
    // Cron: the next time after this one; interval: one interval after this attempt ended.
    this.arm(Date.now() + (this.schedule.type === 'cron' ? 1 : 0));
  }
}
