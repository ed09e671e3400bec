/**
 * Design (d), the ceiling: the same harness and user functions in one Node.js process, no boundary (the
 * records are UTF-8 bytes decoded per record, state in a Map). Same arguments and JSON line as the probe:
 *   node plainNode.js tokenize|sum --batch B --records R --keys K --warmup W --measured M --warmup-ms T
 */
import { readFileSync } from 'node:fs';
import { flatMapBatch, sumBatch } from './harness.js';
import { key, line } from './data.js';

const t0 = performance.now();
const [workload, ...rest] = process.argv.slice(2);
const opt: Record<string, string> = {};
for (let i = 0; i + 1 < rest.length; i += 2) opt[rest[i].replace(/^--/, '')] = rest[i + 1];
const batch = Number(opt.batch ?? 1024), records = Number(opt.records ?? 100000), keys = Number(opt.keys ?? 1000000);
const warmup = Number(opt.warmup ?? 1), measured = Number(opt.measured ?? 3), warmupLimitMs = Number(opt['warmup-ms'] ?? 0);
const input = Array.from({ length: records }, (_, i) => Buffer.from(workload === 'tokenize' ? line(i) : key(i, keys)));
const values = Array.from({ length: records }, (_, i) => i % 100);
flatMapBatch(['Hello world']);
const engineStartMs = performance.now() - t0;

function tokenizePass(): string {
  let words = 0, chars = 0;
  for (let from = 0; from < records; from += batch) {
    const lines: string[] = [];
    for (let i = from; i < Math.min(records, from + batch); i++) lines.push(input[i].toString());
    for (const w of flatMapBatch(lines)) { words++; chars += w.length; }
  }
  return `${words}/${chars}`;
}

function sumPass(): string {
  const state = new Map<string, number>();
  let total = 0;
  for (let from = 0; from < records; from += batch) {
    const n = Math.min(records, from + batch) - from;
    const k: string[] = [], v: number[] = [], s: (number | null)[] = [];
    for (let j = 0; j < n; j++) { k.push(input[from + j].toString()); v.push(values[from + j]); s.push(state.get(k[j]) ?? null); }
    const sums = sumBatch(k, v, s);
    for (let j = 0; j < n; j++) { state.set(k[j], sums[j]); total += sums[j]; }
  }
  return `${state.size}/${total}`;
}

const warmupMs: number[] = [], passMs: number[] = [];
let check = '';
const pass = (into: number[]) => {
  const s = performance.now();
  check = workload === 'tokenize' ? tokenizePass() : sumPass();
  into.push(Math.round((performance.now() - s) * 10) / 10);
};
const warmStart = performance.now();
while (warmupMs.length < warmup || performance.now() - warmStart < warmupLimitMs) pass(warmupMs);
for (let p = 0; p < measured; p++) pass(passMs);
const hwm = Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0);
console.log(JSON.stringify({ design: 'plain-node', workload, node: process.version, batch, records, keys,
  engineStartMs: Math.round(engineStartMs * 10) / 10, warmupMs, passMs, jvmPeakRssKb: 0, childPeakRssKb: hwm, check }));
