/**
 * `flink savepoint -d` on folders: every file the metadata lists (operator state, a native savepoint's store
 * files, channel state) is deleted and the folder goes; a folder whose files are not the ones its metadata
 * describes is refused with nothing deleted.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { writeMetadataAtomically, type CheckpointMetadata } from '../../src/checkpoint/Metadata.js';
import { disposeSavepoint } from '../../src/checkpoint/SavepointDisposal.js';
import { isFlinkError } from '../../src/core/FlinkError.js';

const root = mkdtempSync(join(tmpdir(), 'flink-ts-disposal-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

const ref = (file: string, bytes: Buffer) => ({ file, size: bytes.length, crc32: crc32(bytes) });

/** A savepoint folder: an operator state file, a store file beside it, channel state; `files` as written. */
function savepoint(files: Record<string, Buffer>, listed: Record<string, Buffer> = files): string {
  const dir = join(root, `savepoint-${String(++n).padStart(6, '0')}-000000000000`);
  mkdirSync(dir);
  for (const [f, b] of Object.entries(files)) writeFileSync(join(dir, f), b);
  const md: CheckpointMetadata = {
    formatVersion: 1, jobId: 'a'.repeat(32), jobName: 'disposal', checkpointId: 3, kind: 'SAVEPOINT', format: 'NATIVE',
    triggerTimestamp: 1, completionTimestamp: 2, maxParallelism: 128,
    operators: [{ operatorId: 'b'.repeat(32), name: 'op', parallelism: 1, maxParallelism: 128, subtasks: [{ subtask: 0, state: {
      ...ref('state-0', listed['state-0']), keyedStates: {}, operatorStates: {}, keyedEntries: 0,
      keyedStateFiles: [{ ...ref('op-0-full', listed['op-0-full']), keyGroupRange: [0, 127], keyedStates: {}, keyedEntries: 0 }],
    } as never }] }],
    channelState: [{ operatorId: 'b'.repeat(32), parallelism: 1, subtasks: [{ subtask: 0, state: ref('channel-0', listed['channel-0']) as never }] }],
  };
  writeMetadataAtomically(dir, md);
  return dir;
}

const good = { 'state-0': Buffer.from('operator'), 'op-0-full': Buffer.from('store file'), 'channel-0': Buffer.from('in flight') };

test('every file the metadata lists goes, the store files and channel state too, and then the folder', async () => {
  const dir = savepoint(good);
  const r = await disposeSavepoint(dir);
  assert.equal(r.deletedFiles.length, 4);
  assert.equal(r.removedDirectory, true);
  assert.equal(existsSync(dir), false);
});

test('a listed file of another size or another checksum is not the savepoint\'s: refused, nothing deleted', async () => {
  for (const [name, other] of [['state-0', Buffer.from('precious data')], ['op-0-full', Buffer.from('store filE')], ['channel-0', Buffer.from('')]] as const) {
    const dir = savepoint({ ...good, [name]: other }, good);
    const before = readdirSync(dir).sort();
    await assert.rejects(disposeSavepoint(dir), (e) => isFlinkError(e) && /Refusing to dispose .*size or checksum differ.*Nothing was deleted/.test(e.message), name);
    assert.deepEqual(readdirSync(dir).sort(), before, `${name}: nothing deleted`);
  }
});
