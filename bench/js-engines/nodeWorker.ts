/**
 * The Node.js worker of the probe's design (c): the JVM writes frames [u32 LE length][u8 kind][V8-serialized
 * payload] to stdin and reads one reply frame [u32 LE length][V8-serialized payload] per request from stdout.
 * kind 1: lines -> words; kind 2: [keys, values, states] -> new states (state lives in the JVM, as in Flink state).
 */
import { deserialize, serialize } from 'node:v8';
import { flatMapBatch, sumBatch } from './harness.js';

let pending: Buffer = Buffer.alloc(0);
process.stdin.on('data', (chunk: Buffer) => {
  pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
  let at = 0;
  const replies: Buffer[] = [];
  while (pending.length - at >= 4) {
    const len = pending.readUInt32LE(at);
    if (pending.length - at - 4 < len) break;
    const kind = pending[at + 4];
    const payload = deserialize(pending.subarray(at + 5, at + 4 + len));
    at += 4 + len;
    const result = kind === 1 ? flatMapBatch(payload) : sumBatch(payload[0], payload[1], payload[2]);
    const body = serialize(result);
    const head = Buffer.allocUnsafe(4);
    head.writeUInt32LE(body.length, 0);
    replies.push(head, body);
  }
  pending = at === pending.length ? Buffer.alloc(0) : pending.subarray(at);
  if (replies.length > 0) process.stdout.write(Buffer.concat(replies));
});
process.stdin.on('end', () => process.exit(0));
