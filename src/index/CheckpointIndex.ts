import Database from 'better-sqlite3';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadSnapshot, METADATA_FILE, stripFileScheme } from '../checkpoint/Metadata.js';
import { newestIntact } from '../checkpoint/CheckpointRecovery.js';
import { describeError, FlinkError, isFlinkError } from '../core/FlinkError.js';
import type { JobStatus } from '../core/JobStatus.js';
import type { SnapshotReport, SnapshotStatus } from '../checkpoint/CheckpointStatsTracker.js';

/**
 * A SQLite index of jobs, checkpoints and savepoints, shared by cluster processes and short-lived CLI
 * processes. It is only a cache: the snapshot folders are the truth, so a missing or corrupt database is
 * rebuilt from them, and a folder counts as COMPLETED only while it holds a valid `_metadata`.
 */
export type IndexedJobStatus = JobStatus | 'UNKNOWN'; // UNKNOWN: rebuilt from folders, status not recorded there

export interface JobRecord {
  jobId: string;
  name: string;
  status: IndexedJobStatus;
  startTime: number;
  endTime: number | null;
  restUrl: string | null;
  pid: number | null;
  logFile: string | null;
  checkpointDir: string | null;
  restoredFrom: string | null;
  failureCause: string | null;
}

/** A snapshot as the catalog keeps it: what the checkpoint coordinator reports (the folders are the truth). */
export type SnapshotRecord = SnapshotReport;
export type { SnapshotStatus };

/** Ordered schema migrations: migration i moves user_version from i to i+1. Never edit a shipped one. */
const MIGRATIONS: readonly { description: string; sql: string }[] = [
  {
    description: 'jobs and snapshots tables',
    sql: `
      CREATE TABLE jobs (
        job_id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, start_time INTEGER NOT NULL,
        end_time INTEGER, rest_url TEXT, pid INTEGER, log_file TEXT, checkpoint_dir TEXT,
        restored_from TEXT, failure_cause TEXT);
      CREATE TABLE snapshots (
        path TEXT PRIMARY KEY, job_id TEXT NOT NULL, checkpoint_id INTEGER NOT NULL, kind TEXT NOT NULL,
        status TEXT NOT NULL, trigger_time INTEGER NOT NULL, duration_ms INTEGER, size_bytes INTEGER,
        failure_cause TEXT, UNIQUE (job_id, kind, checkpoint_id));`,
  },
  {
    description: 'indexes for newest-first listings',
    sql: `
      CREATE INDEX jobs_by_start_time ON jobs (start_time);
      CREATE INDEX snapshots_by_trigger_time ON snapshots (trigger_time);`,
  },
];
export const INDEX_SCHEMA_VERSION = MIGRATIONS.length;

const BUSY_TIMEOUT_MS = 10_000;
/** Our own retries on top of SQLite's busy handler, which is not consulted in every lock path. */
const RETRY_DEADLINE_MS = 60_000;
const RECOVERY_LOCK_STALE_MS = 30_000;

const JOB_COLUMNS = {
  name: 'name', status: 'status', startTime: 'start_time', endTime: 'end_time', restUrl: 'rest_url', pid: 'pid',
  logFile: 'log_file', checkpointDir: 'checkpoint_dir', restoredFrom: 'restored_from', failureCause: 'failure_cause',
} as const satisfies Record<keyof Omit<JobRecord, 'jobId'>, string>;
const SNAPSHOT_COLUMNS = {
  jobId: 'job_id', checkpointId: 'checkpoint_id', kind: 'kind', status: 'status', triggerTime: 'trigger_time',
  durationMs: 'duration_ms', sizeBytes: 'size_bytes', failureCause: 'failure_cause',
} as const satisfies Record<keyof Omit<SnapshotRecord, 'path'>, string>;

const selectList = (cols: Record<string, string>, key: [string, string]) =>
  [`${key[1]} AS ${key[0]}`, ...Object.entries(cols).map(([k, c]) => `${c} AS ${k}`)].join(', ');
const JOB_SELECT = `SELECT ${selectList(JOB_COLUMNS, ['jobId', 'job_id'])} FROM jobs`;
const SNAPSHOT_SELECT = `SELECT ${selectList(SNAPSHOT_COLUMNS, ['path', 'path'])} FROM snapshots`;
const SNAPSHOT_VALUES = `(path, job_id, checkpoint_id, kind, status, trigger_time, duration_ms, size_bytes, failure_cause)
  VALUES (@path, @jobId, @checkpointId, @kind, @status, @triggerTime, @durationMs, @sizeBytes, @failureCause)`;

