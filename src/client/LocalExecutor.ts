import type { JobExecutionResult } from '../api/ProgramContext.js';
import type { StreamGraph } from '../graph/StreamGraph.js';
import { Configuration } from '../config/Configuration.js';
import { runJob } from './JobRunner.js';

/**
 * A program run directly (`npx tsx job.ts`) rather than through `flink run`: its execute() starts a
 * local cluster here, with the default configuration, and the program file re-runs as a submission.
 */
export async function executeLocally(_graph: StreamGraph): Promise<JobExecutionResult> {
  const { config, warnings } = Configuration.load();
  for (const w of warnings) process.stderr.write(`WARN: ${w}\n`);
  const result = await runJob({
    jobFile: process.argv[1],
    programArgs: process.argv.slice(2),
    config,
    stdout: (t) => process.stdout.write(t),
  });
  process.exit(result.status === 'FINISHED' ? 0 : 1);
}
