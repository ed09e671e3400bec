import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

function timestamp(d = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())},${p(d.getMilliseconds(), 3)}`;
}

/** Flink-style log lines (`<time> INFO  <component> - <message>`) appended to a file or stream. */
export class Logger {
  constructor(private readonly sink: (line: string) => void, private readonly component = 'flink') {}

  static toFile(path: string): Logger {
    mkdirSync(dirname(path), { recursive: true });
    return new Logger((line) => appendFileSync(path, line));
  }

  static silent(): Logger {
    return new Logger(() => {});
  }

  child(component: string): Logger {
    return new Logger(this.sink, component);
  }

  log(level: LogLevel, msg: string, err?: unknown): void {
    const stack = err instanceof Error && err.stack ? `\n${err.stack}` : '';
    this.sink(`${timestamp()} ${level.padEnd(5)} ${this.component} - ${msg}${stack}\n`);
  }

  info(msg: string): void {
    this.log('INFO', msg);
  }

  warn(msg: string, err?: unknown): void {
    this.log('WARN', msg, err);
  }

  error(msg: string, err?: unknown): void {
    this.log('ERROR', msg, err);
  }
}