const JOB_DIR = /^[0-9a-f]{32}$/;
const CHECKPOINT_DIR = /^chk-\d+$/;
const SAVEPOINT_DIR = /^savepoint-/;

interface ScannedSnapshot {
  record: SnapshotRecord;
  jobName: string;
  checkpointDir: string | null;
}

export class CheckpointIndex {
  private readonly statements = new Map<string, Database.Statement>();

  private constructor(
    private db: Database.Database,
    readonly path: string,
    private readonly checkpointsDir: string | undefined,
    private readonly savepointsDir: string | undefined,
  ) {}

  private rebuildReason: string | undefined;
  /** Why open() had to build the index from the folders: 'missing', 'empty' or 'corrupt: …'. */
  get rebuiltBecause(): string | undefined {
    return this.rebuildReason;
  }

  static open(opts: { path: string; checkpointsDir?: string; savepointsDir?: string }): CheckpointIndex {
    const path = resolve(opts.path);
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (e) {
      throw new FlinkError('io', `Cannot create the directory of index database ${path}: ${describeError(e)}`, { cause: e });
    }
    const missing = fileSize(path) === 0; // 0 bytes: another opener created it a moment ago, nothing lost
    let opened = tryOpen(path);
    let corrupt: string | undefined;
    if (typeof opened === 'string') ({ db: opened, reason: corrupt } = quarantineAndReopen(path, opened));
    const dir = (d?: string) => (d === undefined ? undefined : resolve(stripFileScheme(d)));
    const index = new CheckpointIndex(opened, path, dir(opts.checkpointsDir), dir(opts.savepointsDir));
    try {
      const from = index.migrate();
      // After a recovery another opener may win the race to fill the fresh file; the recoverer still reports why.
      index.rebuildReason = corrupt ?? (from === 0 ? (missing ? 'missing' : 'empty') : undefined);
    } catch (e) {
      opened.close();
      throw e;
    }
    return index;
  }

  // ---- jobs ----

  upsertJob(j: JobRecord): void {
    const cols = Object.values(JOB_COLUMNS);
    this.write(() => this.stmt(
      `INSERT INTO jobs (job_id, ${cols.join(', ')}) VALUES (@jobId, ${Object.keys(JOB_COLUMNS).map((k) => '@' + k).join(', ')})
       ON CONFLICT (job_id) DO UPDATE SET ${cols.map((c) => `${c} = excluded.${c}`).join(', ')}`,
    ).run(params(j, ['jobId', ...Object.keys(JOB_COLUMNS)])));
  }

  updateJob(jobId: string, patch: Partial<Omit<JobRecord, 'jobId'>>): void {
    const changes = this.write(() => this.update('jobs', 'job_id', jobId, JOB_COLUMNS, patch));
    if (changes === 0) throw new FlinkError('not-found', `Job ${jobId} is not in the index ${this.path}`);
  }

  getJob(jobId: string): JobRecord | undefined {
    return this.read(() => this.stmt(`${JOB_SELECT} WHERE job_id = ?`).get(jobId) as JobRecord | undefined);
  }

  listJobs(): JobRecord[] {
    return this.read(() => this.stmt(`${JOB_SELECT} ORDER BY start_time DESC, job_id`).all() as JobRecord[]);
  }

  // ---- snapshots ----

  /**
   * Records a snapshot, keyed by its path. If (jobId, kind, checkpointId) is already recorded under another
   * path, the newest registration wins and that row follows the snapshot to its new path.
   */
  upsertSnapshot(s: SnapshotRecord): void {
    const rec = { ...s, path: normalize(s.path) };
    if (rec.status === 'COMPLETED') assertComplete(rec.path);
    this.write(() => this.putSnapshot(rec));
  }

  updateSnapshot(path: string, patch: Partial<Omit<SnapshotRecord, 'path'>>): void {
    const p = normalize(path);
    if (patch.status === 'COMPLETED') assertComplete(p);
    const changes = this.write(() => this.update('snapshots', 'path', p, SNAPSHOT_COLUMNS, patch));
    if (changes === 0) throw new FlinkError('not-found', `No snapshot at ${p} in the index ${this.path}`);
  }

