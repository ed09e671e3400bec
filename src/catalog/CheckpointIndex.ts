import Database from 'better-sqlite3';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadSnapshot, METADATA_FILE, stripFileScheme } from '../checkpoint/Metadata.js';
import { CheckpointStorage } from '../checkpoint/CheckpointStorage.js';
import { newestIntact } from '../checkpoint/CheckpointRecovery.js';
import { describeError, FlinkError, isFlinkError } from '../core/FlinkError.js';
import { isGloballyTerminal, JOB_STATUSES, type JobStatus } from '../core/JobStatus.js';
import type { SnapshotReport, SnapshotStatus } from '../checkpoint/CheckpointStatsTracker.js';
import { scanSnapshotFolders, type ScannedSnapshot } from './SnapshotFolders.js';
import { fileInode, fileSize, quarantineAndReopen, translate, tryOpen, withBusyRetry } from './SqliteFile.js';

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
  /** Where the job's checkpoints went: 'filesystem' (its checkpointDir) or 'jobmanager' (memory of its cluster). */
  checkpointStorage?: 'filesystem' | 'jobmanager' | null;
  /** The job's default savepoint directory (state.savepoints.dir when it started): a folder a rebuild scans. */
  savepointDir?: string | null;
  /**
   * The JobManager address of a job on a remote Flink cluster (what `-m` was given); null for a job of a local
   * mini-cluster, whose endpoint is restUrl.
   */
  cluster?: string | null;
  /** How the job took ownership of restoredFrom: CLAIM (it may delete it once subsumed) or NO_CLAIM. */
  restoreMode?: 'CLAIM' | 'NO_CLAIM' | null;
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
  {
    description: 'checkpoint storage of each job',
    sql: 'ALTER TABLE jobs ADD COLUMN checkpoint_storage TEXT;',
  },
  {
    description: 'one catalog per user: savepoint directory, cluster address and restore mode of each job, merged indexes',
    sql: `
      ALTER TABLE jobs ADD COLUMN savepoint_dir TEXT;
      ALTER TABLE jobs ADD COLUMN cluster TEXT;
      ALTER TABLE jobs ADD COLUMN restore_mode TEXT;
      CREATE INDEX jobs_by_name ON jobs (name);
      CREATE INDEX snapshots_by_job ON snapshots (job_id, kind, status, checkpoint_id);
      CREATE TABLE merged_indexes (path TEXT PRIMARY KEY, merged_at INTEGER NOT NULL, jobs INTEGER NOT NULL, snapshots INTEGER NOT NULL);`,
  },
];

/** Columns a writer that does not know them (an older caller of upsertJob) must not reset to NULL. */
const KEEP_IF_ABSENT = new Set(['savepoint_dir', 'cluster', 'restore_mode']);

/** Discarded (and failed) checkpoints kept per job when the opener does not say: see index.checkpoints.history. */
export const DEFAULT_CHECKPOINT_HISTORY = 50;

/** The file name of the index an older flink-ts kept in each checkpoint directory. */
export const LEGACY_INDEX_FILE = 'flink-index.sqlite';
export const INDEX_SCHEMA_VERSION = MIGRATIONS.length;

