import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import {
  decodeMetadata, encodeMetadata, loadSnapshot, METADATA_FILE, METADATA_FORMAT_VERSION, removeStaleTempMetadata,
  resolveSnapshotPath, stripFileScheme, verifySnapshotFiles, writeMetadataAtomically, type CheckpointMetadata,
} from '../../src/checkpoint/Metadata.js';
import { verifyStateFile } from '../../src/state/StateFile.js';
import type { StateFileHandle } from '../../src/state/StateHandles.js';
import { isFlinkError } from '../../src/core/FlinkError.js';

const root = mkdtempSync(join(tmpdir(), 'flink-ts-metadata-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirNo = 0;
const freshDir = () => {
  const d = join(root, `d${++dirNo}`);
  mkdirSync(d);
  return d;
};

function sample(over: Partial<CheckpointMetadata> = {}): CheckpointMetadata {
  return {
    formatVersion: METADATA_FORMAT_VERSION,
    jobId: '0123456789abcdef0123456789abcdef',
    jobName: 'Wörd Count – ünïcode 😀',
    checkpointId: 17,
    kind: 'SAVEPOINT',
    format: 'CANONICAL',
    triggerTimestamp: 1_700_000_000_000,
    completionTimestamp: 1_700_000_000_250,
    maxParallelism: 128,
    operators: [
      {
        operatorId: 'a'.repeat(32),
        uid: 'sum',
        name: 'Keyed Aggregation',
        parallelism: 2,
        maxParallelism: 128,
        subtasks: [
          {
            subtask: 0,
            state: {
              file: 'op-0-abcd', size: 100, crc32: 12345, keyGroupRange: [0, 63], keyGroupOffsets: [0, 4, 8],
              operatorStateOffset: 12, keyedStates: { _op_state: 'value' }, operatorStates: {}, keyedEntries: 3,
            },
          },
          {
            subtask: 1,
            state: { file: 'op-1-ef01', size: 10, crc32: 1, keyedStates: {}, operatorStates: { offsets: 'UNION' }, keyedEntries: 0 },
          },
        ],
      },
    ],
    ...over,
  };
}

function restoreError(pattern: RegExp) {
  return (e: unknown) => {
    assert.ok(isFlinkError(e), `expected a FlinkError, got ${String(e)}`);
    assert.equal(e.kind, 'restore');
    assert.match(e.message, pattern);
    return true;
  };
}

function notFound(pattern: RegExp) {
  return (e: unknown) => {
    assert.ok(isFlinkError(e), `expected a FlinkError, got ${String(e)}`);
    assert.equal(e.kind, 'not-found');
    assert.match(e.message, pattern);
    return true;
  };
}

describe('metadata encoding', () => {
  test('encode/decode round trip and header layout', () => {
    const md = sample();
    const bytes = encodeMetadata(md);
    assert.equal(bytes.subarray(0, 8).toString('latin1'), 'FLTSMETA');
    assert.equal(bytes.readUInt32BE(8), METADATA_FORMAT_VERSION);
    assert.equal(bytes.readUInt32BE(12), bytes.length - 20);
    assert.equal(bytes.readUInt32BE(16), crc32(bytes.subarray(20)));
    assert.deepStrictEqual(decodeMetadata(bytes, 'x'), md);
  });

  test('round trip of arbitrary JSON-compatible metadata (property)', () => {
    fc.assert(
      fc.property(fc.string(), fc.nat(), fc.array(fc.record({ operatorId: fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 32, maxLength: 32 }), name: fc.string() }), { maxLength: 5 }), (jobName, id, ops) => {
        const md = sample({ jobName, checkpointId: id, operators: ops.map((o) => ({ ...o, parallelism: 1, maxParallelism: 128, subtasks: [] })) });
        assert.deepStrictEqual(decodeMetadata(encodeMetadata(md), 'x'), md);
      }),
      { numRuns: 300 },
    );
  });

  test('truncated files are rejected', () => {
    const bytes = encodeMetadata(sample());
    for (const n of [0, 7, 19]) {
      assert.throws(() => decodeMetadata(bytes.subarray(0, n), '/p/_metadata'), restoreError(/Corrupted checkpoint metadata \/p\/_metadata: file is \d+ bytes, shorter than its header/));
    }
    for (const n of [20, 21, bytes.length - 1]) {
      assert.throws(() => decodeMetadata(bytes.subarray(0, n), '/p/_metadata'), restoreError(new RegExp(`truncated \\(expected ${bytes.length} bytes, found ${n}\\)`)));
    }
    assert.throws(() => decodeMetadata(Buffer.concat([bytes, Buffer.from('x')]), 'p'), restoreError(/truncated|expected/));
  });

  test('wrong magic and wrong version are rejected with a clear message', () => {
    const bytes = encodeMetadata(sample());
    const badMagic = Buffer.from(bytes);
    badMagic.write('NOTMETA!', 0, 'latin1');
    assert.throws(() => decodeMetadata(badMagic, 'p'), restoreError(/not a checkpoint metadata file \(bad magic number\)/));
    const json = Buffer.from(JSON.stringify(sample()));
    assert.throws(() => decodeMetadata(json, 'p'), restoreError(/bad magic number/));
    const v2 = Buffer.from(bytes);
    v2.writeUInt32BE(2, 8);
    assert.throws(() => decodeMetadata(v2, 'p'), restoreError(/unsupported format version 2/));
  });

  test('a valid header over a payload that is not JSON is rejected', () => {
    const payload = Buffer.from('{not json', 'utf8');
    const header = Buffer.alloc(20);
    Buffer.from('FLTSMETA', 'latin1').copy(header);
    header.writeUInt32BE(METADATA_FORMAT_VERSION, 8);
    header.writeUInt32BE(payload.length, 12);
    header.writeUInt32BE(crc32(payload), 16);
    assert.throws(() => decodeMetadata(Buffer.concat([header, payload]), 'p'), restoreError(/payload is not valid JSON/));
  });

  test('flipping any single byte is detected (property)', () => {
    const bytes = encodeMetadata(sample());
    fc.assert(
      fc.property(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 255 }), (pos, xor) => {
        const b = Buffer.from(bytes);
        b[pos] ^= xor;
        assert.throws(() => decodeMetadata(b, 'p'), restoreError(/Corrupted checkpoint metadata p: /));
      }),
      { numRuns: 1000 },
    );
  });

  test('every single-bit flip is detected (exhaustive)', () => {
    const bytes = encodeMetadata(sample({ operators: [] }));
    for (let pos = 0; pos < bytes.length; pos++) {
      for (let bit = 0; bit < 8; bit++) {
        const b = Buffer.from(bytes);
        b[pos] ^= 1 << bit;
        assert.throws(() => decodeMetadata(b, 'p'), restoreError(/Corrupted/), `byte ${pos} bit ${bit}`);
      }
    }
  });
});

