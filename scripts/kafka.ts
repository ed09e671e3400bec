/**
 * npm run kafka -- start|stop|status [--dir <d>] [--json]: a local Kafka broker for the examples and for
 * trying connectors by hand (the tests start their own, one per test file). `start` prints the bootstrap
 * servers and leaves the broker running in the background; its state lives in <dir>/kafka.json.
 *   npm run kafka -- create-topic <name> [--partitions n]
 *   npm run kafka -- produce <topic>                  (one record per stdin line)
 *   npm run kafka -- consume <topic> [--read-uncommitted]   (everything up to the current end, then exits)
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { printResult, readServiceState, serviceStatus, stopService, type ServiceVerbs } from './serviceState.js';
import { startKafka } from '../test/support/kafka.js';

interface State { pid: number; bootstrapServers: string; dir: string; logFile: string }

const args = process.argv.slice(2);
const positional = args.filter((a, i) => !a.startsWith('-') && !['--dir', '--partitions'].includes(args[i - 1]));
const verb = positional[0] ?? 'status';
const topicArg = positional[1];
const json = args.includes('--json');
const dirFlag = args.indexOf('--dir');
const dir = dirFlag >= 0 ? args[dirFlag + 1] : (process.env.FLINK_TS_KAFKA_DIR ?? join(tmpdir(), 'flink-ts-kafka'));
const stateFile = join(dir, 'kafka.json');

const readState = (): State | undefined => readServiceState<State>(stateFile);
const out = (obj: Record<string, unknown>, line: string): void => printResult(json, obj, line);
const verbs: ServiceVerbs<State> = { name: 'Kafka', dir, state: readState, describe: (s) => `bootstrap servers ${s.bootstrapServers} (pid ${s.pid})`, out };

async function main(): Promise<number> {
  if (verb === 'start') {
    const running = readState();
    if (running) {
      out({ status: 'running', ...running }, `Kafka is already running: bootstrap servers ${running.bootstrapServers} (pid ${running.pid})`);
      return 0;
    }
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const k = await startKafka({ dir, detached: true, log: json ? undefined : (l) => process.stderr.write(l + '\n') });
    const s: State = { pid: k.pid, bootstrapServers: k.bootstrapServers, dir, logFile: k.logFile };
    writeFileSync(stateFile, JSON.stringify(s, null, 2));
    out({ status: 'running', ...s }, `Kafka is running: bootstrap servers ${k.bootstrapServers} (pid ${k.pid}, log ${k.logFile})\nStop it with: npm run kafka -- stop`);
    return 0;
  }
  if (verb === 'stop') return stopService(verbs);
  if (verb === 'status') return serviceStatus(verbs);
  if (verb === 'create-topic' || verb === 'produce' || verb === 'consume') {
    const s = readState();
    if (!s) {
      process.stderr.write('Kafka is not running: npm run kafka -- start\n');
      return 3;
    }
    if (!topicArg) {
      process.stderr.write(`${verb} needs a topic name\n`);
      return 2;
    }
    const data = await import('../test/support/kafka-data.js');
    if (verb === 'create-topic') {
      const p = args.indexOf('--partitions');
      await data.createTopics(s.bootstrapServers, [topicArg], p >= 0 ? Number(args[p + 1]) : 1);
      out({ topic: topicArg }, `Created topic ${topicArg}`);
    } else if (verb === 'produce') {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      const lines = Buffer.concat(chunks).toString('utf8').split('\n').filter((l) => l !== '');
      await data.produce(s.bootstrapServers, topicArg, lines);
      out({ topic: topicArg, records: lines.length }, `Sent ${lines.length} records to ${topicArg}`);
    } else {
      const records = await data.readTopic(s.bootstrapServers, topicArg, args.includes('--read-uncommitted') ? 'read_uncommitted' : 'read_committed');
      if (json) out({ topic: topicArg, records }, '');
      else for (const r of records) process.stdout.write(r + '\n');
    }
    return 0;
  }
  process.stderr.write(`Unknown verb '${verb}': use start, stop, status, create-topic, produce or consume\n`);
  return 2;
}

main().then((code) => process.exit(code), (e: Error) => {
  process.stderr.write(`${args.includes('--verbose') ? e.stack : e.message}\n`);
  process.exit(1);
});
