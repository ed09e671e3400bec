/**
 * The engine side of the boundary, per batch: what a Flink operator hands over (lines; keys, values and the
 * keys' current state read from Flink state by the operator) and what it gets back (words; new states).
 * GraalJS calls these on host arrays; the Node.js worker on V8-deserialized arrays.
 */
import { runningSum, tokenize } from './userFunctions.js';

export interface ArrayLike<T> { readonly length: number; readonly [i: number]: T }

export function flatMapBatch(lines: ArrayLike<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) tokenize(lines[i], out);
  return out;
}

/**
 * keys[i] is the record's key (what ctx.getCurrentKey() would answer), states[i] its state or null where it
 * has none yet; returns the new state of each record's key. Built with push: a holey array would cross as V8's
 * sparse-array form.
 */
export function sumBatch(keys: ArrayLike<string>, values: ArrayLike<number>, states: ArrayLike<number | null>): number[] {
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) out.push(runningSum(values[i], states[i] ?? undefined));
  return out;
}
