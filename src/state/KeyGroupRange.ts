/** An inclusive range of key groups, the unit in which keyed state is owned, snapshotted and rescaled. */
export class KeyGroupRange {
  constructor(readonly start: number, readonly end: number) {}

  static of([start, end]: [number, number]): KeyGroupRange {
    return new KeyGroupRange(start, end);
  }

  get size(): number {
    return this.end < this.start ? 0 : this.end - this.start + 1;
  }

  contains(kg: number): boolean {
    return kg >= this.start && kg <= this.end;
  }

  intersection(o: KeyGroupRange): KeyGroupRange {
    return new KeyGroupRange(Math.max(this.start, o.start), Math.min(this.end, o.end));
  }

  toJSON(): [number, number] {
    return [this.start, this.end];
  }
}
