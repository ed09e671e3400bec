/**
 * The frame protocol between the Flink runner's JsOperator (jvm/flink-runner, Frames.java) and this worker: int32
 * big-endian length of what follows, one type byte, the payload. Control frames carry JSON; BATCH and RESULT are
 * binary (docs/flink-runner.md has their layout). Strings and byte arrays are int32 length + bytes, -1 for none.
 */
export const Frame = {
  ERROR: 0, OPEN: 1, OPENED: 2, BATCH: 3, RESULT: 4, SNAPSHOT: 5, SNAPSHOTTED: 6, COMPLETE: 7, ACK: 8, CLOSE: 9,
} as const;

export const Event = { RECORD: 1, WATERMARK: 2, END_INPUT: 3, TIMER: 4 } as const;

/** Java's Long.MIN_VALUE: a record without timestamp. */
export const NO_TIMESTAMP = -(2n ** 63n);

/** Splits a byte stream into frames; a large frame's chunks are joined once, when it is complete. */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Bytes the frame at the head needs (0: unknown until its length is buffered). */
  private need = 0;

  push(chunk: Buffer): Array<{ type: number; payload: Buffer }> {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (this.buffered < Math.max(this.need, 4)) return [];
    const buf = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.buffered);
    const frames: Array<{ type: number; payload: Buffer }> = [];
    let pos = 0;
    this.need = 0;
    while (buf.length - pos >= 4) {
      const len = buf.readInt32BE(pos);
      if (buf.length - pos - 4 < len) {
        this.need = len + 4;
        break;
      }
      frames.push({ type: buf[pos + 4], payload: buf.subarray(pos + 5, pos + 4 + len) });
      pos += 4 + len;
    }
    const rest = buf.length - pos;
    this.chunks = rest === 0 ? [] : [buf.subarray(pos)];
    this.buffered = rest;
    return frames;
  }
}

export class BinReader {
  pos = 0;
  constructor(private readonly b: Buffer) {}
  byte(): number {
    return this.b[this.pos++];
  }
  short(): number {
    const v = this.b.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  int(): number {
    const v = this.b.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  long(): bigint {
    const v = this.b.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  /** A long as a number (exact within 2^53; Long.MIN_VALUE and MAX_VALUE come out as ±2^63), without a bigint. */
  longNumber(): number {
    const hi = this.b.readInt32BE(this.pos);
    const lo = this.b.readUInt32BE(this.pos + 4);
    this.pos += 8;
    return hi * 4294967296 + lo;
  }
  bytes(): Buffer | null {
    const n = this.int();
    if (n < 0) return null;
    const v = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  string(): string | null {
    const b = this.bytes();
    return b === null ? null : b.toString('utf8');
  }
}

/** A growing payload; frame(type) prefixes the header. */
export class BinWriter {
  private b = Buffer.allocUnsafe(1 << 12);
  private pos = 5;

  private room(n: number): void {
    if (this.pos + n <= this.b.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.b.length * 2, this.pos + n));
    this.b.copy(next, 0, 0, this.pos);
    this.b = next;
  }
  byte(v: number): this {
    this.room(1);
    this.b[this.pos++] = v;
    return this;
  }
  short(v: number): this {
    this.room(2);
    this.b.writeInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }
  int(v: number): this {
    this.room(4);
    this.b.writeInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }
  /** Writes an int at a position reserved earlier (counts known only at the end). */
  intAt(at: number, v: number): void {
    this.b.writeInt32BE(v, at);
  }
  get position(): number {
    return this.pos;
  }
  long(v: bigint): this {
    this.room(8);
    this.b.writeBigInt64BE(v, this.pos);
    this.pos += 8;
    return this;
  }
  /** An integral number as a long (within ±2^53), without a bigint. */
  longNumber(v: number): this {
    this.room(8);
    const hi = Math.floor(v / 4294967296);
    this.b.writeInt32BE(hi, this.pos);
    this.b.writeUInt32BE(v - hi * 4294967296, this.pos + 4);
    this.pos += 8;
    return this;
  }
  bytes(v: Uint8Array | null): this {
    if (v === null) return this.int(-1);
    this.int(v.length);
    this.room(v.length);
    this.b.set(v, this.pos);
    this.pos += v.length;
    return this;
  }
  /** Bytes without a length (a JSON frame's payload). */
  bytesRaw(v: Uint8Array): this {
    this.room(v.length);
    this.b.set(v, this.pos);
    this.pos += v.length;
    return this;
  }
  /** UTF-8 written in place (no intermediate Buffer per string). */
  string(v: string | null): this {
    if (v === null) return this.int(-1);
    this.room(4 + v.length * 3);
    const n = this.b.write(v, this.pos + 4, 'utf8');
    this.b.writeInt32BE(n, this.pos);
    this.pos += 4 + n;
    return this;
  }
  frame(type: number): Buffer {
    this.b.writeInt32BE(this.pos - 4, 0);
    this.b[4] = type;
    return this.b.subarray(0, this.pos);
  }
}

export function jsonFrame(type: number, value: unknown): Buffer {
  return new BinWriter().bytesRaw(Buffer.from(JSON.stringify(value), 'utf8')).frame(type);
}
