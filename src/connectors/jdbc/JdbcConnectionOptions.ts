/**
 * Flink's JdbcConnectionOptions with a `jdbc:postgresql://host[:port]/database[?user=…&password=…]` URL (PostgreSQL is
 * the only database here), parsed once into the client's settings.
 */
import { FlinkError } from '../../core/FlinkError.js';

export interface PostgresSettings {
  host: string;
  port: number;
  database: string;
  user?: string;
  password?: string;
}

export class JdbcConnectionOptionsBuilder {
  private url?: string;
  private user?: string;
  private password?: string;
  private timeoutSeconds = 60;
  withUrl(url: string): this {
    this.url = url;
    return this;
  }
  withUsername(user: string): this {
    this.user = user;
    return this;
  }
  withPassword(password: string): this {
    this.password = password;
    return this;
  }
  /** Flink's connection check timeout; here the bound for connecting (and the preflight). */
  withConnectionCheckTimeoutSeconds(seconds: number): this {
    if (!Number.isFinite(seconds) || seconds <= 0) throw new FlinkError('invalid-argument', `JdbcConnectionOptions: connection check timeout must be > 0 s, got ${seconds}`);
    this.timeoutSeconds = seconds;
    return this;
  }
  /** Flink's driver name: only PostgreSQL's is accepted. */
  withDriverName(name: string): this {
    if (name !== 'org.postgresql.Driver') throw new FlinkError('invalid-argument', `JdbcConnectionOptions: unsupported driver '${name}' (only org.postgresql.Driver)`);
    return this;
  }
  build(): JdbcConnectionOptions {
    if (!this.url) throw new FlinkError('invalid-argument', 'JdbcConnectionOptions: no URL (withUrl)');
    return JdbcConnectionOptions.of(this.url, this.user, this.password, this.timeoutSeconds);
  }
}


export class JdbcConnectionOptions {
  private constructor(readonly url: string, readonly settings: PostgresSettings, readonly connectionCheckTimeoutSeconds: number) {}

  /** @internal */
  static of(url: string, user: string | undefined, password: string | undefined, timeoutSeconds: number): JdbcConnectionOptions {
    const s = parseJdbcUrl(url);
    return new JdbcConnectionOptions(url, { ...s, user: user ?? s.user, password: password ?? s.password }, timeoutSeconds);
  }

  /** host:port/database, for messages (never the password). */
  get endpoint(): string {
    return `${this.settings.host}:${this.settings.port}/${this.settings.database}`;
  }

  /** `new JdbcConnectionOptions.JdbcConnectionOptionsBuilder()`, as in Flink. */
  static readonly JdbcConnectionOptionsBuilder = JdbcConnectionOptionsBuilder;

}

/** jdbc:postgresql://host[:port]/db[?user=&password=] (also postgresql:// and postgres://). */
export function parseJdbcUrl(url: string): PostgresSettings {
  const m = /^(?:jdbc:)?(postgres(?:ql)?):\/\/([^/?#]*)(?:\/([^?#]*))?(?:\?([^#]*))?$/.exec(url.trim());
  if (!m) throw new FlinkError('invalid-argument', `Invalid JDBC URL '${url}': expected jdbc:postgresql://host[:port]/database`);
  const hostPort = m[2]!;
  const hp = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hostPort);
  if (!hp) throw new FlinkError('invalid-argument', `Invalid JDBC URL '${url}': no host`);
  const params = new URLSearchParams(m[4] ?? '');
  return {
    host: hp[1]!.replace(/^\[|\]$/g, ''),
    port: hp[2] ? Number(hp[2]) : 5432,
    database: decodeURIComponent(m[3] || 'postgres'),
    user: params.get('user') ?? undefined,
    password: params.get('password') ?? undefined,
  };
}