  findSnapshotByPath(path: string): SnapshotRecord | undefined {
    const p = normalize(path);
    return this.read(() => this.stmt(`${SNAPSHOT_SELECT} WHERE path = ?`).get(p) as SnapshotRecord | undefined);
  }

  listSnapshots(filter: { jobId?: string; kind?: 'CHECKPOINT' | 'SAVEPOINT'; status?: SnapshotStatus } = {}): SnapshotRecord[] {
    const where = (['jobId', 'kind', 'status'] as const).filter((k) => filter[k] !== undefined);
    const sql = `${SNAPSHOT_SELECT}${where.length ? ' WHERE ' : ''}${where.map((k) => `${SNAPSHOT_COLUMNS[k]} = @${k}`).join(' AND ')}
      ORDER BY trigger_time DESC, checkpoint_id DESC, path`;
    return this.read(() => this.stmt(sql).all(params(filter, where)) as SnapshotRecord[]);
  }

  /** The newest COMPLETED checkpoint whose `_metadata` is still on disk (the index may lag behind deletions). */
  latestCompletedCheckpoint(jobId: string): SnapshotRecord | undefined {
    const rows = this.read(() => this.stmt(
      `${SNAPSHOT_SELECT} WHERE job_id = ? AND kind = 'CHECKPOINT' AND status = 'COMPLETED' ORDER BY checkpoint_id DESC`,
    ).all(jobId) as SnapshotRecord[]);
    return rows.find((r) => existsSync(join(r.path, METADATA_FILE)));
  }

  /**
   * Where to recover a job from, as found through the index: its newest COMPLETED checkpoint whose `_metadata`
   * and state files are intact (damaged ones are reported through `onDamaged` and skipped), else the snapshot
   * the job was itself restored from. Undefined when there is none: the job starts from scratch.
   */
  recoveryPoint(jobId: string, onDamaged: (path: string, why: string) => void = () => {}): string | undefined {
    const rows = this.listSnapshots({ jobId, kind: 'CHECKPOINT', status: 'COMPLETED' }).sort((a, b) => b.checkpointId - a.checkpointId);
    const restoredFrom = this.getJob(jobId)?.restoredFrom;
    const candidates = [...rows.map((r) => r.path), ...(restoredFrom ? [restoredFrom] : [])];
    return newestIntact(candidates, (p) => p, onDamaged)?.candidate;
  }

  /** Checkpoint failures of a job since its last completed checkpoint, and the newest one's cause. */
  checkpointFailures(jobId: string): { count: number; last: string | null } {
    return this.read(() => {
      const lastDone = this.stmt(`SELECT max(checkpoint_id) AS id FROM snapshots WHERE job_id = ? AND kind = 'CHECKPOINT' AND status IN ('COMPLETED', 'DISCARDED')`)
        .get(jobId) as { id: number | null };
      const failed = this.stmt(`SELECT failure_cause AS cause FROM snapshots WHERE job_id = ? AND kind = 'CHECKPOINT' AND status = 'FAILED'
        AND checkpoint_id > ? AND coalesce(failure_cause, '') NOT LIKE '%subsumed%' ORDER BY checkpoint_id DESC`).all(jobId, lastDone.id ?? 0) as { cause: string | null }[];
      return { count: failed.length, last: failed[0]?.cause ?? null };
    });
  }

  /**
   * The cluster of a job is gone: its IN_PROGRESS snapshots will never complete. Their folders, if they hold no
   * `_metadata`, are partial leftovers of the crash and are removed; the rows become FAILED. Returns how many.
   */
  abandonInProgress(jobId: string, cause: string): number {
    const rows = this.listSnapshots({ jobId, status: 'IN_PROGRESS' });
    for (const r of rows) {
      // Completed on disk before the crash, not yet recorded: the folder is the truth.
      let complete = true;
      try {
        loadSnapshot(r.path);
      } catch {
        complete = false;
      }
      if (!complete && !existsSync(join(r.path, METADATA_FILE))) {
        try {
          rmSync(r.path, { recursive: true, force: true });
        } catch {
          /* left for the next time; never counted as complete anyway */
        }
      }
      this.write(() => this.update('snapshots', 'path', r.path, SNAPSHOT_COLUMNS, complete ? { status: 'COMPLETED' } : { status: 'FAILED', failureCause: cause }));
    }
    // Folders the index never heard of (or already wrote off) but that a write of the dead cluster left behind.
    const jobDir = this.getJob(jobId)?.checkpointDir;
    if (jobDir) {
      for (const chk of subdirs(jobDir, CHECKPOINT_DIR)) {
        if (existsSync(join(chk, METADATA_FILE))) continue;
        try {
          rmSync(chk, { recursive: true, force: true });
        } catch {
          /* never counted as complete anyway */
        }
      }
    }
    return rows.length;
  }