const JOB_COLUMNS = {
  name: 'name', status: 'status', startTime: 'start_time', endTime: 'end_time', restUrl: 'rest_url', pid: 'pid',
  logFile: 'log_file', checkpointDir: 'checkpoint_dir', restoredFrom: 'restored_from', failureCause: 'failure_cause',
  checkpointStorage: 'checkpoint_storage', savepointDir: 'savepoint_dir', cluster: 'cluster', restoreMode: 'restore_mode',
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

const TERMINAL_SQL = JOB_STATUSES.filter(isGloballyTerminal).map((s) => `'${s}'`).join(', ');
export class CheckpointIndex {
  private readonly statements = new Map<string, Database.Statement>();

  private constructor(
    private db: Database.Database,
    readonly path: string,
    private readonly checkpointsDir: string | undefined,
    private readonly savepointsDir: string | undefined,
    private readonly checkpointHistory: number,
  ) {}

  private rebuildReason: string | undefined;
  /** Why open() had to build the index from the folders: 'missing', 'empty' or 'corrupt: …'. */
  get rebuiltBecause(): string | undefined {
    return this.rebuildReason;
  }

  /**
   * Opens (creating, migrating or rebuilding if needed) the catalog at `path`. `checkpointsDir`/`savepointsDir`
   * are the configured folders a rebuild scans besides those the catalog recorded; `legacyIndexes` are older
   * per-directory index files (`<state.checkpoints.dir>/flink-index.sqlite`) merged in once each;
   * `checkpointHistory` bounds the discarded and failed checkpoints kept per job.
   */
  static open(opts: OpenOptions): CheckpointIndex {
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
    const history = opts.checkpointHistory ?? DEFAULT_CHECKPOINT_HISTORY;
    const index = new CheckpointIndex(opened, path, dir(opts.checkpointsDir), dir(opts.savepointsDir), history);
    index.openOptions = opts;
    try {
      const from = index.migrate();
      // After a recovery another opener may win the race to fill the fresh file; the recoverer still reports why.
      index.rebuildReason = corrupt ?? (from === 0 ? (missing ? 'missing' : 'empty') : undefined);
      if (opts.legacyIndexes) {
        // The configured directory's older index, and those of every checkpoint root the catalog knows (a job
        // started with another -D under an older flink-ts): each merged once, which may reveal further roots.
        for (const legacy of opts.legacyIndexes) index.mergeLegacyIndex(legacy);
        for (const root of index.scannedDirs().checkpoints) index.mergeLegacyIndex(join(root, LEGACY_INDEX_FILE));
      }
    } catch (e) {
      opened.close();
      throw e;
    }
    return index;
  }

  // ---- jobs ----

  upsertJob(j: JobRecord): void {
    const cols = Object.values(JOB_COLUMNS);
    const set = (c: string) => (KEEP_IF_ABSENT.has(c) ? `${c} = coalesce(excluded.${c}, ${c})` : `${c} = excluded.${c}`);
    this.write(() => this.stmt(
      `INSERT INTO jobs (job_id, ${cols.join(', ')}) VALUES (@jobId, ${Object.keys(JOB_COLUMNS).map((k) => '@' + k).join(', ')})
       ON CONFLICT (job_id) DO UPDATE SET ${cols.map(set).join(', ')}`,
    ).run(params(j, ['jobId', ...Object.keys(JOB_COLUMNS)])));
    this.rememberFolders(j);
  }

  /**
   * The folders a job writes to also go to a small side file next to the database (`<catalog>.folders`), so a
   * catalog that was deleted or moved aside as corrupt is rebuilt from every folder it ever knew, not only from
   * the configured ones. Appends only what is new; duplicates from racing writers are harmless.
   */
  private rememberFolders(j: JobRecord): void {
    const entries = [
      j.checkpointDir ? `checkpoints\t${dirname(j.checkpointDir)}` : undefined,
      j.savepointDir ? `savepoints\t${j.savepointDir}` : undefined,
    ].filter((e): e is string => e !== undefined);
    if (entries.length === 0) return;
    const known = new Set(readFoldersFile(this.foldersFile));
    const add = entries.filter((e) => !known.has(e));
    try {
      if (add.length > 0) appendFileSync(this.foldersFile, add.map((e) => `${e}\n`).join(''));
    } catch {
      /* only a hint for rebuilds; the rows themselves are recorded */
    }
  }

  private get foldersFile(): string {
    return `${this.path}.folders`;
  }

  /** Every run recorded under a job name, newest first. */
  jobsNamed(name: string): JobRecord[] {
    return this.read(() => this.stmt(`${JOB_SELECT} WHERE name = ? ORDER BY start_time DESC, job_id`).all(name) as JobRecord[]);
  }

  updateJob(jobId: string, patch: Partial<Omit<JobRecord, 'jobId'>>): void {
    const changes = this.write(() => this.update('jobs', 'job_id', jobId, JOB_COLUMNS, patch));
    if (changes === 0) throw new FlinkError('not-found', `Job ${jobId} is not in the index ${this.path}`);
  }

  /**
   * Records the end of a job whose cluster a client found dead, unless the row already says it ended: one
   * conditional UPDATE, so a cluster that wrote FINISHED/CANCELED/FAILED between the caller's read and this write
   * keeps its own word. Returns the row as it stands afterwards and whether this call ended it.
   */
  endJobUnlessTerminal(jobId: string, patch: { status: JobStatus; endTime: number; failureCause: string }): { ended: boolean; record: JobRecord | undefined } {
    return this.write(() => {
      const ended = this.stmt(`UPDATE jobs SET status = @status, end_time = @endTime, failure_cause = @failureCause
        WHERE job_id = @jobId AND status NOT IN (${TERMINAL_SQL})`).run({ ...patch, jobId }).changes > 0;
      return { ended, record: this.stmt(`${JOB_SELECT} WHERE job_id = ?`).get(jobId) as JobRecord | undefined };
    });
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
    this.write(() => {
      this.putSnapshot(rec);
      // Bounded history: pruned as checkpoints are recorded, in the same transaction.
      if (rec.kind === 'CHECKPOINT' && rec.status !== 'IN_PROGRESS') this.pruneHistory(rec.jobId);
    });
  }

  /**
   * Forgets the oldest DISCARDED and the oldest FAILED checkpoint rows of a job beyond `checkpointHistory` of
   * each. Completed checkpoints and every savepoint stay, and so does any checkpoint a job was restored from
   * (the restored-from chain of `latest:`). Returns how many rows went. Runs inside a write transaction.
   */
  private pruneHistory(jobId: string): number {
    let removed = 0;
    for (const status of ['DISCARDED', 'FAILED'] as const) {
      removed += this.stmt(`DELETE FROM snapshots WHERE job_id = @jobId AND kind = 'CHECKPOINT' AND status = @status
        AND checkpoint_id < coalesce((SELECT checkpoint_id FROM snapshots WHERE job_id = @jobId AND kind = 'CHECKPOINT'
          AND status = @status ORDER BY checkpoint_id DESC LIMIT 1 OFFSET @keep - 1), -1)
        AND path NOT IN (SELECT restored_from FROM jobs WHERE restored_from IS NOT NULL)`)
        .run({ jobId, status, keep: Math.max(1, this.checkpointHistory) }).changes;
    }
    return removed;
  }

  /** Row counts per status, for the soak test and `flink checkpoints --json`'s summary. */
  snapshotCounts(jobId?: string): Record<string, number> {
    const rows = this.read(() => this.stmt(`SELECT status, count(*) AS n FROM snapshots WHERE (@jobId IS NULL OR job_id = @jobId) GROUP BY status`)
      .all({ jobId: jobId ?? null }) as { status: string; n: number }[]);
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }

  /**
   * Records a snapshot of a job on another cluster (an Apache Flink reached with -m) under the location that
   * cluster reported, a URI kept as it is (file:/…, s3://…), unchecked: its files and their format are Flink's.
   */
  upsertRemoteSnapshot(s: SnapshotRecord): void {
    this.write(() => this.putSnapshot(s));
  }

  /**
   * Brings a remote job's rows in line with its cluster's checkpoint statistics (`seen`: the completed snapshots
   * they list, DISCARDED where Flink says `discarded`). New completed ones are recorded, listed ones that Flink
   * discarded are marked so, and a COMPLETED checkpoint row older than every one the cluster still retains (it fell
   * out of Flink's bounded history) is marked DISCARDED too: Flink subsumes oldest first. A row already DISCARDED
   * (disposed through us) never comes back. One transaction, with the bounded history pruned as for local jobs.
   */
  syncRemoteSnapshots(jobId: string, seen: readonly SnapshotRecord[]): { recorded: number; discarded: number } {
    return this.write(() => {
      let recorded = 0;
      let discarded = 0;
      for (const s of seen) {
        const prior = this.snapshotRow(s.path);
        if (prior?.status === 'DISCARDED' || (s.status === 'DISCARDED' && !prior)) continue;
        if (prior && prior.status === s.status) continue;
        this.putSnapshot(s);
        if (s.status === 'DISCARDED') discarded++;
        else recorded++;
      }
      const checkpoints = seen.filter((s) => s.kind === 'CHECKPOINT');
      const retained = checkpoints.filter((s) => s.status === 'COMPLETED').map((s) => s.checkpointId);
      const gone = checkpoints.filter((s) => s.status === 'DISCARDED').map((s) => s.checkpointId);
      // Below the oldest retained one everything is subsumed; with none retained, everything up to the newest discarded.
      const floor = retained.length > 0 ? Math.min(...retained) : gone.length > 0 ? Math.max(...gone) + 1 : undefined;
      if (floor !== undefined) {
        discarded += this.stmt(`UPDATE snapshots SET status = 'DISCARDED' WHERE job_id = ? AND kind = 'CHECKPOINT'
          AND status = 'COMPLETED' AND checkpoint_id >= 0 AND checkpoint_id < ?`).run(jobId, floor).changes;
      }
      this.pruneHistory(jobId);
      return { recorded, discarded };
    });
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
    return rows.find((r) => CheckpointStorage.isComplete(r.path));
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
   * Settles one snapshot of a lost cluster, only if its row is still IN_PROGRESS: another client may have
   * settled it (disposed, completed) since it was read. Returns whether this call settled it.
   */
  settleInProgress(path: string, status: 'COMPLETED' | 'FAILED', failureCause: string | null): boolean {
    return (
      this.write(() =>
        this.stmt(`UPDATE snapshots SET status = @status, failure_cause = coalesce(@failureCause, failure_cause)
          WHERE path = @path AND status = 'IN_PROGRESS'`).run({ path, status, failureCause }).changes,
      ) > 0
    );
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

  /** The folder scan a rebuild merges (its own method: the race tests interleave a writer right after it). */
  private scan(): ScannedSnapshot[] {
    const dirs = this.scannedDirs();
    return scanSnapshotFolders(dirs.checkpoints, dirs.savepoints);
  }

  /**
   * The folders a rebuild scans: the configured ones, and every checkpoint and savepoint directory the catalog
   * recorded for its jobs (so a job started with another -D is found again).
   */
  scannedDirs(): { checkpoints: string[]; savepoints: string[] } {
    const recorded = this.read(() => ({
      chk: (this.stmt(`SELECT DISTINCT checkpoint_dir AS d FROM jobs WHERE checkpoint_dir IS NOT NULL`).all() as { d: string }[]).map((r) => dirname(r.d)),
      sp: (this.stmt(`SELECT DISTINCT savepoint_dir AS d FROM jobs WHERE savepoint_dir IS NOT NULL`).all() as { d: string }[]).map((r) => r.d),
      spRows: (this.stmt(`SELECT DISTINCT path AS d FROM snapshots WHERE kind = 'SAVEPOINT'`).all() as { d: string }[]).map((r) => dirname(r.d)),
    }));
    const side = readFoldersFile(this.foldersFile).map((l) => l.split('\t'));
    const fromSide = (kind: string) => side.filter((e) => e[0] === kind && e[1]).map((e) => e[1]!);
    const uniq = (xs: (string | undefined)[]) => [...new Set(xs.filter((x): x is string => !!x))].sort();
    return {
      checkpoints: uniq([this.checkpointsDir, ...recorded.chk, ...fromSide('checkpoints')]),
      savepoints: uniq([this.savepointsDir, ...recorded.sp, ...recorded.spRows, ...fromSide('savepoints')]),
    };
  }

  /**
   * Merges an older per-directory index (`<state.checkpoints.dir>/flink-index.sqlite`) into this catalog, once:
   * rows this catalog already has win, and the file is left where it is (never deleted). Returns the rows taken,
   * or undefined when there was nothing to merge (no such file, already merged, or it is this catalog).
   */
  mergeLegacyIndex(legacyPath: string): { jobs: number; snapshots: number } | undefined {
    const legacy = resolve(legacyPath);
    if (legacy === this.path || !existsSync(legacy)) return undefined;
    const done = () => this.stmt(`SELECT 1 FROM merged_indexes WHERE path = ?`).get(legacy) !== undefined;
    if (this.read(done)) return undefined;
    let rows: { jobs: Record<string, unknown>[]; snapshots: Record<string, unknown>[] };
    try {
      const old = new Database(legacy, { readonly: true, fileMustExist: true, timeout: 5_000 });
      try {
        rows = { jobs: old.prepare('SELECT * FROM jobs').all() as Record<string, unknown>[], snapshots: old.prepare('SELECT * FROM snapshots').all() as Record<string, unknown>[] };
      } finally {
        old.close();
      }
    } catch (e) {
      this.legacyProblems.push(`cannot merge the older index ${legacy}: ${describeError(e)}`);
      return undefined;
    }
    const jobCols = ['job_id', ...Object.values(JOB_COLUMNS)];
    const snapCols = ['path', ...Object.values(SNAPSHOT_COLUMNS)];
    const insert = (table: string, cols: string[], r: Record<string, unknown>) =>
      this.stmt(`INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map((c) => '@' + c).join(', ')}) ON CONFLICT DO NOTHING`)
        .run(Object.fromEntries(cols.map((c) => [c, r[c] ?? null]))).changes;
    return this.write(() => {
      if (done()) return undefined; // another process merged it meanwhile
      let jobs = 0;
      let snapshots = 0;
      for (const j of rows.jobs) jobs += insert('jobs', jobCols, j);
      for (const sn of rows.snapshots) snapshots += insert('snapshots', snapCols, sn);
      this.stmt(`INSERT INTO merged_indexes (path, merged_at, jobs, snapshots) VALUES (?, ?, ?, ?)`).run(legacy, Date.now(), jobs, snapshots);
      this.mergedNow.push({ path: legacy, jobs, snapshots });
      return { jobs, snapshots };
    });
  }

  /** Older indexes merged by this open, and those that could not be read (left alone, reported). */
  readonly mergedNow: { path: string; jobs: number; snapshots: number }[] = [];
  readonly legacyProblems: string[] = [];
  private openOptions: OpenOptions | undefined;

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
      // Scanned before the lock was taken: a checkpoint discarded since (folder first, then row) stays discarded.
      if (!CheckpointStorage.isComplete(r.path)) continue;
      const sameKey = this.stmt(`SELECT path FROM snapshots WHERE job_id = ? AND kind = ? AND checkpoint_id = ?`)
        .get(r.jobId, r.kind, r.checkpointId) as { path: string } | undefined;
      // A copy of a snapshot that is still indexed elsewhere: keep the original row rather than move it.
      if (sameKey && sameKey.path !== r.path && CheckpointStorage.isComplete(sameKey.path)) continue;
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
        if (!CheckpointStorage.isComplete(row.path)) setStatus.run('DISCARDED', null, row.path);
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
      const fresh = CheckpointIndex.open({ ...this.openOptions, path: this.path, checkpointsDir: this.checkpointsDir, savepointsDir: this.savepointsDir, checkpointHistory: this.checkpointHistory });
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

export interface OpenOptions {
  path: string;
  checkpointsDir?: string;
  savepointsDir?: string;
  legacyIndexes?: string[];
  checkpointHistory?: number;
}

function readFoldersFile(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
  } catch {
    return [];
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
