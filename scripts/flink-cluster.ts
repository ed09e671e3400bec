/**
 * npm run flink-cluster -- start|stop|status [--dir <d>] [--port <p>] [--slots <n>] [--json]: a local Apache
 * Flink session cluster (Flink's MiniCluster from Maven jars, see jvm/flink-cluster) for trying flink-ts' CLI
 * against a real Flink by hand (`flink list -m <address>`); the tests start their own, one per test file.
 * `start` prints the REST address and leaves the cluster running in the background; its state lives in
 * <dir>/flink-cluster.json.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { printResult, readServiceState, serviceStatus, stopService, type ServiceVerbs } from './serviceState.js';
import { startFlinkCluster, TEST_JOB_JAR } from '../test/support/flink.js';

interface State { pid: number; address: string; rest: string; dir: string; logFile: string; testJobJar: string }

const args = process.argv.slice(2);
const valued = ['--dir', '--port', '--slots'];
const positional = args.filter((a, i) => !a.startsWith('-') && !valued.includes(args[i - 1]));
const verb = positional[0] ?? 'status';
const json = args.includes('--json');
const flag = (name: string): string | undefined => (args.indexOf(name) >= 0 ? args[args.indexOf(name) + 1] : undefined);
const dir = flag('--dir') ?? process.env.FLINK_TS_CLUSTER_DIR ?? join(tmpdir(), 'flink-ts-flink-cluster');
const stateFile = join(dir, 'flink-cluster.json');

const readState = (): State | undefined => readServiceState<State>(stateFile);
const out = (obj: Record<string, unknown>, line: string): void => printResult(json, obj, line);
const verbs: ServiceVerbs<State> = { name: 'Flink', dir, state: readState, describe: (s) => `${s.address} (web UI ${s.rest}, pid ${s.pid})`, out };

async function main(): Promise<number> {
  if (verb === 'start') {
    const running = readState();
    if (running) {
      out({ status: 'running', ...running }, `Flink is already running: ${running.address} (pid ${running.pid})`);
      return 0;
    }
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const port = flag('--port');
    const slots = flag('--slots');
    const f = await startFlinkCluster({
      dir, detached: true, port: port ? Number(port) : undefined, slots: slots ? Number(slots) : undefined,
      log: json ? undefined : (l) => process.stderr.write(l + '\n'),
    });
    const s: State = { pid: f.pid, address: f.address, rest: f.rest, dir, logFile: f.logFile, testJobJar: TEST_JOB_JAR };
    writeFileSync(stateFile, JSON.stringify(s, null, 2));
    out({ status: 'running', ...s }, [
      `Flink is running: ${f.address} (web UI ${f.rest}, pid ${f.pid}, log ${f.logFile})`,
      `Try: flink run -m ${f.address} -d ${TEST_JOB_JAR} --out ${join(dir, 'out.txt')}`,
      'Stop it with: npm run flink-cluster -- stop',
    ].join('\n'));
    return 0;
  }
  if (verb === 'stop') return stopService(verbs);
  if (verb === 'status') return serviceStatus(verbs);
  process.stderr.write(`Unknown verb '${verb}': use start, stop or status\n`);
  return 2;
}

main().then((code) => process.exit(code), (e: Error) => {
  process.stderr.write(`${args.includes('--verbose') ? e.stack : e.message}\n`);
  process.exit(1);
});
