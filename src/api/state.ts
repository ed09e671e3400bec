/** State handles and descriptors, named like Flink's (org.apache.flink.api.common.state). */
export interface State {
  clear(): void;
}

export interface ValueState<T> extends State {
  value(): T | undefined;
  update(value: T | null | undefined): void;
}

export interface ListState<T> extends State {
  get(): T[];
  add(value: T): void;
  addAll(values: T[]): void;
  update(values: T[]): void;
}

export abstract class StateDescriptor<T> {
  abstract readonly kind: string;
  constructor(readonly name: string) {
    if (!name) throw new Error('A state descriptor needs a non-empty name');
  }
  /** Phantom member so descriptors of different value types stay distinct to the type checker. */
  declare readonly __type?: T;
}

export class ValueStateDescriptor<T> extends StateDescriptor<T> {
  readonly kind = 'value';
  /** The default value is Flink's deprecated convenience; prefer handling `undefined`. */
  constructor(name: string, readonly defaultValue?: T) {
    super(name);
  }
}

export class ListStateDescriptor<T> extends StateDescriptor<T> {
  readonly kind = 'list';
}
