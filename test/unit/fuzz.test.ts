/**
 * Property-based fuzzing of everything a user (or a damaged disk) hands us: CLI arguments, configuration YAML,
 * snapshot paths (including `savepoint -d`) and `_metadata` bytes. The property is always the same: the input
 * is accepted, or refused with a FlinkError (a one-line message and a stable exit code) — never another
 * exception (a stack trace), and never a file touched outside what the tool owns.
 *
 * Case counts: FUZZ_RUNS per in-process target (default 100 in `npm test`; `npm run fuzz` uses 1000), and
 * FUZZ_CLI_RUNS real `flink` processes (default 4; each costs about half a second).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { Parser } from '@oclif/core';
import YAML from 'yaml';
import { COMMANDS } from '../../commands/index.js';
import { parseSavepointSchedule } from '../../src/checkpoint/PeriodicSavepoints.js';
import { errorKindOf, oneLineMessage } from '../../commands/errors.js';
import { splitOptionalValueFlag } from '../../commands/flags.js';
import { parseFormatType } from '../../src/core/SavepointFormatType.js';
import { isFlinkError } from '../../src/core/FlinkError.js';
import { Configuration, parseDynamicProperty } from '../../src/config/Configuration.js';
import { tryParseDuration } from '../../src/config/Duration.js';
import { ParameterTool } from '../../src/api/ParameterTool.js';
import { normalizeEndpoint } from '../../src/rest/RestClient.js';
import { expandPortSpec } from '../../src/rest/RestServer.js';
import { parseJobId } from '../../src/client/ClusterClient.js';
import {
  decodeMetadata, encodeMetadata, loadSnapshot, resolveSnapshotPath, verifySnapshotFiles, writeMetadataAtomically, type CheckpointMetadata,
} from '../../src/checkpoint/Metadata.js';
import { disposeSavepoint } from '../../src/checkpoint/SavepointDisposal.js';
import { inspectSnapshot } from '../../src/tools/SnapshotInspector.js';
import { parseFaultSpec } from '../../src/core/FaultInjection.js';
import { CheckpointIndex } from '../../src/catalog/CheckpointIndex.js';
import { createWorkspace, cleanup, ensureBuilt, flink, listTree, STACK_FRAME, type Workspace } from '../e2e/helpers.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 100);
const CLI_RUNS = Number(process.env.FUZZ_CLI_RUNS ?? 4);
const params = { numRuns: RUNS, seed: process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined };

/** Runs fn; an exception must be a FlinkError (or what the CLI maps to one). Returns it, if any. */
function refusedCleanly(fn: () => unknown, what: string): unknown {
  try {
    fn();
    return undefined;
  } catch (e) {
    assert.ok(isFlinkError(e), `${what}: not a FlinkError but ${(e as Error)?.stack ?? String(e)}`);
    assert.doesNotMatch(oneLineMessage(e), /\n/, `${what}: one line as the CLI prints it`);
    return e;
  }
}

/** refusedCleanly for an asynchronous operation: a rejection must be a FlinkError too. */
async function rejectedCleanly(fn: () => Promise<unknown>, what: string): Promise<unknown> {
  try {
    await fn();
    return undefined;
  } catch (e) {
    return refusedCleanly(() => {
      throw e;
    }, what);
  }
}

const nasty = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.constantFrom('', '-', '--', '-p', '-p0', '-p-1', '-pfoo', '--parallelism=99999999999', '-D', '-Dx', '-D=', '-Dk=v', '--json', '--verbose',
    '-s', '-sfile:', '--withSavepoint=', '-m', '-m:', '-m http://[::1', '-t', '-tWEIRD', '-d', '-a', '-n', '--help', '--dump', '--dry-run',
    '../../etc', '/', 'file:', 'file:///', '\u0000', '%00', '${HOME}', '$(rm -rf /)', '0'.repeat(32), 'g'.repeat(32), 'x'.repeat(5000)),
);