  /**
   * Rescans the checkpoint and savepoint folders and merges them into the index: every folder with a valid
   * `_metadata` becomes a COMPLETED row, rows whose folder is gone become DISCARDED (kept,
   * not deleted), and COMPLETED rows whose `_metadata` broke become FAILED.
   * Returns how many jobs and snapshots the folders hold.
   */
  rebuild(): { jobs: number; snapshots: number } {
    const found = this.scan(); // outside the transaction: the write lock is held only for the merge
    return this.write(() => this.merge(found));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  // ---- internals ----

  /** Brings the schema to INDEX_SCHEMA_VERSION; returns the version found (0 = a fresh database). */
  private migrate(): number {
    const version = () => this.db.pragma('user_version', { simple: true }) as number;
    const check = (v: number) => {
      if (v > INDEX_SCHEMA_VERSION) {
        throw new FlinkError('config', `Index database ${this.path} has schema version ${v}, but this flink-ts only ` +
          `knows versions up to ${INDEX_SCHEMA_VERSION}: it was written by a newer flink-ts. Upgrade flink-ts, or ` +
          `point the index at another file.`);
      }
      return v;
    };
    if (check(this.read(version)) === INDEX_SCHEMA_VERSION) return INDEX_SCHEMA_VERSION; // no write lock needed
    return this.write(() => {
      const from = check(version()); // re-read under the lock: another process may have migrated meanwhile
      for (let v = from; v < INDEX_SCHEMA_VERSION; v++) {
        try {
          this.db.exec(MIGRATIONS[v]!.sql);
        } catch (e) {
          throw new FlinkError('config', `Cannot migrate index database ${this.path} from schema version ${v} to ` +
            `${v + 1} (${MIGRATIONS[v]!.description}): ${describeError(e)}`, { cause: e });
        }
        this.db.pragma(`user_version = ${v + 1}`);
      }
      // A fresh database is filled in the same transaction, so no reader ever sees it empty.
      if (from === 0) this.merge(this.scan());
      return from;
    });
  }

  private scan(): ScannedSnapshot[] {
    const found: ScannedSnapshot[] = [];
    const add = (s: ScannedSnapshot | undefined) => s && found.push(s);
    if (this.checkpointsDir) {
      for (const jobDir of subdirs(this.checkpointsDir, JOB_DIR)) {
        for (const chk of subdirs(jobDir, CHECKPOINT_DIR)) add(readFolder(chk, jobDir));
      }
    }
    if (this.savepointsDir) for (const sp of subdirs(this.savepointsDir, SAVEPOINT_DIR)) add(readFolder(sp, null));
    return found;
  }

  /** Runs inside a write transaction. */
  private merge(found: ScannedSnapshot[]): { jobs: number; snapshots: number } {
    const jobs = new Set<string>();
    for (const f of found) {
      const r = f.record;
      jobs.add(r.jobId);
      // A row the cluster wrote keeps its status; a rebuilt one is UNKNOWN and starts at its oldest snapshot.
      this.stmt(`INSERT INTO jobs (job_id, name, status, start_time, checkpoint_dir)
        VALUES (@jobId, @name, 'UNKNOWN', @start, @checkpointDir)
        ON CONFLICT (job_id) DO UPDATE SET
          start_time = CASE WHEN status = 'UNKNOWN' THEN min(start_time, excluded.start_time) ELSE start_time END,
          checkpoint_dir = coalesce(checkpoint_dir, excluded.checkpoint_dir)`,
      ).run({ jobId: r.jobId, name: f.jobName, start: r.triggerTime, checkpointDir: f.checkpointDir });

      const atPath = this.snapshotRow(r.path);
      if (atPath?.status === 'COMPLETED') continue; // already right; the cluster's own numbers win
      const sameKey = this.stmt(`SELECT path FROM snapshots WHERE job_id = ? AND kind = ? AND checkpoint_id = ?`)
        .get(r.jobId, r.kind, r.checkpointId) as { path: string } | undefined;
      // A copy of a snapshot that is still indexed elsewhere: keep the original row rather than move it.
      if (sameKey && sameKey.path !== r.path && existsSync(join(sameKey.path, METADATA_FILE))) continue;
      this.putSnapshot(r);
    }

    const foundPaths = new Set(found.map((f) => f.record.path));
    const live = this.stmt(`SELECT path, status FROM snapshots WHERE status != 'DISCARDED'`).all() as { path: string; status: SnapshotStatus }[];
    const setStatus = this.stmt(`UPDATE snapshots SET status = ?, failure_cause = coalesce(?, failure_cause) WHERE path = ?`);
    for (const row of live) {
      if (foundPaths.has(row.path)) continue;
      if (!existsSync(row.path)) {
        setStatus.run('DISCARDED', null, row.path);
      } else if (row.status === 'COMPLETED') {
        // Also covers snapshots outside the scanned directories (savepoints to a custom target).
        if (!existsSync(join(row.path, METADATA_FILE))) setStatus.run('DISCARDED', null, row.path);
        else {
          try {
            loadSnapshot(row.path);
          } catch (e) {
            setStatus.run('FAILED', describeError(e), row.path);
          }
        }
      }
    }
    return { jobs: jobs.size, snapshots: found.length };
  }

  /** Runs inside a write transaction. */
  private putSnapshot(s: SnapshotRecord): void {
    const p = params(s, ['path', ...Object.keys(SNAPSHOT_COLUMNS)]);
    const sameKey = this.stmt(`SELECT path FROM snapshots WHERE job_id = ? AND kind = ? AND checkpoint_id = ?`)
      .get(s.jobId, s.kind, s.checkpointId) as { path: string } | undefined;
    if (sameKey && sameKey.path !== s.path) {
      // The row at this path (if any) describes a snapshot that is no longer there: the folder was reused.
      this.stmt(`DELETE FROM snapshots WHERE path = ?`).run(s.path);
      this.stmt(`UPDATE snapshots SET path = @path, ${Object.entries(SNAPSHOT_COLUMNS).map(([k, c]) => `${c} = @${k}`).join(', ')}
        WHERE path = @oldPath`).run({ ...p, oldPath: sameKey.path });
      return;
    }
    this.stmt(`INSERT INTO snapshots ${SNAPSHOT_VALUES} ON CONFLICT (path) DO UPDATE SET
      ${Object.values(SNAPSHOT_COLUMNS).map((c) => `${c} = excluded.${c}`).join(', ')}`).run(p);
  }

  private snapshotRow(path: string): SnapshotRecord | undefined {
    return this.stmt(`${SNAPSHOT_SELECT} WHERE path = ?`).get(path) as SnapshotRecord | undefined;
  }

  private update(table: string, keyCol: string, key: string, cols: Record<string, string>, patch: object): number {
    const keys = Object.entries(patch).filter(([k, v]) => v !== undefined && k in cols).map(([k]) => k);
    const set = keys.length ? keys.map((k) => `${cols[k]} = @${k}`).join(', ') : `${keyCol} = ${keyCol}`;
    return this.stmt(`UPDATE ${table} SET ${set} WHERE ${keyCol} = @__key`).run({ ...params(patch, keys), __key: key }).changes;
  }

  private stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) this.statements.set(sql, (s = this.db.prepare(sql)));
    return s;
  }

  private read<T>(fn: () => T): T {
    this.reopenIfReplaced();
    return translate(this.path, () => withBusyRetry(this.path, fn));
  }

  /** A write transaction that takes the write lock up front (BEGIN IMMEDIATE), so it cannot deadlock on upgrade. */
  private write<T>(fn: () => T): T {
    if (this.db.inTransaction) return fn();
    this.reopenIfReplaced();
    return translate(this.path, () => withBusyRetry(this.path, () => this.db.transaction(fn).immediate()));
  }

  private inode: number | undefined;
  private readonly reopenListeners: (() => void)[] = [];
  private reopening = false;

  /** Called after the database file was found deleted or replaced and this index reopened (and rebuilt) it. */
  onReopen(listener: () => void): void {
    this.inode ??= fileInode(this.path);
    this.reopenListeners.push(listener);
  }

  /**
   * A long-lived opener (a cluster process) keeps writing into a database file someone deleted or replaced, and
   * nobody else would ever see it: notice, reopen the file now at the path (rebuilt from the folders if new), and
   * let listeners re-register what only they know (a running job's endpoint). Only armed by onReopen().
   */
  private reopenIfReplaced(): void {
    if (this.inode === undefined || this.reopening || this.db.inTransaction) return;
    const now = fileInode(this.path);
    if (now === this.inode) return;
    this.reopening = true;
    try {
      const fresh = CheckpointIndex.open({ path: this.path, checkpointsDir: this.checkpointsDir, savepointsDir: this.savepointsDir });
      this.db.close();
      this.db = fresh.db;
      this.statements.clear();
      this.inode = fileInode(this.path);
      for (const l of this.reopenListeners) l();
    } finally {
      this.reopening = false;
    }
  }
}

