import type { ListState } from '../api/state.js';
import type { OperatorStateSnapshot } from './StateFile.js';

export type OperatorStateMode = 'SPLIT_DISTRIBUTE' | 'UNION' | 'BROADCAST';

/**
 * Non-keyed operator state (Flink's DefaultOperatorStateBackend): named lists, redistributed on restore
 * either split evenly (SPLIT_DISTRIBUTE) or given whole to every subtask (UNION). Broadcast state is
 * the same on every subtask, so each new subtask takes one old subtask's copy (BROADCAST).
 */
export class OperatorStateBackend {
  private readonly lists = new Map<string, { mode: OperatorStateMode; entries: unknown[] }>();

  getListState<T>(name: string): ListState<T> {
    return this.list<T>(name, 'SPLIT_DISTRIBUTE');
  }

  getUnionListState<T>(name: string): ListState<T> {
    return this.list<T>(name, 'UNION');
  }

  /** The entries of a broadcast state, as [key, value] pairs. */
  getBroadcastList<T>(name: string): ListState<T> {
    return this.list<T>(name, 'BROADCAST');
  }

  get isEmpty(): boolean {
    for (const l of this.lists.values()) if (l.entries.length > 0) return false;
    return true;
  }

  get stateModes(): Record<string, string> {
    return Object.fromEntries([...this.lists].map(([n, l]) => [n, l.mode]));
  }

  /** Deep copy taken at the barrier; operator state is small (positions, pending files). */
  snapshot(): OperatorStateSnapshot {
    const out: OperatorStateSnapshot = {};
    for (const [name, l] of this.lists) out[name] = { mode: l.mode, entries: structuredClone(l.entries) };
    return out;
  }

  /**
   * `parts` holds the lists of every old subtask, in subtask order; this subtask takes its share.
   * At unchanged parallelism each subtask gets back exactly its own lists, as in Flink.
   */
  restore(parts: OperatorStateSnapshot[], subtask: number, parallelism: number): void {
    for (const [name, { mode }] of Object.entries(parts[0] ?? {})) {
      if (mode === 'BROADCAST') this.lists.set(name, { mode, entries: parts[subtask % parts.length][name]?.entries ?? [] });
    }
    parts = parts.map((p) => Object.fromEntries(Object.entries(p).filter(([, l]) => l.mode !== 'BROADCAST')));
    if (parts.length === parallelism) {
      for (const [name, { mode }] of Object.entries(parts[subtask] ?? {})) {
        const entries = mode === 'UNION' ? parts.flatMap((p) => p[name]?.entries ?? []) : parts[subtask][name].entries;
        this.lists.set(name, { mode: mode as OperatorStateMode, entries });
      }
      return;
    }
    const merged = new Map<string, { mode: OperatorStateMode; all: unknown[] }>();
    for (const part of parts) {
      for (const [name, { mode, entries }] of Object.entries(part)) {
        const m = merged.get(name) ?? { mode: mode as OperatorStateMode, all: [] };
        m.all.push(...entries);
        merged.set(name, m);
      }
    }
    for (const [name, { mode, all }] of merged) {
      const entries = mode === 'UNION' ? all : all.filter((_, i) => i % parallelism === subtask);
      this.lists.set(name, { mode, entries });
    }
  }

  private list<T>(name: string, mode: OperatorStateMode): ListState<T> {
    let l = this.lists.get(name);
    if (!l) this.lists.set(name, (l = { mode, entries: [] }));
    const ref = l;
    return {
      get: () => ref.entries as T[],
      add: (v: T) => void ref.entries.push(v),
      addAll: (vs: T[]) => void ref.entries.push(...vs),
      update: (vs: T[]) => void (ref.entries = [...vs]),
      clear: () => void (ref.entries = []),
    };
  }
}
