import Database from 'better-sqlite3';
import { closeSync, existsSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { describeError, FlinkError, isFlinkError } from '../core/FlinkError.js';

/**
 * How the catalog's SQLite file survives many processes and damage: open with WAL and a quick_check, move a
 * corrupt file aside (never delete it) under a lock file, retry while another process holds a lock, and
 * translate SQLite's failures into FlinkError kinds. Nothing here knows the catalog's tables.
 */

const BUSY_TIMEOUT_MS = 10_000;
/** Our own retries on top of SQLite's busy handler, which is not consulted in every lock path. */
const RETRY_DEADLINE_MS = 60_000;
const RECOVERY_LOCK_STALE_MS = 30_000;

/**
 * Opens and checks the database; returns the reason when it is corrupt. I/O errors are retried a few
 * times: another process recovering the same file renames it and its -wal/-shm under our feet.
 */
export function tryOpen(path: string): Database.Database | string {
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
      // A catalog open for months: once a checkpoint of the WAL resets it, cut the file back (not only reuse it).
      d.pragma('journal_size_limit = 1048576');
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
export function quarantineAndReopen(path: string, why: string): { db: Database.Database; reason?: string } {
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

/** Runs `fn` holding an exclusive lock file (O_EXCL), released afterwards; a holder that crashed goes stale. */
export async function withLockFile<T>(lock: string, fn: () => Promise<T> | T): Promise<T> {
  acquireLock(lock);
  try {
    return await fn();
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

export function fileInode(path: string): number {
  try {
    return statSync(path).ino;
  } catch {
    return -1;
  }
}

export function fileSize(path: string): number {
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
export function withBusyRetry<T>(path: string, fn: () => T): T {
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
export function translate<T>(path: string, fn: () => T): T {
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
