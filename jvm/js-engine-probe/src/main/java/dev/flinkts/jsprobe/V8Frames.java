package dev.flinkts.jsprobe;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The subset of V8's serialization format (node:v8 serialize/deserialize, format version 15) the Node.js
 * worker boundary needs: dense and sparse arrays of strings, numbers and null. Strings go out as V8's UTF-8
 * string tag, so a record's UTF-8 bytes are copied into the frame without decoding them in the JVM.
 */
final class V8Frames {
  private V8Frames() {}

  /** A reusable frame buffer: header, then values appended in order. */
  static final class Writer {
    byte[] buf = new byte[1 << 16];
    int pos;

    Writer reset() { pos = 0; put(0xFF); put(0x0F); return this; }
    void beginArray(int n) { put('A'); varint(n); }
    void endArray(int n) { put('$'); varint(0); varint(n); }
    void utf8(byte[] b) { put('S'); varint(b.length); ensure(b.length); System.arraycopy(b, 0, buf, pos, b.length); pos += b.length; }
    void smi(int v) { put('I'); varint((v << 1) ^ (v >> 31)); }
    void nul() { put('0'); }
    void dbl(double d) {
      put('N');
      long l = Double.doubleToRawLongBits(d);
      ensure(8);
      for (int i = 0; i < 8; i++) buf[pos++] = (byte) (l >>> (8 * i));
    }
    private void varint(int v) { while ((v & ~0x7F) != 0) { put((v & 0x7F) | 0x80); v >>>= 7; } put(v); }
    private void put(int b) { ensure(1); buf[pos++] = (byte) b; }
    private void ensure(int n) { if (pos + n > buf.length) buf = java.util.Arrays.copyOf(buf, Math.max(buf.length * 2, pos + n)); }
  }

  /** Reads one reply: a top-level array whose elements are strings, numbers or null. */
  static final class Reader {
    private byte[] b;
    private int pos;

    List<Object> readArray(byte[] frame, int len) {
      b = frame;
      pos = 0;
      if ((b[pos++] & 0xFF) != 0xFF) throw new IllegalStateException("not a V8 frame");
      varint();
      Object v = value();
      if (!(v instanceof List<?>)) throw new IllegalStateException("reply is not an array");
      @SuppressWarnings("unchecked") List<Object> list = (List<Object>) v;
      return list;
    }

    private Object value() {
      int tag;
      while ((tag = b[pos++] & 0xFF) == 0) { /* padding */ }
      switch (tag) {
        case 'A': {
          int n = varint();
          List<Object> out = new ArrayList<>(n);
          for (int i = 0; i < n; i++) out.add(value());
          expect('$'); varint(); varint();
          return out;
        }
        case 'a': {
          int n = varint();
          List<Object> out = new ArrayList<>(n);
          for (int i = 0; i < n; i++) out.add(null);
          while ((b[pos] & 0xFF) != '@') { int k = ((Number) value()).intValue(); out.set(k, value()); }
          pos++; varint(); varint();
          return out;
        }
        case '"': { int n = varint(); String s = new String(b, pos, n, StandardCharsets.ISO_8859_1); pos += n; return s; }
        case 'c': { int n = varint(); String s = new String(b, pos, n, StandardCharsets.UTF_16LE); pos += n; return s; }
        case 'S': { int n = varint(); String s = new String(b, pos, n, StandardCharsets.UTF_8); pos += n; return s; }
        case 'I': { int z = varint(); return (z >>> 1) ^ -(z & 1); }
        case 'N': {
          long l = 0;
          for (int i = 0; i < 8; i++) l |= (b[pos++] & 0xFFL) << (8 * i);
          return Double.longBitsToDouble(l);
        }
        case '0': case '_': return null;
        default: throw new IllegalStateException("unsupported V8 tag 0x" + Integer.toHexString(tag));
      }
    }

    private void expect(int tag) { if ((b[pos++] & 0xFF) != tag) throw new IllegalStateException("expected " + (char) tag); }

    private int varint() {
      int v = 0, shift = 0, x;
      do { x = b[pos++] & 0xFF; v |= (x & 0x7F) << shift; shift += 7; } while ((x & 0x80) != 0);
      return v;
    }
  }
}