// ---- opening, corruption and recovery ----

/**
 * Opens and checks the database; returns the reason when it is corrupt. I/O errors are retried a few
 * times: another process recovering the same file renames it and its -wal/-shm under our feet.
 */
function tryOpen(path: string): Database.Database | string {
  for (let attempt = 0; ; attempt++) {
    try {
      return tryOpenOnce(path);
    } catch (e) {
      const io = /^SQLITE_(IOERR|CANTOPEN)/.test(sqliteCode((e as { cause?: unknown }).cause ?? e));
      if (!io || attempt >= 5) throw e;
      sleepSync(20 * 2 ** attempt * (0.5 + Math.random()));
    }
  }
}

function tryOpenOnce(path: string): Database.Database | string {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { timeout: BUSY_TIMEOUT_MS });
    const d = db;
    withBusyRetry(path, () => {
      d.pragma('journal_mode = WAL');
      d.pragma('synchronous = NORMAL');
    });
    const problems = withBusyRetry(path, () => d.pragma('quick_check') as { quick_check: string }[])
      .map((r) => r.quick_check).filter((r) => r !== 'ok');
    if (problems.length === 0) return d;
    d.close();
    return `quick_check failed: ${problems.join('; ').replace(/\s+/g, ' ').slice(0, 200)}`;
  } catch (e) {
    db?.close();
    if (isCorruption(e)) return describeError(e);
    if (isFlinkError(e)) throw e;
    throw new FlinkError('io', `Cannot open index database ${path}: ${describeError(e)}`, { cause: e });
  }
}

