import type { RestartStrategy } from '../config/ConfigOptions.js';

/**
 * Flink's RestartBackoffTimeStrategy: told of each failure (with the time it happened), it says whether the
 * job may restart and after how long. Time comes in as an argument, so the rules are tested without waiting.
 */
export class RestartBackoffTimeStrategy {
  private readonly s: RestartStrategy;
  private readonly random: () => number;
  /** fixed-delay: failures so far; exponential-delay: restarts since the last reset. */
  private count = 0;
  /** failure-rate: failure times inside the current interval. */
  private readonly failures: number[] = [];
  /** exponential-delay: the delay before jitter, and when the last restart was due. */
  private backoff = 0;
  private restartDueAt = 0;
  private nextBackoff = 0;

  /** `random` in [0, 1) drives the exponential-delay jitter. */
  constructor(strategy: RestartStrategy, random: () => number = Math.random) {
    this.s = strategy;
    this.random = random;
  }

  notifyFailure(now: number): void {
    const s = this.s;
    switch (s.type) {
      case 'none':
        return;
      case 'fixed-delay':
        this.count++;
        this.nextBackoff = s.delayMs;
        return;
      case 'failure-rate':
        this.failures.push(now);
        while (this.failures.length > 0 && now - this.failures[0] > s.intervalMs) this.failures.shift();
        this.nextBackoff = s.delayMs;
        return;
      case 'exponential-delay': {
        // Running reset-backoff-threshold past the last restart without failing starts the sequence over.
        if (this.count > 0 && now - this.restartDueAt >= s.resetThresholdMs) this.count = 0;
        this.backoff = this.count === 0 ? s.initialBackoffMs : Math.min(this.backoff * s.multiplier, s.maxBackoffMs);
        this.count++;
        const jitter = this.backoff * s.jitterFactor * (2 * this.random() - 1);
        this.nextBackoff = Math.max(0, Math.round(this.backoff + jitter));
        this.restartDueAt = now + this.nextBackoff;
        return;
      }
    }
  }

  canRestart(): boolean {
    const s = this.s;
    switch (s.type) {
      case 'none': return false;
      case 'fixed-delay': return this.count <= s.attempts;
      case 'failure-rate': return this.failures.length <= s.maxFailuresPerInterval;
      case 'exponential-delay': return this.count <= s.attempts;
    }
  }

  /** Delay before the restart the last failure asks for. */
  backoffTimeMs(): number {
    return this.nextBackoff;
  }

  /** Why the job is not restarted, for its failure cause. */
  whySuppressed(): string {
    const s = this.s;
    switch (s.type) {
      case 'none': return 'restart strategy is none';
      case 'fixed-delay': return `fixed-delay restart strategy allowed ${s.attempts} attempt(s)`;
      case 'failure-rate':
        return `failure-rate restart strategy allows ${s.maxFailuresPerInterval} failure(s) per ${s.intervalMs} ms; ${this.failures.length} happened within it`;
      case 'exponential-delay':
        return `exponential-delay restart strategy allowed ${s.attempts} attempt(s) before its reset threshold of ${s.resetThresholdMs} ms`;
    }
  }
}
