/**
 * JdbcSink's parts: the jdbc:postgresql URL, Flink's option builders' validation, and the statement rendering
 * (placeholders, literals). The literals are checked against a real PostgreSQL (started for this file): every
 * rendered value must come back from the server unchanged.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JdbcConnectionOptions, parseJdbcUrl } from '../../src/connectors/jdbc/JdbcConnectionOptions.js';
import { JdbcExactlyOnceOptions } from '../../src/connectors/jdbc/JdbcExactlyOnceOptions.js';
import { JdbcExecutionOptions } from '../../src/connectors/jdbc/JdbcExecutionOptions.js';
import { JdbcSink } from '../../src/connectors/jdbc/JdbcSink.js';
import { StatementTemplate } from '../../src/connectors/jdbc/JdbcStatement.js';
import { connect } from '../../src/connectors/jdbc/PostgresClients.js';
import { postgresUnavailable, serviceSkipReason, startPostgres, type PostgresCluster } from '../support/postgres.js';

describe('JdbcConnectionOptions', () => {
  it('parses jdbc:postgresql URLs (port default 5432, user/password from the query, builder values win)', () => {
    assert.deepEqual(parseJdbcUrl('jdbc:postgresql://db.example:6543/shop'), { host: 'db.example', port: 6543, database: 'shop', user: undefined, password: undefined });
    assert.deepEqual(parseJdbcUrl('jdbc:postgresql://localhost/x?user=u&password=p%40ss'), { host: 'localhost', port: 5432, database: 'x', user: 'u', password: 'p@ss' });
    assert.equal(parseJdbcUrl('postgresql://[::1]:5433/d').host, '::1');
    const o = new JdbcConnectionOptions.JdbcConnectionOptionsBuilder().withUrl('jdbc:postgresql://h:1/d?user=a').withUsername('b').withPassword('secret').build();
    assert.equal(o.settings.user, 'b');
    assert.equal(o.endpoint, 'h:1/d');
  });
  it('refuses other URLs and drivers in one line', () => {
    assert.throws(() => parseJdbcUrl('jdbc:mysql://h/d'), /Invalid JDBC URL 'jdbc:mysql:\/\/h\/d': expected jdbc:postgresql/);
    assert.throws(() => new JdbcConnectionOptions.JdbcConnectionOptionsBuilder().build(), /no URL/);
    assert.throws(() => new JdbcConnectionOptions.JdbcConnectionOptionsBuilder().withDriverName('com.mysql.Driver'), /unsupported driver/);
  });
});

describe('JdbcExecutionOptions / JdbcExactlyOnceOptions', () => {
  it("Flink's defaults and validation", () => {
    const d = JdbcExecutionOptions.defaults();
    assert.deepEqual([d.batchSize, d.batchIntervalMs, d.maxRetries], [5000, 0, 3]);
    assert.throws(() => JdbcExecutionOptions.builder().withBatchSize(0), /batch size/);
    assert.throws(() => JdbcExecutionOptions.builder().withMaxRetries(-1), /max retries/);
    assert.throws(() => JdbcExactlyOnceOptions.builder().withTransactionIdPrefix("a'b"), /invalid transaction id prefix/);
  });
  it('exactlyOnceSink requires maxRetries = 0, as Flink does', () => {
    const conn = new JdbcConnectionOptions.JdbcConnectionOptionsBuilder().withUrl('jdbc:postgresql://h/d').build();
    assert.throws(() => JdbcSink.exactlyOnceSink('INSERT INTO t VALUES (?)', (ps, v: number) => ps.setInt(1, v), JdbcExecutionOptions.defaults(), JdbcExactlyOnceOptions.defaults(), conn), /requires maxRetries = 0/);
  });
});

describe('StatementTemplate', () => {
  it('fills ? outside quotes and comments; every parameter must be set; one statement only', () => {
    const t = new StatementTemplate("INSERT INTO t (a, b, c) VALUES (?, '?', ?) -- really?\n");
    assert.equal(t.parameterCount, 2);
    assert.equal(t.render((ps, v: [string, number]) => { ps.setString(1, v[0]); ps.setLong(2, v[1]); }, ['x', 3]), "INSERT INTO t (a, b, c) VALUES ('x', '?', 3) -- really?\n");
    assert.throws(() => t.render((ps) => ps.setString(1, 'x'), 0), /parameter 2 .* was not set/);
    assert.throws(() => t.render((ps) => ps.setString(3, 'x'), 0), /parameter index 3 out of range/);
    assert.throws(() => new StatementTemplate('DELETE FROM t; DROP TABLE t'), /one statement/);
  });
});

describe('StatementTemplate literals on a real PostgreSQL', { skip: serviceSkipReason('PostgreSQL', postgresUnavailable()), timeout: 180_000 }, () => {
  let pg: PostgresCluster;
  before(async () => { pg = await startPostgres(); }, { timeout: 150_000 });
  after(async () => { await pg?.stop(); });

  it('strings with quotes, backslashes and unicode, numbers, bigint, booleans, NULL and dates come back unchanged', async () => {
    const conn = new JdbcConnectionOptions.JdbcConnectionOptionsBuilder().withUrl(pg.jdbcUrl).withUsername(pg.user).withPassword(pg.password).build();
    const client = await connect(conn, 'unit');
    try {
      const strings = ["it's", 'back\\slash', "\\'; DROP TABLE x; --", 'E\'\\x41\'', 'ünïcødé 🚀', '', '$$dollar$$', '?'];
      const t = new StatementTemplate('SELECT ?::text AS s, ?::bigint AS b, ?::float8 AS f, ?::boolean AS z, ?::text AS n, ?::timestamptz AS d');
      const at = new Date('2026-01-02T03:04:05.678Z');
      for (const s of strings) {
        const sql = t.render((ps, v: string) => {
          ps.setString(1, v); ps.setLong(2, 9007199254740993n); ps.setDouble(3, -1.5e-7); ps.setBoolean(4, false); ps.setNull(5); ps.setTimestamp(6, at);
        }, s);
        const r = await client.query(sql);
        const row = r.rows[0] as { s: string; b: string; f: number; z: boolean; n: null; d: Date };
        assert.deepEqual([row.s, row.b, row.f, row.z, row.n, row.d.toISOString()], [s, '9007199254740993', -1.5e-7, false, null, at.toISOString()]);
      }
    } finally {
      await client.end();
    }
  });
});
