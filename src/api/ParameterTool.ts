/**
 * Program arguments like Flink's ParameterTool: `--key value`, `-key value`, `--flag` (no value).
 * Programs get their arguments as `process.argv.slice(2)`, wherever they run.
 */
export class ParameterTool {
  private constructor(private readonly data: Map<string, string>) {}

  static fromArgs(args: readonly string[] = process.argv.slice(2)): ParameterTool {
    const data = new Map<string, string>();
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      const key = a.startsWith('--') ? a.slice(2) : a.startsWith('-') && a.length > 1 && isNaN(Number(a)) ? a.slice(1) : undefined;
      if (key === undefined || key === '') throw new Error(`Error parsing arguments '${args.join(' ')}' on '${a}'. Please prefix keys with -- or -.`);
      const next = args[i + 1];
      const nextIsValue = next !== undefined && (!next.startsWith('-') || (next.length > 1 && !isNaN(Number(next))));
      data.set(key, nextIsValue ? next : '__NO_VALUE_KEY');
      if (nextIsValue) i++;
    }
    return new ParameterTool(data);
  }

  static fromMap(m: Record<string, string>): ParameterTool {
    return new ParameterTool(new Map(Object.entries(m)));
  }

  has(key: string): boolean {
    return this.data.has(key);
  }

  get(key: string): string | undefined;
  get(key: string, defaultValue: string): string;
  get(key: string, defaultValue?: string): string | undefined {
    const v = this.data.get(key);
    return v === undefined || v === '__NO_VALUE_KEY' ? defaultValue : v;
  }

  getRequired(key: string): string {
    const v = this.get(key);
    if (v === undefined) throw new Error(`No data for required key '${key}'`);
    return v;
  }

  getInt(key: string, defaultValue?: number): number {
    const v = this.get(key);
    if (v === undefined) {
      if (defaultValue === undefined) throw new Error(`No data for required key '${key}'`);
      return defaultValue;
    }
    const n = Number(v);
    if (!Number.isInteger(n)) throw new Error(`Value '${v}' of key '${key}' is not an integer`);
    return n;
  }

  getBoolean(key: string, defaultValue = false): boolean {
    if (!this.data.has(key)) return defaultValue;
    const v = this.data.get(key)!;
    return v === '__NO_VALUE_KEY' || v.toLowerCase() === 'true';
  }

  toMap(): Record<string, string> {
    return Object.fromEntries(this.data);
  }
}
