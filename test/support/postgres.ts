/**
 * A throwaway PostgreSQL cluster for tests: `initdb` in a temporary folder (as the `postgres` OS user when this
 * process is root: initdb refuses root), `pg_ctl start` on a free loopback port with its unix socket in that
 * folder, then polled with `pg_isready` until it accepts connections. TCP connections need the password
 * (scram-sha-256), so a wrong-credentials test sees PostgreSQL's real refusal.
 *
 *   const pg = await startPostgres();            // max_prepared_transactions=10 unless told otherwise
 *   pg.jdbcUrl                                    // 'jdbc:postgresql://127.0.0.1:<port>/postgres'
 *   await pg.query('SELECT 1')                    // psql on the cluster, rows as tab-separated lines
 *   await pg.stop();                              // pg_ctl stop -m immediate, SIGKILL after a grace period
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './services.js';

export { serviceSkipReason } from './services.js';

export const PG_USER = 'postgres';
export const PG_PASSWORD = 'flink-ts-secret';

/** The folder holding initdb/pg_ctl: PATH first, then Debian's /usr/lib/postgresql/<version>/bin (newest). */
export function postgresBinDir(): string | undefined {
  const which = spawnSync('sh', ['-c', 'command -v pg_ctl'], { encoding: 'utf8' });
  // Resolved: Debian links pg_ctl onto PATH without pg_isready and psql beside it.
  const onPath = which.status === 0 && which.stdout.trim() ? realpathSync(which.stdout.trim()) : '';
  if (onPath && existsSync(join(onPath, '..', 'initdb'))) return join(onPath, '..');
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base).filter((v) => existsSync(join(base, v, 'bin', 'pg_ctl'))).sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(base, versions[0], 'bin') : undefined;
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function postgresUid(): { uid: number; gid: number } | undefined {
  const r = spawnSync('id', ['-u', PG_USER], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', PG_USER], { encoding: 'utf8' });
  if (r.status !== 0 || g.status !== 0) return undefined;
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

/** Why a cluster cannot start here (no binaries, root without a postgres user), or undefined. */
export function postgresUnavailable(): string | undefined {
  const bin = postgresBinDir();
  if (!bin) return 'no PostgreSQL server binaries (pg_ctl, initdb) on PATH or in /usr/lib/postgresql/*/bin (run .ci/run or apt-get install postgresql)';
  if (isRoot() && !postgresUid()) return `running as root and there is no '${PG_USER}' OS user to run initdb as (initdb refuses root)`;
  return undefined;
}

/** Stops a cluster left running in `dir` (by startPostgres with keepIn) and removes the folder. */
export function stopPostgresIn(dir: string): void {
  const bin = postgresBinDir();
  const data = join(dir, 'data');
  if (bin && existsSync(join(data, 'postmaster.pid'))) runAsOwner(join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-t', '30', 'stop'], 40_000);
  rmSync(dir, { recursive: true, force: true });
}

export interface PostgresCluster {
  readonly host: string;
  readonly port: number;
  readonly dir: string;
  readonly jdbcUrl: string;
  readonly user: string;
  readonly password: string;
  readonly logFile: string;
  /** Runs SQL with psql over TCP; returns the rows (tab-separated fields, one line each). */
  query(sql: string, db?: string): string[];
  /** Takes the server down like a crash (pg_ctl stop -m immediate), keeping its data. */
  stopServer(): void;
  /** Starts it again on the same port and waits until it is ready. */
  startServer(): Promise<void>;
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /** max_prepared_transactions (0 disables two-phase commit). Default 10. */
  maxPreparedTransactions?: number;
  /** Upper bound for initdb + start-up; generous for a loaded 2-core machine. */
  timeoutMs?: number;
  log?: (line: string) => void;
  /** Leave the server running when this process exits, in this folder (npm run postgres -- start). */
  keepIn?: string;
  /** The first port to try (a free one by default); a taken one is left for a free one, as a port taken after it was chosen. */
  port?: number;
}

/** Runs a server binary, as the postgres user when we are root. */
function runAsOwner(bin: string, args: string[], timeoutMs: number, env: NodeJS.ProcessEnv = process.env): { status: number | null; out: string } {
  const [cmd, argv] = isRoot() ? ['runuser', ['-u', PG_USER, '--', bin, ...args]] : [bin, args];
  const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: timeoutMs, env });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}` };
}

/** Start-up attempts when the server could not bind its free port (see serve in startPostgres). */
const BIND_ATTEMPTS = 3;
const BIND_FAILED = 'bind failed';

/** Whether the server's log, from byte `from` on, says it could not listen on its port. */
function bindFailed(logFile: string, from: number): boolean {
  try {
    return /Address already in use|could not create any TCP\/IP sockets/.test(readFileSync(logFile).subarray(from).toString('utf8'));
  } catch {
    return false;
  }
}

export async function startPostgres(opts: StartPostgresOptions = {}): Promise<PostgresCluster> {
  const why = postgresUnavailable();
  if (why) throw new Error(why);
  const bin = postgresBinDir()!;
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  const dir = opts.keepIn ?? mkdtempSync(join(tmpdir(), 'flink-ts-pg-'));
  if (opts.keepIn) mkdirSync(dir, { recursive: true });
  const data = join(dir, 'data');
  const logFile = join(dir, 'postgres.log');
  const pwfile = join(dir, 'pwfile');
  writeFileSync(pwfile, `${PG_PASSWORD}\n`);
  if (isRoot()) {
    const owner = postgresUid()!;
    chmodSync(dir, 0o700);
    chownSync(dir, owner.uid, owner.gid);
    chownSync(pwfile, owner.uid, owner.gid);
  }
  const fail = (what: string, out: string): never => {
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n').slice(-10).join('\n') : '';
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`PostgreSQL ${what}: ${out.trim().split('\n').slice(-10).join('\n')}${log ? `\n${log}` : ''}`);
  };
  const init = runAsOwner(join(bin, 'initdb'), ['-D', data, '-U', PG_USER, `--pwfile=${pwfile}`, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--no-instructions', '--no-sync'], Math.max(1000, deadline - Date.now()));
  if (init.status !== 0) fail(`initdb failed (exit ${init.status})`, init.out);
  let port = opts.port ?? (await freePort());
  const serverOptions = (): string => [
    `-c listen_addresses=127.0.0.1`, `-c port=${port}`, `-c unix_socket_directories=${dir}`,
    `-c max_prepared_transactions=${opts.maxPreparedTransactions ?? 10}`, '-c fsync=off', '-c max_connections=50',
  ].join(' ');
  const pidOf = (): number | undefined => {
    try {
      return Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    } catch {
      return undefined;
    }
  };
  const env = { ...process.env, PGPASSWORD: PG_PASSWORD, PGCONNECT_TIMEOUT: '10' };
  /**
   * pg_ctl start, then polled with pg_isready until `until`; the reason when it did not become ready in time, or
   * BIND_FAILED when the server exited because its port was taken (free when chosen, bound by another process since).
   */
  const serve = async (until: number): Promise<string | undefined> => {
    const logFrom = existsSync(logFile) ? statSync(logFile).size : 0;
    // -W: do not wait inside pg_ctl; readiness is polled below with our own deadline.
    const start = runAsOwner(join(bin, 'pg_ctl'), ['-D', data, '-l', logFile, '-o', serverOptions(), '-W', 'start'], Math.max(1000, until - Date.now()));
    if (start.status !== 0) return `pg_ctl start failed (exit ${start.status}): ${start.out}`;
    for (;;) {
      const r = spawnSync(join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-U', PG_USER, '-d', 'postgres', '-t', '5'], { encoding: 'utf8', env });
      if (r.status === 0) return undefined;
      if (pidOf() === undefined && bindFailed(logFile, logFrom)) return BIND_FAILED;
      if (Date.now() > until) {
        const pid = pidOf();
        if (pid) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
        return `did not accept connections in time: ${r.stdout ?? ''}${r.stderr ?? ''}${r.error?.message ?? ''}`;
      }
      await new Promise((res) => setTimeout(res, 200));
    }
  };
  let startFailure = await serve(deadline);
  for (let attempt = 2; startFailure === BIND_FAILED && attempt <= BIND_ATTEMPTS; attempt++) {
    opts.log?.(`PostgreSQL could not bind 127.0.0.1:${port} (attempt ${attempt - 1} of ${BIND_ATTEMPTS}): starting again on a new port`);
    port = await freePort();
    startFailure = await serve(deadline);
  }
  if (startFailure === BIND_FAILED) fail(`could not bind a free port in ${BIND_ATTEMPTS} attempts (the last 127.0.0.1:${port})`, '');
  if (startFailure) fail(`did not start within ${timeoutMs} ms`, startFailure);
  opts.log?.(`PostgreSQL on 127.0.0.1:${port} (${dir})`);
  const psql = join(bin, 'psql');
  const query = (sql: string, db = 'postgres'): string[] => {
    const r = spawnSync(psql, ['-h', '127.0.0.1', '-p', String(port), '-U', PG_USER, '-d', db, '-X', '-q', '-A', '-t', '-F', '\t', '-v', 'ON_ERROR_STOP=1', '-c', sql], { encoding: 'utf8', env, timeout: 60_000 });
    if (r.status !== 0) throw new Error(`psql failed (${r.status}): ${r.stderr || r.error?.message}`);
    return r.stdout.split('\n').filter((l) => l.length > 0);
  };
  let stopped = false;
  /** The server down (as a crash: immediate), its data kept; startServer brings it back on the same port. */
  const stopServer = (): void => {
    runAsOwner(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-t', '30', 'stop'], 40_000);
  };
  const startServer = async (): Promise<void> => {
    const e = await serve(Date.now() + timeoutMs);
    if (e) throw new Error(`PostgreSQL restart: ${e}`);
  };
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    const pid = pidOf();
    runAsOwner(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-t', '30', 'stop'], 40_000);
    if (pid) try { process.kill(pid, 'SIGKILL'); } catch { /* already stopped */ }
    rmSync(dir, { recursive: true, force: true });
  };
  // A test process that ends without calling stop() still takes its cluster down.
  process.once('exit', () => {
    if (stopped || opts.keepIn) return;
    const pid = pidOf();
    if (pid) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    try { rmSync(dir, { recursive: true, force: true }); } catch { /* best effort */ }
  });
  return {
    host: '127.0.0.1', port, dir, user: PG_USER, password: PG_PASSWORD, logFile,
    jdbcUrl: `jdbc:postgresql://127.0.0.1:${port}/postgres`,
    query, stop, stopServer, startServer,
  };
}
