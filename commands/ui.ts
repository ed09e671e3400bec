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
    this.spinners = this.colorErr;
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

  /** Runs `fn` behind a spinner on a TTY, or after a plain progress line otherwise. */
  async spin<T>(text: string, fn: () => Promise<T>): Promise<T> {
    if (this.json) return fn();
    if (!this.spinners) {
      this.progress(text);
      return fn();
    }
    this.spinner = ora({ text, stream: process.stderr, discardStdin: false }).start();
    try {
      const result = await fn();
      this.spinner.stop();
      return result;
    } finally {
      this.spinner?.stop();
      this.spinner = undefined;
    }
  }

  stopSpinner(): void {
    this.spinner?.stop();
    this.spinner = undefined;
  }
}
