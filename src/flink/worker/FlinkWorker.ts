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
 * JsOperator. On the first OPEN it runs the job program up to execute() to rebuild the StreamGraph (node ids follow
 * creation order, so they match the plan the CLI exported), then serves frames: OPEN builds the subtask's chain,
 * BATCH runs records through it, SNAPSHOT/COMPLETE/CLOSE follow Flink's operator lifecycle.
 */
export async function runFlinkWorker(loadProgram: () => Promise<unknown>): Promise<void> {
  const path = process.env.FLINK_TS_WORKER_SOCKET!;
  let job: Promise<{ sg: StreamGraph; plan: FlinkPlan }> | undefined;
  const loadJob = (programArgs: string[]) => (job ??= new Promise((resolve, reject) => {
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
  }));

  const server = createServer((socket) => serve(socket, loadJob));
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

function serve(socket: Socket, loadJob: (args: string[]) => Promise<{ sg: StreamGraph; plan: FlinkPlan }>): void {
  const reader = new FrameReader();
  let chain: JsChain | undefined;
  let queue = Promise.resolve();
  let failed = false;
  const handle = async (type: number, payload: Buffer): Promise<void> => {
    switch (type) {
      case Frame.OPEN: {
        const m = JSON.parse(payload.toString('utf8')) as OpenMessage;
        const { sg, plan } = await loadJob(m.programArgs ?? []);
        const op = plan.operators.find((o) => o.id === m.operator);
        if (!op) throw new Error(`operator ${m.operator} is not in the job's plan (was the bundle built from another program?)`);
        chain = new JsChain(sg, plan, op, m);
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
