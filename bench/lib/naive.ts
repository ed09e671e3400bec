import { isMainThread, parentPort, Worker, workerData, MessageChannel, type MessagePort } from 'node:worker_threads';
import { bid } from './nexmark.js';

/**
 * The floor: what a user writes by hand without a framework — two worker threads, one generating bids
 * and one consuming them, with one postMessage per record. Returns records per second.
 */
export async function naivePipeline(records: number): Promise<number> {
  const { port1, port2 } = new MessageChannel();
  const producer = spawn({ role: 'producer', records, port: port1 }, [port1]);
  const consumer = spawn({ role: 'consumer', records, port: port2 }, [port2]);
  const result = await new Promise<{ first: number; last: number }>((resolve, reject) => {
    consumer.once('message', resolve);
    consumer.once('error', reject);
    producer.once('error', reject);
  });
  await Promise.all([producer.terminate(), consumer.terminate()]);
  return records / ((result.last - result.first) / 1000);
}

function spawn(data: { role: string; records: number; port: MessagePort }, transfer: MessagePort[]): Worker {
  const self = import.meta.url;
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(self)}); })`;
  return new Worker(boot, { eval: true, workerData: data, transferList: transfer });
}

if (!isMainThread && workerData?.role) {
  const { role, records, port } = workerData as { role: string; records: number; port: MessagePort };
  if (role === 'producer') {
    for (let i = 0; i < records; i++) port.postMessage(bid(i));
  } else {
    let n = 0;
    let first = 0;
    port.on('message', () => {
      if (n === 0) first = performance.timeOrigin + performance.now();
      if (++n === records) {
        parentPort!.postMessage({ first, last: performance.timeOrigin + performance.now() });
        port.close();
      }
    });
  }
}
