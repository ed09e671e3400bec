import { parseDuration } from '../config/Duration.js';

/**
 * Time-to-live of keyed state, named like Flink's org.apache.flink.api.common.state.StateTtlConfig.
 * TTL runs on processing time: a value (Value/Reducing/Aggregating state), a list element or a map entry
 * expires `ttl` ms after its last write (or read, with OnReadAndWrite).
 */

/** When the expiry timestamp of a value is renewed. */
export const UpdateType = {
  /** TTL is off (what a descriptor without enableTimeToLive has). */
  Disabled: 'Disabled',
  /** Renewed when the value is created or written (Flink's default). */
  OnCreateAndWrite: 'OnCreateAndWrite',
  /** Renewed on reads too. */
  OnReadAndWrite: 'OnReadAndWrite',
} as const;
export type UpdateType = (typeof UpdateType)[keyof typeof UpdateType];

/** Whether an expired value that was not cleaned up yet may still be returned. */
export const StateVisibility = {
  /** Returned (once: the read cleans it up). */
  ReturnExpiredIfNotCleanedUp: 'ReturnExpiredIfNotCleanedUp',
  /** Never returned (Flink's default). */
  NeverReturnExpired: 'NeverReturnExpired',
} as const;
export type StateVisibility = (typeof StateVisibility)[keyof typeof StateVisibility];

/** Only processing time, as in Flink. */
export const TtlTimeCharacteristic = { ProcessingTime: 'ProcessingTime' } as const;
export type TtlTimeCharacteristic = (typeof TtlTimeCharacteristic)[keyof typeof TtlTimeCharacteristic];

export class CleanupStrategies {
  constructor(private readonly fullSnapshot: boolean) {}
  /** Expired entries are left out of full snapshots (every snapshot of the heap backend is full). */
  inFullSnapshot(): boolean {
    return this.fullSnapshot;
  }
}

export class StateTtlConfig {
  static readonly DISABLED = new StateTtlConfig(UpdateType.Disabled, StateVisibility.NeverReturnExpired, Number.MAX_SAFE_INTEGER, false);

  /** Use StateTtlConfig.newBuilder(ttl). */
  constructor(
    private readonly updateType: UpdateType,
    private readonly stateVisibility: StateVisibility,
    private readonly ttl: number,
    private readonly cleanupFullSnapshot: boolean,
  ) {}

  /** `ttl` in milliseconds, or a duration such as '1 h' (Flink's Duration). */
  static newBuilder(ttl: number | string): StateTtlConfigBuilder {
    return new StateTtlConfigBuilder(toMillis(ttl));
  }

  getUpdateType(): UpdateType {
    return this.updateType;
  }
  getStateVisibility(): StateVisibility {
    return this.stateVisibility;
  }
  /** Time to live in milliseconds. */
  getTtl(): number {
    return this.ttl;
  }
  getTtlTimeCharacteristic(): TtlTimeCharacteristic {
    return TtlTimeCharacteristic.ProcessingTime;
  }
  getCleanupStrategies(): CleanupStrategies {
    return new CleanupStrategies(this.cleanupFullSnapshot);
  }
  isEnabled(): boolean {
    return this.updateType !== UpdateType.Disabled;
  }
}

/** Flink's nested names: StateTtlConfig.UpdateType.OnReadAndWrite, StateTtlConfig.Builder. */
const UpdateTypeAlias = UpdateType;
type UpdateTypeAlias = UpdateType;
const StateVisibilityAlias = StateVisibility;
type StateVisibilityAlias = StateVisibility;
export namespace StateTtlConfig {
  export const UpdateType = UpdateTypeAlias;
  export type UpdateType = UpdateTypeAlias;
  export const StateVisibility = StateVisibilityAlias;
  export type StateVisibility = StateVisibilityAlias;
  export type Builder = StateTtlConfigBuilder;
}

export class StateTtlConfigBuilder {
  private updateType: UpdateType = UpdateType.OnCreateAndWrite;
  private stateVisibility: StateVisibility = StateVisibility.NeverReturnExpired;
  private fullSnapshot = false;

  constructor(private ttl: number) {
    checkTtl(ttl);
  }

  setUpdateType(updateType: UpdateType): this {
    if (!Object.values(UpdateType).includes(updateType)) throw new Error(`Unknown TTL update type '${String(updateType)}'`);
    this.updateType = updateType;
    return this;
  }
  updateTtlOnCreateAndWrite(): this {
    return this.setUpdateType(UpdateType.OnCreateAndWrite);
  }
  updateTtlOnReadAndWrite(): this {
    return this.setUpdateType(UpdateType.OnReadAndWrite);
  }

  setStateVisibility(visibility: StateVisibility): this {
    if (!Object.values(StateVisibility).includes(visibility)) throw new Error(`Unknown TTL state visibility '${String(visibility)}'`);
    this.stateVisibility = visibility;
    return this;
  }
  returnExpiredIfNotCleanedUp(): this {
    return this.setStateVisibility(StateVisibility.ReturnExpiredIfNotCleanedUp);
  }
  neverReturnExpired(): this {
    return this.setStateVisibility(StateVisibility.NeverReturnExpired);
  }

  setTtlTimeCharacteristic(c: TtlTimeCharacteristic): this {
    if (c !== TtlTimeCharacteristic.ProcessingTime) throw new Error(`Only processing-time TTL is supported, got '${String(c)}'`);
    return this;
  }

  /** Leaves expired entries out of snapshots (checkpoints and savepoints). */
  cleanupFullSnapshot(): this {
    this.fullSnapshot = true;
    return this;
  }

  /** `ttl` in milliseconds, or a duration such as '1 h'. */
  setTtl(ttl: number | string): this {
    this.ttl = toMillis(ttl);
    return this;
  }

  build(): StateTtlConfig {
    return new StateTtlConfig(this.updateType, this.stateVisibility, this.ttl, this.fullSnapshot);
  }
}

function toMillis(ttl: number | string): number {
  const ms = typeof ttl === 'string' ? parseDuration(ttl) : ttl;
  checkTtl(ms);
  return ms;
}

function checkTtl(ttl: number): void {
  if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0) throw new Error(`The TTL must be a positive number of milliseconds, got ${String(ttl)}`);
}