/**
 * Moves a corrupt database (and its -wal/-shm) aside, keeping the bytes for inspection, and opens a fresh
 * one. Serialized by a lock file, and re-checked under it, so concurrent openers never move aside a
 * database that another process has just recreated.
 */
function quarantineAndReopen(path: string, why: string): { db: Database.Database; reason?: string } {
  const lock = `${path}.recovery-lock`;
  acquireLock(lock);
  try {
    const again = tryOpen(path);
    if (typeof again !== 'string') return { db: again }; // someone else already recovered it
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    let aside = `${path}.corrupt-${stamp}`;
    if (existsSync(aside)) aside += `-${process.pid}`;
    for (const suffix of ['', '-wal', '-shm', '-journal']) {
      // Suffixes follow the moved file, so SQLite still finds its WAL if someone opens the copy.
      if (existsSync(path + suffix)) renameSync(path + suffix, aside + suffix);
    }
    const fresh = tryOpen(path);
    if (typeof fresh === 'string') throw new FlinkError('io', `Index database ${path} is unusable even after recreating it: ${fresh}`);
    return { db: fresh, reason: `corrupt: ${why}; moved aside to ${aside}` };
  } catch (e) {
    if (isFlinkError(e)) throw e;
    throw new FlinkError('io', `Cannot recover corrupt index database ${path}: ${describeError(e)}`, { cause: e });
  } finally {
    try {
      unlinkSync(lock);
    } catch {
      /* already gone */
    }
  }
}