describe(`fuzz (FUZZ_RUNS=${RUNS}, FUZZ_CLI_RUNS=${CLI_RUNS})`, () => {
  test('CLI argument parsing of every verb (oclif, in-process): parsed or a usage error, never a crash', async () => {
    await fc.assert(fc.asyncProperty(fc.constantFrom(...Object.keys(COMMANDS)), fc.array(nasty, { maxLength: 8 }), async (verb, argv) => {
      const C = COMMANDS[verb]!;
      let args = argv;
      if (verb === 'cancel') args = splitOptionalValueFlag(argv, 's', 'withSavepoint');
      if (verb === 'stop') args = splitOptionalValueFlag(argv, 'p', 'savepointPath');
      try {
        await Parser.parse(args, { flags: { ...C.baseFlags, ...C.flags }, args: C.args, strict: C.strict ?? true });
      } catch (e) {
        assert.notEqual(errorKindOf(e), 'internal', `${verb} ${JSON.stringify(argv)}: ${(e as Error)?.stack}`);
        assert.doesNotMatch(oneLineMessage(e), /\n/);
      }
    }), params);
  });

  test('argument values: job ids, -D, -t, -m, durations, port specs, program arguments, fault specs', () => {
    fc.assert(fc.property(nasty, (s) => {
      refusedCleanly(() => parseJobId(s), 'parseJobId');
      refusedCleanly(() => parseDynamicProperty(s), 'parseDynamicProperty');
      refusedCleanly(() => parseFormatType(s), 'parseFormatType');
      refusedCleanly(() => normalizeEndpoint(s), 'normalizeEndpoint');
      refusedCleanly(() => expandPortSpec(s.slice(0, 40)), 'expandPortSpec');
      refusedCleanly(() => parseSavepointSchedule(s.slice(0, 200)), 'parseSavepointSchedule');
      refusedCleanly(() => parseSavepointSchedule(`${s.slice(0, 40)} * * * *`), 'parseSavepointSchedule (cron)');
      assert.doesNotThrow(() => tryParseDuration(s));
      try {
        ParameterTool.fromArgs([s, s, '--k', s]); // a job program's own API: refuses like Flink's, with an Error
      } catch (e) {
        assert.ok(e instanceof Error && e.constructor === Error && /^Error parsing arguments/.test(e.message), String(e));
      }
      assert.throws(() => parseFaultSpec(`${s}:x`), /Invalid FLINK_TS_FAULT/);
    }), params);
  });

  describe('configuration YAML', () => {
    let dir: string;
    before(() => (dir = mkdtempSync(join(tmpdir(), 'flink-ts-fuzz-conf-'))));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const known = fc.constantFrom('parallelism.default', 'taskmanager.numberOfTaskSlots', 'state.checkpoints.dir', 'execution.checkpointing.interval',
      'execution.checkpointing.tolerable-failed-checkpoints', 'restart-strategy.type', 'rest.bind-port', 'rest.auth.token', 'pipeline.max-parallelism',
      'execution.checkpointing.mode', 'state.checkpoints.num-retained', 'index.path', 'periodic.savepoint.interval',
      'restart-strategy.exponential-delay.backoff-multiplier', 'restart-strategy.exponential-delay.jitter-factor', 'restart-strategy.failure-rate.max-failures-per-interval');
    const value = fc.oneof(fc.string(), fc.integer().map(String), fc.constantFrom('-1', '0', '1 min', '10 zz', 'NONE', 'true', '[]', '{}', '~', '!!binary x', '*a', '&a b'));
    const flat = fc.array(fc.tuple(fc.oneof(known, fc.string()), value), { maxLength: 10 }).map((kv) => kv.map(([k, v]) => `${k}: ${v}`).join('\n'));
    const nested = fc.jsonValue().map((v) => YAML.stringify(v));
    test('flink-conf.yaml and config.yaml: loaded and validated, or a config error naming the problem', () => {
      fc.assert(fc.property(fc.oneof(flat, nested, fc.string({ unit: 'binary' })), fc.boolean(), (text, modern) => {
        rmSync(join(dir, 'flink-conf.yaml'), { force: true });
        rmSync(join(dir, 'config.yaml'), { force: true });
        writeFileSync(join(dir, modern ? 'config.yaml' : 'flink-conf.yaml'), text);
        refusedCleanly(() => Configuration.load({ confDir: dir, env: {} }).config.validate(), `config ${JSON.stringify(text).slice(0, 200)}`);
      }), params);
    });
  });

  describe('snapshot paths and savepoint -d', () => {
    let root: string;
    let sandbox: string;
    let outside: string;
    let savepoint: string;
    let outsideTree: string[];
    const md = (kind: 'SAVEPOINT' | 'CHECKPOINT', file: string, bytes: Buffer): CheckpointMetadata => ({
      formatVersion: 1, jobId: 'a'.repeat(32), jobName: 'fuzz', checkpointId: 7, kind, format: kind === 'SAVEPOINT' ? 'CANONICAL' : 'NATIVE',
      triggerTimestamp: 1, completionTimestamp: 2, maxParallelism: 128,
      operators: [{ operatorId: 'b'.repeat(32), name: 'op', parallelism: 1, maxParallelism: 128, subtasks: [{ subtask: 0, state: {
        file, size: bytes.length, crc32: crc32(bytes), keyedStates: {}, operatorStates: {}, keyedEntries: 0 } }] }],
    });
    const makeSavepoint = () => {
      mkdirSync(savepoint, { recursive: true });
      const bytes = Buffer.from([0, 0, 0, 0]);
      writeFileSync(join(savepoint, 'state-0'), bytes);
      writeMetadataAtomically(savepoint, md('SAVEPOINT', 'state-0', bytes));
    };
    before(() => {
      root = mkdtempSync(join(tmpdir(), 'flink-ts-fuzz-paths-'));
      sandbox = join(root, 'sandbox');
      outside = join(root, 'outside');
      savepoint = join(sandbox, 'savepoint-aaaaaa-000000000000');
      makeSavepoint();
      const chk = join(sandbox, 'chk-3');
      mkdirSync(chk, { recursive: true });
      writeFileSync(join(chk, 'state-0'), Buffer.from([1]));
      writeMetadataAtomically(chk, md('CHECKPOINT', 'state-0', Buffer.from([1])));
      // Looks like a savepoint but its metadata points outside: must be refused, nothing deleted.
      const escaping = join(sandbox, 'savepoint-bbbbbb-000000000000');
      mkdirSync(escaping, { recursive: true });
      writeMetadataAtomically(escaping, md('SAVEPOINT', '../../outside/precious', Buffer.from('precious')));
      mkdirSync(join(sandbox, 'plain'), { recursive: true });
      writeFileSync(join(sandbox, 'plain', 'data.txt'), 'keep me');
      writeFileSync(join(sandbox, 'plain', '_metadata'), 'not metadata');
      mkdirSync(outside, { recursive: true });
      writeFileSync(join(outside, 'precious'), 'precious');
      writeFileSync(join(outside, '_metadata'), encodeMetadata(md('SAVEPOINT', 'precious', Buffer.from('other'))));
      outsideTree = listTree(outside);
    });
    after(() => rmSync(root, { recursive: true, force: true }));

    const segment = fc.oneof(
      fc.constantFrom('savepoint-aaaaaa-000000000000', 'savepoint-bbbbbb-000000000000', 'chk-3', 'plain', '..', '.', '_metadata', 'state-0',
        'data.txt', 'nonexistent', '', 'outside', 'precious'),
      fc.string({ maxLength: 8 }),
    );
    const path = fc.tuple(fc.constantFrom('', 'file:', 'file://', 'file:/'), fc.boolean(), fc.array(segment, { maxLength: 5 }))
      .map(([scheme, absolute, segs]) => `${scheme}${absolute ? sandbox : ''}${absolute ? '/' : ''}${segs.join('/')}`);

    test('resolve, load, verify, inspect and dispose: a result or a FlinkError; only the recognised savepoint is ever deleted', async () => {
      await fc.assert(fc.asyncProperty(path, async (p) => {
        const before = listTree(sandbox);
        refusedCleanly(() => resolveSnapshotPath(p), `resolve ${p}`);
        refusedCleanly(() => verifySnapshotFiles(loadSnapshot(p)), `verify ${p}`);
        refusedCleanly(() => inspectSnapshot(p), `inspect ${p}`);
        await rejectedCleanly(() => disposeSavepoint(p), `dispose ${p}`);
        const removed = before.filter((f) => !listTree(sandbox).includes(f));
        for (const f of removed) assert.match(f, /^savepoint-aaaaaa-000000000000\/(state-0|_metadata)$/, `dispose ${p} removed ${f}`);
        assert.deepEqual(listTree(outside), outsideTree, `dispose ${p} touched a file outside`);
        assert.equal(readFileSync(join(outside, 'precious'), 'utf8'), 'precious');
        if (removed.length > 0) {
          rmSync(savepoint, { recursive: true, force: true });
          makeSavepoint();
        }
      }), params);
    });
  });

  describe('_metadata bytes', () => {
    let dir: string;
    let valid: CheckpointMetadata;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'flink-ts-fuzz-md-'));
      writeFileSync(join(dir, 'state-0'), Buffer.from([0, 0, 0, 0]));
      valid = {
        formatVersion: 1, jobId: 'c'.repeat(32), jobName: 'fuzz', checkpointId: 3, kind: 'SAVEPOINT', format: 'CANONICAL',
        triggerTimestamp: 1, completionTimestamp: 2, maxParallelism: 128,
        operators: [{ operatorId: 'd'.repeat(32), uid: 'op', name: 'op', parallelism: 1, maxParallelism: 128, subtasks: [{ subtask: 0, state: {
          file: 'state-0', size: 4, crc32: crc32(Buffer.from([0, 0, 0, 0])), keyGroupRange: [0, 127], keyGroupOffsets: [], operatorStateOffset: 0,
          keyedStates: { count: 'value' }, operatorStates: {}, keyedEntries: 0 } }] }],
      };
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    /** Every consumer of a snapshot: decode, load + verify, inspect, index rebuild. */
    const consume = (bytes: Buffer, what: string) => {
      writeFileSync(join(dir, '_metadata'), bytes);
      refusedCleanly(() => decodeMetadata(bytes, '_metadata'), `decode ${what}`);
      refusedCleanly(() => verifySnapshotFiles(loadSnapshot(dir)), `verify ${what}`);
      refusedCleanly(() => inspectSnapshot(dir), `inspect ${what}`);
    };

    test('random bytes and mutations of a valid file (flips, truncation, extension) are refused as corrupt', () => {
      const good = encodeMetadata(valid);
      fc.assert(fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
          fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 1, max: 255 })).map(([i, x]) => { const b = Buffer.from(good); b[i] ^= x; return b; }),
          fc.nat(good.length - 1).map((n) => good.subarray(0, n)),
          fc.uint8Array({ minLength: 1, maxLength: 20 }).map((a) => Buffer.concat([good, Buffer.from(a)])),
        ),
        (bytes) => {
          consume(bytes, 'mutated bytes');
          assert.throws(() => decodeMetadata(bytes, '_metadata'), (e) => isFlinkError(e) && e.kind === 'restore');
        },
      ), params);
    });

    test('a valid header and checksum over arbitrary JSON is refused or handled, never a TypeError', () => {
      const field = fc.constantFrom('jobId', 'checkpointId', 'kind', 'operators', 'maxParallelism', 'format', 'jobName', 'finishedOperators');
      const mutated = fc.tuple(field, fc.jsonValue(), fc.constantFrom('top', 'op', 'subtask', 'state'), fc.constantFrom('operatorId', 'subtasks', 'parallelism',
        'file', 'size', 'crc32', 'keyGroupRange', 'keyGroupOffsets', 'keyedStates', 'operatorStates', 'subtask', 'state', 'uid', 'name'))
        .map(([f, v, level, inner]) => {
          const m = structuredClone(valid) as unknown as Record<string, any>;
          if (level === 'top') m[f] = v;
          else if (level === 'op') m.operators[0][inner] = v;
          else if (level === 'subtask') m.operators[0].subtasks[0][inner] = v;
          else m.operators[0].subtasks[0].state[inner] = v;
          return m;
        });
      fc.assert(fc.property(fc.oneof(fc.jsonValue(), mutated), (payload) => {
        const json = Buffer.from(JSON.stringify(payload) ?? 'null', 'utf8');
        const header = Buffer.alloc(20);
        header.write('FLTSMETA', 0, 'latin1');
        header.writeUInt32BE(1, 8);
        header.writeUInt32BE(json.length, 12);
        header.writeUInt32BE(crc32(json), 16);
        const bytes = Buffer.concat([header, json]);
        consume(bytes, JSON.stringify(payload).slice(0, 300));
        // The index treats such a folder as not complete, without failing.
        const idxDir = mkdtempSync(join(tmpdir(), 'flink-ts-fuzz-idx-'));
        try {
          const sp = join(idxDir, 'sp', 'savepoint-cccccc-000000000000');
          mkdirSync(sp, { recursive: true });
          cpSync(join(dir, 'state-0'), join(sp, 'state-0'));
          writeFileSync(join(sp, '_metadata'), bytes);
          const index = CheckpointIndex.open({ path: join(idxDir, 'index.sqlite'), savepointsDir: join(idxDir, 'sp') });
          try {
            refusedCleanly(() => index.rebuild(), 'index rebuild');
          } finally {
            index.close();
          }
        } finally {
          rmSync(idxDir, { recursive: true, force: true });
        }
      }), { ...params, numRuns: Math.max(10, Math.floor(RUNS / 2)) });
    });
  });

  describe('real CLI processes', () => {
    let ws: Workspace;
    let outsideTree: string[];
    before(async () => {
      await ensureBuilt();
      ws = createWorkspace();
      mkdirSync(join(ws.dir, 'outside'), { recursive: true });
      writeFileSync(join(ws.dir, 'outside', 'precious.txt'), 'precious');
      writeFileSync(join(ws.dir, 'outside', '_metadata'), 'not metadata');
      outsideTree = listTree(join(ws.dir, 'outside'));
    });
    after(() => cleanup(ws));

    test('random verbs and arguments: a known exit code, at most one error line, no stack trace, nothing outside touched', { timeout: 600_000 }, async () => {
      const out = join(ws.dir, 'outside');
      // NUL cannot be passed in a process's argv at all (the spawn itself refuses it).
      const arg = fc.oneof(nasty.map((a) => a.replaceAll('\u0000', '')), fc.constantFrom(out, join(out, 'precious.txt'), join(out, '_metadata'), `file:${out}`, join(out, '..'), 'a'.repeat(32)));
      const verbs = fc.constantFrom('list', 'savepoint', 'savepoint -d', 'cancel', 'stop', 'state', 'run', 'nonsense');
      await fc.assert(fc.asyncProperty(verbs, fc.array(arg, { maxLength: 5 }), async (verb, argv) => {
        // `run` only with arguments that cannot name a runnable job file.
        const r = await flink(ws, [...verb.split(' '), ...argv], { timeoutMs: 60_000 });
        const what = `flink ${verb} ${JSON.stringify(argv)}: exit ${r.exitCode}\n${r.stderr}`;
        assert.ok([0, 1, 2, 3, 4, 5, 6, 7].includes(r.exitCode), what);
        if (!argv.includes('--verbose')) { // --verbose asks for stack traces
          assert.doesNotMatch(r.stderr, STACK_FRAME, what);
          assert.doesNotMatch(r.stdout, STACK_FRAME, what);
        }
        if (r.exitCode !== 0) assert.ok(r.stderr.split('\n').filter((l) => l.startsWith('flink: ')).length <= 1, what);
        assert.deepEqual(listTree(out), outsideTree, what);
        assert.equal(readFileSync(join(out, 'precious.txt'), 'utf8'), 'precious');
      }), { numRuns: CLI_RUNS, seed: params.seed });
    });
  });
});

