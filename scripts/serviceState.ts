import { existsSync, readFileSync, rmSync } from 'node:fs';
import { stopProcessGroup } from '../test/support/services.js';

// What the service scripts (npm run kafka / flink-cluster) share: the state file of a background process and their output.

/** The recorded state of a background service, or undefined when there is none or its process is gone. */
export function readServiceState<T extends { pid: number }>(stateFile: string): T | undefined {
  if (!existsSync(stateFile)) return undefined;
  const s = JSON.parse(readFileSync(stateFile, 'utf8')) as T;
  try {
    process.kill(s.pid, 0);
    return s;
  } catch {
    return undefined; // stale
  }
}

/** One result: the object as JSON with --json, else the human line(s). */
export function printResult(json: boolean, obj: Record<string, unknown>, line: string): void {
  process.stdout.write(json ? JSON.stringify(obj) + '\n' : line + '\n');
}

/** A service script's `stop` and `status` verbs over its recorded state; `name` is the service as printed. */
export interface ServiceVerbs<T extends { pid: number }> {
  name: string;
  dir: string;
  state(): T | undefined;
  /** What follows "<name> is running: " for `status`. */
  describe(s: T): string;
  out(obj: Record<string, unknown>, line: string): void;
}

/** Ends the recorded process group and removes the service's folder; a service that is not running is no error. */
export async function stopService<T extends { pid: number }>(v: ServiceVerbs<T>): Promise<number> {
  const s = v.state();
  if (!s) {
    v.out({ status: 'stopped' }, `${v.name} is not running`);
    return 0;
  }
  await stopProcessGroup(s.pid);
  rmSync(v.dir, { recursive: true, force: true });
  v.out({ status: 'stopped', pid: s.pid }, `${v.name} stopped (pid ${s.pid})`);
  return 0;
}

/** Exit 0 when running, 3 when not (as `flink list` for an unknown job). */
export function serviceStatus<T extends { pid: number }>(v: ServiceVerbs<T>): number {
  const s = v.state();
  if (!s) v.out({ status: 'stopped' }, `${v.name} is not running`);
  else v.out({ status: 'running', ...s }, `${v.name} is running: ${v.describe(s)}`);
  return s ? 0 : 3;
}
