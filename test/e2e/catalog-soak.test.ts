/**
 * The catalog stays small for a job that checkpoints for months (issue 19): a job checkpointing every 100 ms
 * for 30 s (about 290 checkpoints, 15 times the bound), with index.checkpoints.history = 20. Once the bound is reached, the catalog's row count
 * and file size stay flat (subsumed checkpoints are pruned in the transaction that records the next one, and
 * freed pages are reused), and the WAL is checkpointed back into the database rather than growing.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ROOT, TIME_SCALE, cleanup, createWorkspace, ensureBuilt, flink, jobIdFrom, show, sleep, waitForStatus } from './helpers.js';

const HISTORY = 20;
const SOAK_MS = 30_000;

const size = (p: string) => {
  try {
    return statSync(p).size;
  } catch {
    return 0;
  }
};

test('soak: a job checkpointing every 100 ms keeps a flat catalog once index.checkpoints.history is reached', { timeout: 180_000 * TIME_SCALE }, async () => {
  await ensureBuilt();
  const ws = createWorkspace({ 'execution.checkpointing.interval': '100 ms', 'index.checkpoints.history': String(HISTORY) });
  after(() => cleanup(ws));
  const r = await flink(ws, ['run', '-d', join(ROOT, 'test', 'jobs', 'NamedCountJob.ts'), '--name', 'soak', '--rate', '500']);
  assert.equal(r.exitCode, 0, show(r));
  const jobId = jobIdFrom(r.stdout);
  await waitForStatus(ws, jobId, 'RUNNING');

  const samples: { t: number; rows: number; newestId: number; pages: number; fileBytes: number; walBytes: number }[] = [];
  const started = Date.now();
  const db = new Database(ws.indexPath, { readonly: true, fileMustExist: true });
  try {
    while (Date.now() - started < SOAK_MS) {
      await sleep(2_000);
      const q = db.prepare(`SELECT count(*) AS rows, coalesce(max(checkpoint_id), 0) AS newestId FROM snapshots WHERE job_id = ?`).get(jobId) as { rows: number; newestId: number };
      samples.push({
        t: Date.now() - started, ...q, pages: db.pragma('page_count', { simple: true }) as number,
        fileBytes: size(ws.indexPath), walBytes: size(`${ws.indexPath}-wal`),
      });
    }
  } finally {
    db.close();
  }
  const last = samples.at(-1)!;
  process.stderr.write(`# soak: ${samples.map((s) => `${Math.round(s.t / 1000)}s:${s.newestId}ck/${s.rows}rows/${s.pages}p/${s.walBytes}w`).join(' ')}\n`);
  // Far more checkpoints than the bound, so most were pruned.
  assert.ok(last.newestId >= HISTORY * 5, `the job took ${last.newestId} checkpoints in ${SOAK_MS / 1000} s`);
  // Every row of a job: 20 discarded (+1 subsumed since the last record), up to 20 failed, the retained ones
  // (state.checkpoints.num-retained = 2), one in progress.
  const bound = HISTORY + 1 + HISTORY + 2 + 1;
  assert.ok(samples.every((s) => s.rows <= bound), `rows stay within ${bound}`);
  const reached = samples.findIndex((s) => s.newestId > HISTORY + 3);
  assert.ok(reached >= 0 && reached < samples.length - 5, 'the bound was reached well before the end');
  const flat = samples.slice(reached + 1);
  const rows = flat.map((s) => s.rows);
  assert.ok(Math.max(...rows) - Math.min(...rows) <= 4 + HISTORY, `row count flat: ${rows}`); // failed rows may still accrue
  const pages = flat.map((s) => s.pages);
  assert.ok(Math.max(...pages) - Math.min(...pages) <= 2, `file size flat (pages): ${pages}`);
  // Auto-checkpointed at 1000 pages and cut back to journal_size_limit: the WAL never grows past a few MB.
  assert.ok(samples.every((s) => s.walBytes <= 5 * 1024 * 1024), `WAL bounded: ${samples.map((s) => s.walBytes)}`);
  const walLog = new Database(ws.indexPath).pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[];
  assert.equal(walLog[0]!.log, walLog[0]!.checkpointed, `every WAL frame is back in the database: ${JSON.stringify(walLog)}`);
});
