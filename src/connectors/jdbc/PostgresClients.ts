/**
 * What the JDBC sink needs of node-postgres: the library loaded on first use (jobs without the sink, and the
 * CLI, do not pay for it), connections with a bounded connect time, and PostgreSQL's refusals as one line.
 */
import type { Client } from 'pg';
import { FlinkError } from '../../core/FlinkError.js';
import type { JdbcConnectionOptions } from './JdbcConnectionOptions.js';

let pgModule: Promise<typeof import('pg')> | undefined;
export function loadPg(): Promise<typeof import('pg')> {
  return (pgModule ??= import('pg').then((m) => ((m as unknown as { default?: typeof import('pg') }).default ?? m)));
}

/** One line for a failure to connect or a statement PostgreSQL refused. */
export function describePgError(e: unknown, options: JdbcConnectionOptions): FlinkError {
  if (e instanceof FlinkError) return e;
  const err = e as { code?: string; message?: string };
  const where = `PostgreSQL at ${options.endpoint}`;
  const msg = String(err.message ?? e).replace(/\s+/g, ' ').replace(/\.$/, '');
  if (err.code === '28P01' || err.code === '28000') return new FlinkError('config', `${where} refused the credentials of user '${options.settings.user ?? ''}': ${msg}`, { cause: e });
  if (err.code === '3D000') return new FlinkError('not-found', `${where}: ${msg}`, { cause: e });
  if (err.code && /^[0-9A-Z]{5}$/.test(err.code)) return new FlinkError('job-failed', `${where}: ${msg} (SQLSTATE ${err.code})`, { cause: e });
  return new FlinkError('unreachable', `Cannot connect to ${where}: ${msg || err.code}`, { cause: e });
}

export async function connect(options: JdbcConnectionOptions, applicationName: string): Promise<Client> {
  const pg = await loadPg();
  const s = options.settings;
  const client = new pg.Client({
    host: s.host, port: s.port, database: s.database, user: s.user, password: s.password,
    connectionTimeoutMillis: options.connectionCheckTimeoutSeconds * 1000,
    application_name: applicationName,
  });
  client.on('error', () => {}); // a dropped connection surfaces on the next query
  try {
    await client.connect();
  } catch (e) {
    await client.end().catch(() => {});
    throw describePgError(e, options);
  }
  return client;
}
