/**
 * Flink's CheckpointingMode, as values (CheckpointingMode.AT_LEAST_ONCE) and as their type. EXACTLY_ONCE
 * aligns barriers on tasks with several input channels; AT_LEAST_ONCE never blocks a channel, so records
 * that overtook a barrier are in the snapshot and replayed after a restore.
 */
export const CheckpointingMode = {
  EXACTLY_ONCE: 'EXACTLY_ONCE',
  AT_LEAST_ONCE: 'AT_LEAST_ONCE',
} as const;
export type CheckpointingMode = (typeof CheckpointingMode)[keyof typeof CheckpointingMode];

export function checkCheckpointingMode(mode: unknown): CheckpointingMode {
  if (mode !== 'EXACTLY_ONCE' && mode !== 'AT_LEAST_ONCE') {
    throw new TypeError(`Unknown checkpointing mode ${JSON.stringify(mode)}: use CheckpointingMode.EXACTLY_ONCE or CheckpointingMode.AT_LEAST_ONCE`);
  }
  return mode;
}
