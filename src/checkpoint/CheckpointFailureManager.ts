/**
 * Flink's CheckpointFailureManager: counts consecutive checkpoint failures and fails the job once more of
 * them than execution.checkpointing.tolerable-failed-checkpoints have happened. A completed checkpoint resets
 * the count; savepoints and subsumed checkpoints never count.
 */
export class CheckpointFailureManager {
  private consecutiveFailures = 0;

  constructor(private readonly tolerableFailures: number, private readonly failJob: (reason: string) => void) {}

  handleCheckpointSuccess(): void {
    this.consecutiveFailures = 0;
  }

  handleCheckpointFailure(reason: string): void {
    this.consecutiveFailures++;
    if (this.consecutiveFailures > this.tolerableFailures) {
      this.failJob(`Exceeded checkpoint tolerable failure threshold (${this.tolerableFailures}). Last failure: ${reason}`);
    }
  }
}
