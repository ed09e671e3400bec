import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { crc32 } from 'node:zlib';
import { decode, encode } from '../core/Serializer.js';
import { verifyStateFile } from '../state/StateFile.js';
import type { ChannelStateHandle } from '../state/StateHandles.js';
import type { InputChannelState } from './CheckpointBarrierHandler.js';
import type { Batch, OvertakenRecords } from './network/RecordWriter.js';

/** Output records an overtaking barrier jumped over, by outgoing edge and channel (= target subtask). */
export interface OutputChannelState {
  writer: number;
  channel: number;
  batches: OvertakenRecords;
}

interface ChannelStateFile {
  version: 1;
  inputs: InputChannelState[];
  outputs: OutputChannelState[];
}

export async function writeChannelState(path: string, inputs: InputChannelState[], outputs: OutputChannelState[]): Promise<ChannelStateHandle> {
  const bytes = encode({ version: 1, inputs, outputs } satisfies ChannelStateFile);
  const fh = await open(path, 'wx');
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
  let inputRecords = 0;
  for (const i of inputs) for (const b of i.batches) inputRecords += decode<Batch>(b).records.length;
  return {
    file: basename(path), size: bytes.length, crc32: crc32(bytes), inputRecords,
    outputRecords: outputs.reduce((n, o) => n + o.batches.reduce((m, b) => m + b.records.length, 0), 0),
  };
}

/** Reads and verifies (size, CRC32) a subtask's channel state. */
export function readChannelState(dir: string, h: ChannelStateHandle): { inputs: { channel: number; batches: Batch[] }[]; outputs: OutputChannelState[] } {
  const st = decode<ChannelStateFile>(verifyStateFile(dir, h));
  return {
    inputs: st.inputs.map((i) => ({ channel: i.channel, batches: i.batches.map((b) => decode<Batch>(b)) })),
    outputs: st.outputs,
  };
}
