/**
 * npm run postgres -- start|stop|status|url|psql [--dir <d>] [--json]: a local throwaway PostgreSQL cluster for
 * the examples and for trying the JdbcSink by hand (the tests start their own, one per test file). `start`
 * prints the JDBC URL and leaves the server running; its state lives in <dir>/postgres.json.
 *   npm run -s postgres -- url                       # jdbc:postgresql://127.0.0.1:<port>/postgres
 *   npm run -s postgres -- psql -c 'SELECT 1'        # psql on it (user postgres, the cluster's password)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { postgresBinDir, startPostgres, stopPostgresIn } from '../test/support/postgres.js';

interface State { port: number; jdbcUrl: string; user: string; password: string; dir: string; logFile: string }

const args = process.argv.slice(2);
const verb = args[0] ?? 'status';
const json = args.includes('--json');
const dirFlag = args.indexOf('--dir');
const dir = dirFlag >= 0 ? args[dirFlag + 1]! : (process.env.FLINK_TS_POSTGRES_DIR ?? join(tmpdir(), 'flink-ts-postgres'));
const stateFile = join(dir, 'postgres.json');

function readState(): State | undefined {
  if (!existsSync(stateFile) || !existsSync(join(dir, 'data', 'postmaster.pid'))) return undefined;
  return JSON.parse(readFileSync(stateFile, 'utf8')) as State;
}

function out(obj: Record<string, unknown>, line: string): void {
  process.stdout.write(json ? JSON.stringify(obj) + '\n' : line + '\n');
}

async function main(): Promise<number> {
  const s = readState();
  if (verb === 'start') {
    if (s) {
      out({ status: 'running', ...s }, `PostgreSQL is already running: ${s.jdbcUrl}`);
      return 0;
    }
    stopPostgresIn(dir);
    const pg = await startPostgres({ keepIn: dir });
    const st: State = { port: pg.port, jdbcUrl: pg.jdbcUrl, user: pg.user, password: pg.password, dir, logFile: pg.logFile };
    writeFileSync(stateFile, JSON.stringify(st, null, 2));
    out({ status: 'running', ...st }, `PostgreSQL is running: ${pg.jdbcUrl} (user ${pg.user}, password ${pg.password}, log ${pg.logFile})\nStop it with: npm run postgres -- stop`);
    return 0;
  }
  if (verb === 'stop') {
    stopPostgresIn(dir);
    out({ status: 'stopped' }, 'PostgreSQL stopped');
    return 0;
  }
  if (!s) {
    process.stderr.write(verb === 'status' ? 'PostgreSQL is not running\n' : 'PostgreSQL is not running: npm run postgres -- start\n');
    return 3;
  }
  if (verb === 'status') out({ status: 'running', ...s }, `PostgreSQL is running: ${s.jdbcUrl}`);
  else if (verb === 'url') out({ jdbcUrl: s.jdbcUrl }, s.jdbcUrl);
  else if (verb === 'psql') {
    const r = spawnSync(join(postgresBinDir()!, 'psql'), ['-h', '127.0.0.1', '-p', String(s.port), '-U', s.user, '-d', 'postgres', '-X', ...args.slice(1)], {
      stdio: 'inherit', env: { ...process.env, PGPASSWORD: s.password },
    });
    return r.status ?? 1;
  } else {
    process.stderr.write(`Unknown verb '${verb}': start, stop, status, url, psql\n`);
    return 2;
  }
  return 0;
}

main().then((code) => { process.exitCode = code; }, (e: Error) => { process.stderr.write(`${e.message}\n`); process.exitCode = 1; });
