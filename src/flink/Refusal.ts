import { FlinkError } from '../core/FlinkError.js';
import type { StreamGraph } from '../graph/StreamGraph.js';
import { flinkConnectorOf } from './FlinkPlan.js';

/** Node kinds the runner does not run yet, and why (docs/flink-runner.md "What runs"). */
const UNSUPPORTED: Record<string, string> = {
  intervalJoin: 'interval joins',
};

/**
 * What of the job the Flink runner cannot run, one entry per missing feature (with the operators using it); empty
 * when it can run it all. Checked before anything is uploaded.
 */
export function unsupportedFeatures(sg: StreamGraph): string[] {
  const missing = new Map<string, string[]>();
  const add = (what: string, name: string) => missing.set(what, [...(missing.get(what) ?? []), name]);
  for (const n of sg.nodes) {
    const why = UNSUPPORTED[n.kind];
    if (why) add(why, n.name);
    if (n.isSource && !flinkConnectorOf(n)) add('sources without a Flink connector', n.name);
  }
  return [...missing].map(([what, names]) => `${what}: ${[...new Set(names)].map((x) => `'${x}'`).join(', ')}`);
}

/** Refuses, with one line naming every missing feature, a job the runner cannot run. */
export function checkRunnable(sg: StreamGraph, jobFile: string): void {
  const missing = unsupportedFeatures(sg);
  if (missing.length > 0) {
    throw new FlinkError('invalid-argument', `Cannot run ${jobFile} on a Flink cluster; the flink-ts runner does not support ${missing.join('; ')}`);
  }
}
