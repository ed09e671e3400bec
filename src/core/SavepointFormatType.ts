import { FlinkError } from './FlinkError.js';

// In Flink's core (org.apache.flink.core.execution): the client, the REST layer, the checkpoint and the state
// backends all name the savepoint format, so it sits below all of them.

/** Flink's SavepointFormatType: CANONICAL is backend-independent, NATIVE is the backend's own files. */
export type SavepointFormatType = 'CANONICAL' | 'NATIVE';

/** The one reading of a savepoint format name (CLI `--type`, REST `formatType`): case-insensitive. */
export function parseFormatType(v: unknown): SavepointFormatType | undefined {
  if (v === undefined || v === null) return undefined;
  const s = typeof v === 'string' ? v.trim().toUpperCase() : undefined;
  if (s !== 'CANONICAL' && s !== 'NATIVE') {
    throw new FlinkError('invalid-argument', `Unknown savepoint format type '${String(v)}'; expected canonical or native`);
  }
  return s;
}
