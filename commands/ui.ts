import chalk, { chalkStderr } from 'chalk';
import ora, { type Ora } from 'ora';

function envSet(name: string): boolean {
  const v = process.env[name];
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/**
 * Terminal output of a command. Results go to stdout, progress and warnings to stderr. Colours and spinners
 * only for a TTY, never with --json, CI or NO_COLOR: output that is piped or parsed stays plain.
 */
export class Ui {
  readonly colorOut: boolean;
  readonly colorErr: boolean;
  private readonly spinners: boolean;
  private spinner: Ora | undefined;

  constructor(readonly json: boolean) {
    const noColor = process.env.NO_COLOR !== undefined;
    const plain = json || noColor || envSet('CI');
    this.colorOut = !plain && process.stdout.isTTY === true;
    this.colorErr = !plain && process.stderr.isTTY === true;
    // A terminal that reports no width (some pseudo-terminals) cannot redraw a spinner line.
    this.spinners = this.colorErr && (process.stderr.columns ?? 0) > 0;
    if (!this.colorOut) chalk.level = 0;
    if (!this.colorErr) chalkStderr.level = 0;
  }

  get chalk() {
    return chalk;
  }

  /** A result line. */
  out(line = ''): void {
    if (!this.json) process.stdout.write(`${line}\n`);
  }

  /** A progress line (Flink prints these while it works). */
  progress(line: string): void {
    if (!this.json) process.stderr.write(`${line}\n`);
  }

  warn(line: string): void {
    process.stderr.write(`${chalkStderr.yellow(`flink: warning: ${line}`)}\n`);
  }

  /** Whether progress is animated (a TTY, no --json, CI or NO_COLOR); callers poll for progress details only then. */
  get animated(): boolean {
    return this.spinners;
  }

  /**
   * Runs `fn` behind a spinner on a TTY, or after a plain progress line otherwise. The spinner shows the
   * elapsed time and what `status` says (polled about twice a second while `fn` runs, never on a pipe).
   */
  async spin<T>(text: string, fn: () => Promise<T>, status?: () => string | undefined | Promise<string | undefined>): Promise<T> {
    if (this.json) return fn();
    if (!this.spinners) {
      this.progress(text);
      return fn();
    }
    const started = Date.now();
    let detail: string | undefined;
    let polling = false;
    const spinner = ora({ text, stream: process.stderr, discardStdin: false }).start();
    this.spinner = spinner;
    const render = () => {
      spinner.text = `${text} ${formatElapsed(Date.now() - started)}${detail ? ` - ${detail}` : ''}`;
    };
    const poll = async () => {
      if (!status || polling) return;
      polling = true;
      try {
        detail = await status();
      } catch {
        /* progress is best effort; the operation itself reports failures */
      } finally {
        polling = false;
      }
    };
    const ticker = setInterval(render, 100);
    const poller = status ? setInterval(() => void poll(), 500) : undefined;
    try {
      return await fn();
    } finally {
      clearInterval(ticker);
      if (poller) clearInterval(poller);
      spinner.stop();
      this.spinner = undefined;
    }
  }

  stopSpinner(): void {
    this.spinner?.stop();
    this.spinner = undefined;
  }
}

/** Elapsed time for a spinner: "4.2 s", "1 min 05 s". */
export function formatElapsed(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}
