/**
 * The statement builder's side of Flink's JdbcStatementBuilder: `(ps, value) => { ps.setString(1, …); … }` fills the
 * `?` parameters of the sink's SQL. A batch is rendered into one multi-statement text with the parameters as
 * literals and executed in one round trip (a parameterised statement per record would cost a round trip each).
 */
import { FlinkError } from '../../core/FlinkError.js';

export interface PreparedStatement {
  setString(index: number, v: string | null): void;
  setInt(index: number, v: number | null): void;
  setLong(index: number, v: number | bigint | null): void;
  setDouble(index: number, v: number | null): void;
  setBoolean(index: number, v: boolean | null): void;
  setTimestamp(index: number, v: Date | null): void;
  setObject(index: number, v: unknown): void;
  setNull(index: number, sqlType?: number): void;
}

export type JdbcStatementBuilder<T> = (ps: PreparedStatement, value: T) => void;

/** A quoted literal that means the same with standard_conforming_strings on or off. */
function quote(s: string): string {
  if (s.includes('\0')) throw new FlinkError('invalid-argument', 'JdbcSink: a string parameter contains a NUL character, which PostgreSQL cannot store');
  const body = s.replace(/'/g, "''");
  return s.includes('\\') ? `E'${body.replace(/\\/g, '\\\\')}'` : `'${body}'`;
}

export function literal(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return `'${v}'::float8`;
    return String(v);
  }
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  if (v instanceof Date) return quote(v.toISOString());
  if (Buffer.isBuffer(v)) return `'\\x${v.toString('hex')}'::bytea`;
  if (typeof v === 'object') return quote(JSON.stringify(v));
  return quote(String(v));
}

/** The SQL split at its `?` placeholders (outside quotes and comments), so every record only joins the pieces. */
export class StatementTemplate {
  readonly parts: string[];
  constructor(readonly sql: string) {
    const parts: string[] = [];
    let cur = '';
    for (let i = 0; i < sql.length; i++) {
      const c = sql[i]!;
      if (c === "'" || c === '"') {
        const end = sql.indexOf(c, i + 1);
        const j = end < 0 ? sql.length : end;
        cur += sql.slice(i, j + 1);
        i = j;
      } else if (c === '-' && sql[i + 1] === '-') {
        const end = sql.indexOf('\n', i);
        const j = end < 0 ? sql.length : end;
        cur += sql.slice(i, j);
        i = j - 1;
      } else if (c === '?') {
        parts.push(cur);
        cur = '';
      } else cur += c;
    }
    parts.push(cur);
    this.parts = parts;
    if (/;\s*\S/.test(sql.replace(/'[^']*'/g, ''))) throw new FlinkError('invalid-argument', 'JdbcSink: the SQL must be one statement');
  }

  get parameterCount(): number {
    return this.parts.length - 1;
  }

  /** One record's statement: the builder fills the parameters, every one of which must be set. */
  render<T>(builder: JdbcStatementBuilder<T>, value: T): string {
    const n = this.parameterCount;
    const params: (string | undefined)[] = new Array(n);
    const set = (i: number, v: unknown) => {
      if (!Number.isInteger(i) || i < 1 || i > n) throw new FlinkError('invalid-argument', `JdbcSink: parameter index ${i} out of range (the SQL has ${n} parameters)`);
      params[i - 1] = literal(v);
    };
    const ps: PreparedStatement = {
      setString: set, setInt: set, setLong: set, setDouble: set, setBoolean: set, setTimestamp: set, setObject: set,
      setNull: (i) => set(i, null),
    };
    builder(ps, value);
    let out = this.parts[0]!;
    for (let i = 0; i < n; i++) {
      if (params[i] === undefined) throw new FlinkError('invalid-argument', `JdbcSink: parameter ${i + 1} of '${this.sql.replace(/\s+/g, ' ').trim()}' was not set by the statement builder`);
      out += params[i] + this.parts[i + 1]!;
    }
    return out.replace(/;\s*$/, '');
  }
}
