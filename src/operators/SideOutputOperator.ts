import { StreamOperator } from './StreamOperator.js';

/** Passes on the records of a side-output edge (the target of getSideOutput). */
export class SideOutputOperator extends StreamOperator {
  processElement(value: unknown): void {
    this.ctx.output.collect(value);
  }
}
