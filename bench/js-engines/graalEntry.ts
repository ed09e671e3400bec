/** The bundle GraalJS evaluates: the harness on globalThis, where the probe's Java side looks it up. */
import { flatMapBatch, sumBatch } from './harness.js';

(globalThis as Record<string, unknown>).flinkTs = { flatMapBatch, sumBatch };
