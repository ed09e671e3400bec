/**
 * What every service harness of the tests shares (Kafka, PostgreSQL, the Flink cluster, the browser) and the
 * service scripts reuse: the repository's paths, free ports, Java, waiting, stopping process groups, and the
 * CI rule that a service which cannot start fails the run.
 */
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const JVM_DIR = join(ROOT, 'jvm');
/** Where Maven copies the broker's classpath; FLINK_TS_JVM_CACHE moves it (e.g. to a CI cache). */
export const JVM_CACHE = process.env.FLINK_TS_JVM_CACHE ?? join(JVM_DIR, '.cache');

/** Why a service cannot run here, or undefined when it can (Java present). */
export function javaMissing(): string | undefined {
  const r = spawnSync(process.env.JAVA ?? 'java', ['-version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return `no Java runtime (${r.error?.message ?? r.stderr.trim()}); Kafka needs Java 17+`;
  return undefined;
}

/** A free TCP port on 127.0.0.1 (bound and released; the broker binds it right after). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Polls `ready` every 200 ms until it is true; throws `message()` at the deadline. */
export async function waitUntil(deadline: number, ready: () => Promise<boolean> | boolean, message: () => string): Promise<void> {
  for (;;) {
    if (await ready()) return;
    if (Date.now() >= deadline) throw new Error(message());
    await new Promise((r) => setTimeout(r, 200));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM to the group (the broker shuts down cleanly), SIGKILL after `graceMs`. */
export async function stopProcessGroup(pid: number, exited: () => boolean = () => !alive(pid), graceMs = 15_000): Promise<void> {
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    return; // already gone
  }
  const deadline = Date.now() + graceMs;
  while (!exited() && alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    /* gone */
  }
  const hard = Date.now() + 5000;
  while (alive(pid) && !exited() && Date.now() < hard) await new Promise((r) => setTimeout(r, 50));
}

/**
 * Services a test needs: in CI (CI=true) a service that cannot start fails the test run; elsewhere the
 * test is skipped with the reason printed. Returns the reason to skip, or undefined to run.
 */
export function serviceSkipReason(service: string, why: string | undefined): string | undefined {
  if (!why) return undefined;
  if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`${service} is required in CI but cannot start: ${why}`);
  process.stderr.write(`# SKIP ${service}: ${why}\n`);
  return `${service} unavailable: ${why}`;
}
