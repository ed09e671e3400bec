import { Configuration } from '../config/Configuration.js';
import { describeError, isFlinkError } from '../core/FlinkError.js';
import { runJob } from './JobRunner.js';

/**
 * The detached cluster process of `flink run -d`: the CLI spawns it with the request in
 * FLINK_TS_RUN_REQUEST and an IPC channel, and leaves once it reports the job as submitted.
 */
export interface DetachedRequest {
  jobId: string;
  jobFile: string;
  programArgs: string[];
  config: Record<string, string>;
  savepointPath?: string;
  allowNonRestoredState?: boolean;
}

export type EntrypointMessage =
  | { type: 'submitted'; jobId: string; restUrl: string; logFile: string }
  | { type: 'failed'; kind: string; message: string };

const send = (m: EntrypointMessage) => {
  if (process.connected) process.send?.(m);
};

async function main(): Promise<number> {
  const req = JSON.parse(process.env.FLINK_TS_RUN_REQUEST ?? '{}') as DetachedRequest;
  delete process.env.FLINK_TS_RUN_REQUEST;
  let cancel: () => void = () => {};
  const cancelSignal = new Promise<void>((r) => (cancel = r));
  process.on('SIGTERM', () => cancel());
  process.on('SIGINT', () => cancel());
  try {
    const result = await runJob({
      ...req,
      config: Configuration.fromMap(req.config),
      stdout: (t) => process.stdout.write(t),
      cancelSignal,
      onSubmitted: (info) => {
        send({ type: 'submitted', ...info });
        if (process.connected) process.disconnect();
      },
    });
    return result.status === 'FAILED' ? 1 : 0;
  } catch (e) {
    send({ type: 'failed', kind: isFlinkError(e) ? e.kind : 'internal', message: describeError(e) });
    process.stderr.write(`${(e as Error)?.stack ?? String(e)}\n`);
    return 1;
  }
}

main().then((code) => process.exit(code));
