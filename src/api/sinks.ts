import { resolve } from 'node:path';
import type { FlinkSinkConnector } from '../core/FlinkConnector.js';

/** Turns a record into one line of text (Flink's Encoder / SimpleStringEncoder). */
export type Encoder<T> = (value: T) => string;

export function formatValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v !== 'object' || v === null) return String(v);
  if (v instanceof Date) return v.toISOString();
  const own = (v as { toString?: unknown }).toString;
  if (typeof own === 'function' && own !== Object.prototype.toString && own !== Array.prototype.toString) return String(v);
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x instanceof Map ? Object.fromEntries(x) : x instanceof Set ? [...x] : x));
}

export class SimpleStringEncoder<T> {
  encode: Encoder<T> = formatValue;
}

export interface Sink<T> {
  readonly kind: 'file' | 'kafka' | 'jdbc';
  readonly name: string;
  /** On a Flink cluster: Flink's own connector for this sink (src/core/FlinkConnector.ts); absent: the runner refuses the job. */
  toFlinkConnector?(): FlinkSinkConnector<T>;
}

/**
 * Exactly-once row-format file sink, like Flink's FileSink with the on-checkpoint rolling policy: each
 * subtask writes an in-progress hidden file, closes it at every checkpoint barrier, and renames it to
 * its final `part-<subtask>-<counter>` name only when that checkpoint completes.
 */
export class FileSink<T> implements Sink<T> {
  readonly kind = 'file';
  readonly name: string;
  private constructor(readonly basePath: string, readonly encoder: Encoder<T>) {
    this.name = `FileSink(${basePath})`;
  }

  static forRowFormat<T>(basePath: string, encoder?: SimpleStringEncoder<T> | Encoder<T>): { build(): FileSink<T> } {
    const enc: Encoder<T> = typeof encoder === 'function' ? encoder : (encoder?.encode ?? formatValue);
    const path = resolve(basePath.replace(/^file:\/\//, '').replace(/^file:/, ''));
    return { build: () => new FileSink<T>(path, enc) };
  }

  /**
   * Flink's FileSink, row format, with what this sink does here: files straight under the base path
   * (BasePathBucketAssigner), rolled at every checkpoint (OnCheckpointRollingPolicy), named part-… (Flink adds
   * a unique id: part-<uuid>-<subtask>-<n>). Each record is the encoder's line as UTF-8; Flink writes the '\n'.
   */
  toFlinkConnector(): FlinkSinkConnector<T> {
    return {
      descriptor: {
        type: 'file-sink', name: this.name, basePath: `file://${this.basePath}`,
        rolling: { kind: 'on-checkpoint' }, outputFileConfig: { partPrefix: 'part', partSuffix: '' },
      },
      encode: (value) => Buffer.from(this.encoder(value), 'utf8'),
    };
  }
}