describe('writing and loading _metadata', () => {
  test('writeMetadataAtomically leaves no temp file and the result loads', () => {
    const dir = freshDir();
    const md = sample();
    const target = writeMetadataAtomically(dir, md);
    assert.equal(target, join(dir, METADATA_FILE));
    assert.deepEqual(readdirSync(dir), [METADATA_FILE]);
    const loaded = loadSnapshot(dir);
    assert.equal(loaded.dir, dir);
    assert.equal(loaded.metadataFile, target);
    assert.deepStrictEqual(loaded.metadata, md);
    assert.deepStrictEqual(decodeMetadata(readFileSync(target), target), md);
  });

  test('writeMetadataAtomically replaces a previous _metadata and a stale temp file', () => {
    const dir = freshDir();
    writeFileSync(join(dir, `.${METADATA_FILE}.inprogress`), 'garbage from a crash');
    writeMetadataAtomically(dir, sample({ checkpointId: 1 }));
    writeMetadataAtomically(dir, sample({ checkpointId: 2 }));
    assert.deepEqual(readdirSync(dir), [METADATA_FILE]);
    assert.equal(loadSnapshot(dir).metadata.checkpointId, 2);
  });

  test('removeStaleTempMetadata removes only the temp file', () => {
    const dir = freshDir();
    writeMetadataAtomically(dir, sample());
    writeFileSync(join(dir, `.${METADATA_FILE}.inprogress`), 'partial');
    removeStaleTempMetadata(dir);
    assert.deepEqual(readdirSync(dir), [METADATA_FILE]);
    assert.doesNotThrow(() => removeStaleTempMetadata(dir));
  });

  test('loadSnapshot of a corrupted _metadata fails with a restore error naming the file', () => {
    const dir = freshDir();
    const file = writeMetadataAtomically(dir, sample());
    truncateSync(file, 30);
    assert.throws(() => loadSnapshot(dir), restoreError(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: truncated`)));
  });
});

describe('resolveSnapshotPath', () => {
  const dir = join(root, 'savepoint-abcdef-0123456789ab');
  mkdirSync(dir, { recursive: true });
  writeMetadataAtomically(dir, sample());
  const md = join(dir, METADATA_FILE);

  test('accepts the directory, the _metadata file, file: and file:// URIs', () => {
    for (const p of [dir, `${dir}/`, md, `file:${dir}`, `file://${dir}`, `file:${md}`, `file://${md}`]) {
      assert.deepEqual(resolveSnapshotPath(p), { dir, metadataFile: md }, p);
    }
  });

  test('accepts relative paths', () => {
    const prev = process.cwd();
    process.chdir(root);
    try {
      assert.deepEqual(resolveSnapshotPath('savepoint-abcdef-0123456789ab'), { dir, metadataFile: md });
      assert.deepEqual(resolveSnapshotPath(`./savepoint-abcdef-0123456789ab/${METADATA_FILE}`), { dir, metadataFile: md });
    } finally {
      process.chdir(prev);
    }
  });

  test('stripFileScheme', () => {
    assert.equal(stripFileScheme('file:///a/b'), '/a/b');
    assert.equal(stripFileScheme('file:/a/b'), '/a/b');
    assert.equal(stripFileScheme('/a/b'), '/a/b');
    assert.equal(stripFileScheme('file://'), '/');
  });

  test('a directory without _metadata is not found, with a hint', () => {
    const empty = freshDir();
    assert.throws(() => resolveSnapshotPath(empty), notFound(/Cannot find meta data file '_metadata' in directory/));
    assert.throws(() => loadSnapshot(`file://${empty}`), notFound(/Cannot find meta data file/));
  });

  test('a missing path is not found', () => {
    const missing = join(root, 'no-such-savepoint');
    assert.throws(() => resolveSnapshotPath(missing), notFound(/Checkpoint\/savepoint path '.*no-such-savepoint' does not exist/));
    assert.throws(() => resolveSnapshotPath(`file://${missing}`), notFound(/does not exist/));
  });

  test('a file that is not _metadata is rejected', () => {
    const other = join(freshDir(), 'part-0-0');
    writeFileSync(other, 'x');
    assert.throws(() => resolveSnapshotPath(other), notFound(/neither a checkpoint\/savepoint directory nor a _metadata file/));
  });
});

describe('verifyStateFile', () => {
  function stateFile(content: Buffer): { dir: string; h: StateFileHandle } {
    const dir = freshDir();
    writeFileSync(join(dir, 'op-0-1234'), content);
    return { dir, h: { file: 'op-0-1234', size: content.length, crc32: crc32(content), keyedStates: {}, operatorStates: {}, keyedEntries: 0 } };
  }

  test('accepts an intact file and returns its bytes', () => {
    const content = Buffer.from('some state bytes \u0000\u0001');
    const { dir, h } = stateFile(content);
    assert.deepEqual(verifyStateFile(dir, h), content);
  });

  test('detects a missing file', () => {
    const { dir, h } = stateFile(Buffer.from('abc'));
    rmSync(join(dir, h.file));
    assert.throws(() => verifyStateFile(dir, h), restoreError(/op-0-1234 referenced by the snapshot's _metadata is missing/));
  });

  test('detects a size mismatch', () => {
    const { dir, h } = stateFile(Buffer.from('abcdef'));
    writeFileSync(join(dir, h.file), 'abc');
    assert.throws(() => verifyStateFile(dir, h), restoreError(/is corrupted: expected 6 bytes, found 3/));
  });

  test('detects a checksum mismatch at equal size', () => {
    const { dir, h } = stateFile(Buffer.from('abcdef'));
    writeFileSync(join(dir, h.file), 'abcdeF');
    assert.throws(() => verifyStateFile(dir, h), restoreError(/is corrupted: checksum mismatch/));
  });

  test('verifySnapshotFiles checks every file of every operator', () => {
    const dir = freshDir();
    const a = Buffer.from('aaaa');
    const b = Buffer.from('bbbbbb');
    writeFileSync(join(dir, 'a'), a);
    writeFileSync(join(dir, 'b'), b);
    const handle = (file: string, bytes: Buffer): StateFileHandle => ({ file, size: bytes.length, crc32: crc32(bytes), keyedStates: {}, operatorStates: {}, keyedEntries: 0 });
    const md = sample({
      operators: [
        { operatorId: '1'.repeat(32), name: 'x', parallelism: 1, maxParallelism: 128, subtasks: [{ subtask: 0, state: handle('a', a) }] },
        { operatorId: '2'.repeat(32), name: 'y', parallelism: 1, maxParallelism: 128, subtasks: [{ subtask: 0, state: handle('b', b) }] },
      ],
    });
    writeMetadataAtomically(dir, md);
    assert.doesNotThrow(() => verifySnapshotFiles(loadSnapshot(dir)));
    writeFileSync(join(dir, 'b'), 'bbbbbB');
    assert.throws(() => verifySnapshotFiles(loadSnapshot(dir)), restoreError(/\/b is corrupted: checksum mismatch/));
    rmSync(join(dir, 'b'));
    assert.throws(() => verifySnapshotFiles(loadSnapshot(dir)), restoreError(/missing/));
    assert.ok(existsSync(join(dir, 'a')));
  });
});
