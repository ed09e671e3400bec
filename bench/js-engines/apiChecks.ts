/**
 * The Node APIs real jobs use, one check each, all returning a string (or a promise of one) that must equal
 * what Node.js answers. Node modules are imported inside each check so that one missing module fails only
 * its own check. `yaml` stands for an npm dependency bundled by esbuild (it reads node:process when loaded).
 */
const checks: Record<string, () => string | Promise<string>> = {
  'Buffer': () => Buffer.from('héllo wörld').toString('base64'),
  'node:crypto createHash': async () => (await import('node:crypto')).createHash('sha256').update('flink').digest('hex'),
  'TextEncoder/TextDecoder': () => {
    const bytes = new TextEncoder().encode('héllo');
    return `${bytes.length}:${new TextDecoder().decode(bytes)}`;
  },
  'node:zlib gzip round trip': async () => {
    const zlib = await import('node:zlib');
    return zlib.gunzipSync(zlib.gzipSync('flink '.repeat(100))).toString().length.toString();
  },
  'Date': () => new Date(Date.UTC(2026, 11, 1, 14, 30)).toISOString(),
  'Intl.NumberFormat de-DE': () => new Intl.NumberFormat('de-DE').format(1234567.891),
  'Intl.DateTimeFormat time zone': () =>
    new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', dateStyle: 'medium', timeStyle: 'short' }).format(new Date(Date.UTC(2026, 11, 1, 14, 30))),
  'setTimeout': () => new Promise<string>((resolve) => setTimeout(() => resolve('fired'), 1)),
  'async function (await)': async () => {
    const twice = async (x: number) => x * 2;
    return String(await twice(await Promise.resolve(21)));
  },
  'queueMicrotask': () => new Promise<string>((resolve) => queueMicrotask(() => resolve('ran'))),
  'structuredClone': () => JSON.stringify(structuredClone({ a: [1, { b: 2 }] })),
  'URL': () => new URL('https://flink.apache.org/docs?x=1#y').searchParams.get('x') ?? 'null',
  'crypto.randomUUID': () => String(globalThis.crypto.randomUUID().length),
  'process.env': () => typeof process.env.PATH,
  'console.log': () => { console.log('console.log from user code'); return 'logged'; },
  'npm import bundled by esbuild (yaml)': async () => JSON.stringify((await import('yaml')).parse('job: wordcount\nparallelism: 2\n')),
};

(globalThis as Record<string, unknown>).apiChecks = checks;
