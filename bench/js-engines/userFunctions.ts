/**
 * The user functions every design runs, as a TypeScript job would write them: WordCount's tokenizer flatMap
 * and a keyed running sum whose per-key state is a number. Nothing here knows which engine runs it.
 */

/** WordCount's tokenizer: lower-case words of a line, split on anything that is not a letter or digit. */
export function tokenize(line: string, out: string[]): void {
  for (const word of line.toLowerCase().split(/\W+/)) if (word.length > 0) out.push(word);
}

/** The keyed running sum: the new state of one key (the operator emits [key, sum] and stores sum). */
export function runningSum(value: number, state: number | undefined): number {
  return (state ?? 0) + value;
}
