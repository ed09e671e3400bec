/**
 * The `serialized-throwable` of Flink's failure causes: Java object serialization (java.io.ObjectOutputStream,
 * protocol 2) of an org.apache.flink.util.SerializedThrowable, base64 in the JSON. Flink's Java clients
 * (its CLI with -m, RestClusterClient, the Kubernetes operator) read the failure cause only from these bytes:
 * without them the parse fails and the user sees a client error instead of the cause.
 *
 * What is written is the stream the JDK writes for a SerializedThrowable with a message, the original class
 * name and a stack trace string, no cause, no suppressed exceptions and no serialized original (so
 * `deserializeError` gives back the SerializedThrowable itself, which Flink does for classes it cannot load).
 * Field order, flags and serialVersionUIDs are those of the JDK 17 and Flink 2.x classes.
 */

const STREAM_MAGIC = 0xaced;
const STREAM_VERSION = 5;
const TC_NULL = 0x70;
const TC_REFERENCE = 0x71;
const TC_CLASSDESC = 0x72;
const TC_OBJECT = 0x73;
const TC_STRING = 0x74;
const TC_ENDBLOCKDATA = 0x78;
const TC_LONGSTRING = 0x7c;
const SC_WRITE_METHOD = 0x01;
const SC_SERIALIZABLE = 0x02;
const BASE_WIRE_HANDLE = 0x7e0000;

interface ClassDesc {
  name: string;
  serialVersionUID: bigint;
  flags: number;
  /** Object fields only (none of these classes has primitive fields), sorted by name as the JDK sorts them. */
  fields: Array<{ name: string; type: string }>;
}

const SERIALIZED_THROWABLE: ClassDesc = {
  name: 'org.apache.flink.util.SerializedThrowable',
  serialVersionUID: 7284183123441947635n,
  flags: SC_SERIALIZABLE,
  fields: [
    { name: 'fullStringifiedStackTrace', type: 'Ljava/lang/String;' },
    { name: 'originalErrorClassName', type: 'Ljava/lang/String;' },
    { name: 'serializedException', type: '[B' },
  ],
};
const EXCEPTION: ClassDesc = { name: 'java.lang.Exception', serialVersionUID: -3387516993124229948n, flags: SC_SERIALIZABLE, fields: [] };
const THROWABLE: ClassDesc = {
  name: 'java.lang.Throwable',
  serialVersionUID: -3042686055658047285n,
  // Throwable has a writeObject method: its field data ends with TC_ENDBLOCKDATA.
  flags: SC_WRITE_METHOD | SC_SERIALIZABLE,
  fields: [
    { name: 'cause', type: 'Ljava/lang/Throwable;' },
    { name: 'detailMessage', type: 'Ljava/lang/String;' },
    { name: 'stackTrace', type: '[Ljava/lang/StackTraceElement;' },
    { name: 'suppressedExceptions', type: 'Ljava/util/List;' },
  ],
};

class JavaObjectStream {
  private readonly bytes: number[] = [];
  private nextHandle = BASE_WIRE_HANDLE;
  /** Field type strings are interned in the JDK, so a repeated one is written as a back reference. */
  private readonly typeStrings = new Map<string, number>();

  u8(v: number): void {
    this.bytes.push(v & 0xff);
  }

  u16(v: number): void {
    this.u8(v >>> 8);
    this.u8(v);
  }

  i32(v: number): void {
    this.u16(v >>> 16);
    this.u16(v & 0xffff);
  }

  i64(v: bigint): void {
    const u = BigInt.asUintN(64, v);
    for (let shift = 56n; shift >= 0n; shift -= 8n) this.u8(Number((u >> shift) & 0xffn));
  }

  private utf(s: string, long: boolean): void {
    const b = modifiedUtf8(s);
    if (long) this.i64(BigInt(b.length));
    else this.u16(b.length);
    for (const x of b) this.u8(x);
  }

  /** A class or field name (not an object: no handle). */
  name(s: string): void {
    this.utf(s, false);
  }

  string(s: string | undefined): void {
    if (s === undefined) return this.u8(TC_NULL);
    const long = modifiedUtf8Length(s) > 0xffff;
    this.u8(long ? TC_LONGSTRING : TC_STRING);
    this.nextHandle++;
    this.utf(s, long);
  }

  private typeString(s: string): void {
    const h = this.typeStrings.get(s);
    if (h !== undefined) {
      this.u8(TC_REFERENCE);
      this.i32(h);
      return;
    }
    this.typeStrings.set(s, this.nextHandle);
    this.string(s);
  }

  classDesc(chain: ClassDesc[]): void {
    const [desc, ...supers] = chain;
    if (!desc) return this.u8(TC_NULL);
    this.u8(TC_CLASSDESC);
    this.name(desc.name);
    this.i64(desc.serialVersionUID);
    this.nextHandle++;
    this.u8(desc.flags);
    this.u16(desc.fields.length);
    for (const f of desc.fields) {
      this.u8(f.type.charCodeAt(0));
      this.name(f.name);
      this.typeString(f.type);
    }
    this.u8(TC_ENDBLOCKDATA); // no class annotation
    this.classDesc(supers);
  }

  newObject(): void {
    this.u8(TC_OBJECT);
  }

  assignObjectHandle(): void {
    this.nextHandle++;
  }

  toBuffer(): Buffer {
    return Buffer.from(this.bytes);
  }
}

/** Java's modified UTF-8 (DataOutput.writeUTF): NUL as two bytes, supplementary characters as two 3-byte surrogates. */
function modifiedUtf8(s: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x01 && c <= 0x7f) out.push(c);
    else if (c <= 0x7ff) out.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    else out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
  }
  return out;
}

function modifiedUtf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    n += c >= 0x01 && c <= 0x7f ? 1 : c <= 0x7ff ? 2 : 3;
  }
  return n;
}

/** Base64 of a serialized org.apache.flink.util.SerializedThrowable. */
export function serializeThrowable(className: string, message: string, stackTrace: string): string {
  const out = new JavaObjectStream();
  out.u16(STREAM_MAGIC);
  out.u16(STREAM_VERSION);
  out.newObject();
  out.classDesc([SERIALIZED_THROWABLE, EXCEPTION, THROWABLE]);
  out.assignObjectHandle();
  // Class data, superclass first. Throwable: cause, detailMessage, stackTrace, suppressedExceptions.
  out.u8(TC_NULL);
  out.string(message);
  out.u8(TC_NULL);
  out.u8(TC_NULL);
  out.u8(TC_ENDBLOCKDATA);
  // SerializedThrowable: fullStringifiedStackTrace, originalErrorClassName, serializedException.
  out.string(stackTrace);
  out.string(className);
  out.u8(TC_NULL);
  return out.toBuffer().toString('base64');
}
