/**
 * npm run run-on-flink -- <job.ts> [job args]: the README's one command for a TypeScript job on a real Apache
 * Flink 2.2.1 cluster from a fresh clone. Starts the local session cluster of `npm run flink-cluster -- start`
 * (or reuses the running one), then `flink run -m <its address> <job.ts> …` through the runner JAR (built with
 * Maven on first use). The cluster keeps running afterwards: `npm run flink-cluster -- stop`.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../test/support/services.js';

const [job, ...jobArgs] = process.argv.slice(2);
if (!job) {
  process.stderr.write('usage: npm run run-on-flink -- <job.ts> [job arguments]\n');
  process.exit(2);
}
const started = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'flink-cluster.ts'), 'start', '--json'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
let address: string | undefined;
try {
  address = (JSON.parse(started.stdout.trim().split('\n').pop() ?? '{}') as { address?: string }).address;
} catch { /* reported below */ }
if (started.status !== 0 || !address) {
  process.stderr.write(`Cannot start the Flink cluster (npm run flink-cluster -- start exited ${started.status}): ${started.stdout.trim()}\n`);
  process.exit(1);
}
process.stderr.write(`Flink 2.2.1 session cluster at ${address} (web UI http://${address}); stop it with: npm run flink-cluster -- stop\n`);
const run = spawnSync(process.execPath, [join(ROOT, 'bin', 'flink.js'), 'run', '-m', address, job, ...jobArgs], { cwd: ROOT, stdio: 'inherit' });
process.exit(run.status ?? 1);
