/**
 * Names a side output (Flink's OutputTag): operators emit to it with `ctx.output(tag, value)` or
 * `sideOutputLateData(tag)`, and `getSideOutput(tag)` is the stream of those records.
 */
export class OutputTag<T> {
  declare private readonly _type?: T;
  constructor(readonly id: string) {
    if (!id) throw new TypeError('OutputTag id must not be empty');
  }
  getId(): string {
    return this.id;
  }
}