function acquireLock(lock: string): void {
  const deadline = Date.now() + RETRY_DEADLINE_MS;
  for (;;) {
    try {
      const fd = openSync(lock, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    try {
      // A holder that crashed leaves the file behind; recovery takes well under this long.
      if (Date.now() - statSync(lock).mtimeMs > RECOVERY_LOCK_STALE_MS) unlinkSync(lock);
    } catch {
      /* released meanwhile */
    }
    if (Date.now() > deadline) throw new FlinkError('io', `Timed out waiting for ${lock}; remove it if no flink process is running`);
    sleepSync(25 + Math.random() * 50);
  }
}

function fileInode(path: string): number {
  try {
    return statSync(path).ino;
  } catch {
    return -1;
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

const sqliteCode = (e: unknown) => String((e as { code?: unknown } | null)?.code ?? '');
const isCorruption = (e: unknown) => /^SQLITE_(CORRUPT|NOTADB)/.test(sqliteCode(e));
const isBusy = (e: unknown) => /^SQLITE_(BUSY|LOCKED)/.test(sqliteCode(e));

/** Retries with jittered exponential backoff while another process holds a lock SQLite would not wait for. */
function withBusyRetry<T>(path: string, fn: () => T): T {
  const deadline = Date.now() + RETRY_DEADLINE_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      return fn();
    } catch (e) {
      if (!isBusy(e)) throw e;
      if (Date.now() > deadline) {
        throw new FlinkError('io', `Index database ${path} stayed locked by other processes for over ${RETRY_DEADLINE_MS / 1000}s`, { cause: e });
      }
      sleepSync(Math.min(1000, 5 * 2 ** attempt) * (0.5 + Math.random()));
    }
  }
}

/** Maps SQLite failures to FlinkError kinds the CLI knows. */
function translate<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (isFlinkError(e)) throw e;
    const code = sqliteCode(e);
    if (code.startsWith('SQLITE_CONSTRAINT')) throw new FlinkError('conflict', `Index database ${path}: ${describeError(e)}`, { cause: e });
    if (code.startsWith('SQLITE_')) throw new FlinkError('io', `Index database ${path}: ${describeError(e)}`, { cause: e });
    throw e;
  }
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms); // better-sqlite3 is synchronous, so the retry loop is too
}

// ---- folders ----

function subdirs(dir: string, name: RegExp): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return []; // a directory that does not exist (yet) holds no snapshots
  }
  return names.filter((n) => name.test(n)).map((n) => join(dir, n)).filter((p) => {
    try {
      return statSync(p).isDirectory();
    } catch {
      return false;
    }
  });
}

/** A snapshot folder with a valid `_metadata`; anything else is incomplete or corrupt and is not indexed. */
function readFolder(dir: string, checkpointDir: string | null): ScannedSnapshot | undefined {
  try {
    const snap = loadSnapshot(dir);
    const md = snap.metadata;
    if (typeof md.jobId !== 'string' || !Number.isSafeInteger(md.checkpointId) || (md.kind !== 'CHECKPOINT' && md.kind !== 'SAVEPOINT')) {
      return undefined;
    }
    let size = statSync(snap.metadataFile).size;
    for (const op of md.operators ?? []) for (const st of op.subtasks ?? []) size += Number(st.state?.size) || 0;
    const trigger = Number(md.triggerTimestamp) || 0;
    const completion = Number(md.completionTimestamp);
    return {
      record: {
        jobId: md.jobId, checkpointId: md.checkpointId, kind: md.kind, status: 'COMPLETED', path: snap.dir,
        triggerTime: trigger, durationMs: Number.isFinite(completion) ? Math.max(0, completion - trigger) : null,
        sizeBytes: size, failureCause: null,
      },
      jobName: typeof md.jobName === 'string' ? md.jobName : '',
      checkpointDir,
    };
  } catch {
    return undefined;
  }
}

function assertComplete(path: string): void {
  try {
    loadSnapshot(path);
  } catch (e) {
    throw new FlinkError('invalid-argument', `Refusing to index ${path} as COMPLETED: it has no valid ${METADATA_FILE} (${describeError(e)})`, { cause: e });
  }
}

function normalize(p: string): string {
  return resolve(stripFileScheme(p));
}

/** Named parameters for the given keys; absent values bind as NULL. */
function params(obj: object, keys: readonly string[]): Record<string, unknown> {
  const src = obj as Record<string, unknown>;
  return Object.fromEntries(keys.map((k) => [k, src[k] ?? null]));
}
