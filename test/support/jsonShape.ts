/**
 * Structural comparison of a real Apache Flink REST answer with ours: every field of the real answer (name,
 * JSON type, nesting) must exist in ours, and enum-valued fields must hold one of Flink's values. Extra fields
 * of ours are fine (Flink's Java clients ignore unknown properties). Differences are reported by JSON path;
 * a deliberate one is listed with its reason and then not reported.
 */

export type JsonType = 'null' | 'boolean' | 'number' | 'string' | 'array' | 'object';

export function jsonType(v: unknown): JsonType {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v as JsonType;
}

/** A deliberate difference: paths matching `path` are not compared (everything below them included). */
export interface DeliberateDifference {
  path: RegExp;
  why: string;
}

export interface ShapeOptions {
  /** Paths whose object keys are ids (vertex ids, state names): only the values' shapes are compared. */
  maps?: RegExp[];
  deliberate?: DeliberateDifference[];
  /** Allowed values of enum fields, by path. */
  enums?: Array<{ path: RegExp; values: readonly string[] }>;
}

/** Flink's quantiles are doubles, or the string "NaN" when there are no values: both are numbers to a Java client. */
function sameKind(a: unknown, b: unknown): boolean {
  const isNum = (v: unknown) => typeof v === 'number' || v === 'NaN';
  if (isNum(a) && isNum(b)) return true;
  return jsonType(a) === jsonType(b);
}

export function compareShape(real: unknown, ours: unknown, opts: ShapeOptions = {}, path = ''): string[] {
  const out: string[] = [];
  const deliberate = (p: string) => (opts.deliberate ?? []).some((d) => d.path.test(p));
  const walk = (r: unknown, o: unknown, p: string): void => {
    if (deliberate(p)) return;
    for (const e of opts.enums ?? []) {
      if (e.path.test(p) && typeof o === 'string' && !e.values.includes(o)) out.push(`${p || '.'}: ${JSON.stringify(o)} is not one of Flink's ${e.values.join('|')}`);
    }
    if (r === null || r === undefined) return; // Flink's null: ours may have a value or null
    if (o === undefined) {
      out.push(`${p || '.'}: missing (Flink: ${jsonType(r)})`);
      return;
    }
    if (!sameKind(r, o)) {
      out.push(`${p || '.'}: ${jsonType(o)} where Flink has ${jsonType(r)}`);
      return;
    }
    if (Array.isArray(r)) {
      const oa = o as unknown[];
      if (r.length > 0 && oa.length === 0) {
        out.push(`${p}: empty where Flink has elements`);
        return;
      }
      // Each real element (the first 20) against the element of ours it differs least from (a plan node with
      // inputs against one with inputs, a failed checkpoint against a failed one).
      for (const re of r.slice(0, 20)) {
        let best: string[] | undefined;
        for (const oe of oa.slice(0, 50)) {
          const d = compareShape(re, oe, opts, `${p}[]`);
          if (!best || d.length < best.length) best = d;
          if (d.length === 0) break;
        }
        out.push(...(best ?? []));
      }
      return;
    }
    if (typeof r === 'object') {
      const ro = r as Record<string, unknown>;
      const oo = o as Record<string, unknown>;
      if ((opts.maps ?? []).some((m) => m.test(p))) {
        const rv = Object.values(ro);
        const ov = Object.values(oo);
        if (rv.length > 0 && ov.length === 0) out.push(`${p}: empty where Flink has entries`);
        else if (rv.length > 0) walk(rv[0], ov[0], `${p}{}`);
        return;
      }
      for (const k of Object.keys(ro)) walk(ro[k], oo[k], `${p}.${k}`);
    }
  };
  walk(real, ours, path);
  return [...new Set(out)];
}
