import { createServer, type Socket } from 'node:net';
import { rmSync } from 'node:fs';
import { setProgramContext } from '../../api/ProgramContext.js';
import type { StreamGraph } from '../../graph/StreamGraph.js';
import { exportPlan, type FlinkPlan } from '../FlinkPlan.js';
import { BinWriter, Frame, FrameReader, jsonFrame } from './Frames.js';
import { JsChain, type OpenMessage } from './JsChain.js';

/**
 * The Node.js worker of the Flink runner (docs/flink-runner.md): the job bundle started by the first JsOperator of a
 * TaskManager with FLINK_TS_WORKER_SOCKET set. It listens on that Unix socket; each connection is one subtask of one
 * JsOperator. On OPEN a fresh instance of the bundle runs the job program up to execute() to rebuild the StreamGraph
 * (node ids follow creation order, so they match the plan the CLI exported) and builds the subtask's chain; BATCH runs
 * records through it, SNAPSHOT/COMPLETE/CLOSE follow Flink's operator lifecycle.
 */
interface Instance {
  /** Runs this instance's copy of the program up to execute() (once). */
  loadJob: (programArgs: string[]) => Promise<{ sg: StreamGraph; plan: FlinkPlan }>;
  newChain: (sg: StreamGraph, plan: FlinkPlan, op: FlinkPlan['operators'][number], m: OpenMessage) => JsChain;
}

const SERVER = Symbol.for('flink-ts.worker.server');
type Holder = { [SERVER]?: { register(i: Instance): void } };

function instanceOf(loadProgram: () => Promise<unknown>): Instance {
  let job: Promise<{ sg: StreamGraph; plan: FlinkPlan }> | undefined;
  return {
    loadJob: (programArgs) => (job ??= new Promise((resolve, reject) => {
      setProgramContext({
        mode: 'capture',
        config: {},
        execute: (sg) => {
          resolve({ sg, plan: exportPlan(sg, programArgs) });
          return new Promise<never>(() => {}); // the program never gets past execute() in the worker
        },
      });
      process.argv = [process.argv[0], 'job', ...programArgs];
      loadProgram().then(() => reject(new Error('the job program did not call env.execute()')), reject);
    })),
    newChain: (sg, plan, op, m) => new JsChain(sg, plan, op, m),
  };
}

/**
 * `selfUrl`: the bundle's own URL. Every subtask gets its own instance of the bundle (imported again with a query
 * string: its own copy of the program, its user function objects and flink-ts), as each mini-cluster subtask runs
 * the program in its own worker thread; a function object's fields (state handles set in open()) are per subtask.
 */
export async function runFlinkWorker(loadProgram: () => Promise<unknown>, selfUrl?: string): Promise<void> {
  const holder = globalThis as Holder;
  const own = instanceOf(loadProgram);
  if (holder[SERVER]) return holder[SERVER].register(own); // a subtask's instance, imported by the server below
  let registered: ((i: Instance) => void) | undefined;
  holder[SERVER] = { register: (i) => registered?.(i) };
  let instances = 0;
  let queue: Promise<unknown> = Promise.resolve();
  // One at a time: an instance registers itself while it loads, and the program context is global.
  const subtaskJob = (programArgs: string[]) => {
    const next = queue.then(async () => {
      const inst = selfUrl
        ? await new Promise<Instance>((resolve, reject) => {
          registered = resolve;
          import(`${selfUrl}?subtask=${++instances}`).catch(reject);
        })
        : own;
      return { inst, ...(await inst.loadJob(programArgs)) };
    });
    queue = next.catch(() => undefined);
    return next;
  };
  const path = process.env.FLINK_TS_WORKER_SOCKET!;
  const server = createServer((socket) => serve(socket, subtaskJob));
  rmSync(path, { force: true });
  server.listen(path);
  // The TaskManager stops us when its last JsOperator closes; if it dies instead, we must not outlive it.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.exit(0);
  }, 1000).unref();
  const stop = () => {
    server.close();
    rmSync(path, { force: true });
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

function serve(socket: Socket, subtaskJob: (args: string[]) => Promise<{ inst: Instance; sg: StreamGraph; plan: FlinkPlan }>): void {
  const reader = new FrameReader();
  let chain: JsChain | undefined;
  let queue = Promise.resolve();
  let failed = false;
  const handle = async (type: number, payload: Buffer): Promise<void> => {
    switch (type) {
      case Frame.OPEN: {
        const m = JSON.parse(payload.toString('utf8')) as OpenMessage;
        const { inst, sg, plan } = await subtaskJob(m.programArgs ?? []);
        const op = plan.operators.find((o) => o.id === m.operator);
        if (!op) throw new Error(`operator ${m.operator} is not in the job's plan (was the bundle built from another program?)`);
        chain = inst.newChain(sg, plan, op, m);
        socket.write(jsonFrame(Frame.OPENED, chain.open()));
        return;
      }
      case Frame.BATCH:
        socket.write((await chain!.batch(payload)).frame(Frame.RESULT));
        return;
      case Frame.SNAPSHOT: {
        const { checkpointId } = JSON.parse(payload.toString('utf8')) as { checkpointId: number };
        socket.write(jsonFrame(Frame.SNAPSHOTTED, await chain!.snapshot(checkpointId)));
        return;
      }
      case Frame.COMPLETE: {
        const { checkpointId } = JSON.parse(payload.toString('utf8')) as { checkpointId: number };
        await chain!.complete(checkpointId);
        socket.write(new BinWriter().frame(Frame.ACK));
        return;
      }
      case Frame.CLOSE:
        chain?.close();
        chain = undefined;
        socket.write(new BinWriter().frame(Frame.ACK));
        return;
      default:
        throw new Error(`unknown frame type ${type}`);
    }
  };
  socket.on('data', (chunk: Buffer) => {
    for (const f of reader.push(chunk)) {
      queue = queue.then(() => (failed ? undefined : handle(f.type, f.payload))).catch((e: unknown) => {
        const err = e as Error;
        failed = true;
        process.stderr.write(`flink-ts worker: ${err?.stack ?? String(e)}\n`);
        socket.end(new BinWriter().bytesRaw(Buffer.from(err?.message ?? String(e), 'utf8')).frame(Frame.ERROR));
      });
    }
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    try {
      chain?.close();
    } catch {
      // the subtask is gone
    }
  });
}
