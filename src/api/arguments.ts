/**
 * JavaScript drops surplus arguments without a word; Flink overloads that take more (a `force` flag,
 * a file-size threshold) have no meaning here, so passing them fails instead of being ignored.
 */
export function checkArgumentCount(signature: string, max: number, given: number): void {
  if (given > max) throw new TypeError(`${signature} takes at most ${max} argument${max === 1 ? '' : 's'} in flink-ts, got ${given}`);
}
