import { existsSync, readFileSync } from 'node:fs';

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
