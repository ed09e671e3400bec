/**
 * A real browser for the dashboard tests: Debian's Chromium (installed by .ci/run) driven by playwright-core,
 * headless, without its sandbox (tests run as root in CI) and without background traffic. A failing step
 * leaves a screenshot in an artefacts directory named in the failure message.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Starts Chromium, or says why it cannot (the caller turns that into a skip, or a failure under CI). */
export async function launchChromium(): Promise<{ browser?: Browser; error?: string }> {
  try {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage'],
      timeout: 60_000,
    });
    return { browser };
  } catch (e) {
    const first = String((e as Error).message ?? e).split('\n')[0];
    return { error: `cannot start ${CHROMIUM} (apt-get install chromium, or run .ci/run): ${first}` };
  }
}

let artefacts: string | undefined;

/** Where failure screenshots go: one temporary directory per test run, kept afterwards. */
export function artefactsDir(): string {
  return (artefacts ??= mkdtempSync(join(tmpdir(), 'flink-ts-dashboard-artefacts-')));
}

/**
 * Runs a browser step; if it throws, a full-page screenshot is saved and its path is added to the error, so a
 * failure in CI can be looked at afterwards.
 */
export async function withScreenshotOnFailure<T>(page: Page, name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const file = join(artefactsDir(), `${name.replace(/[^\w.-]+/g, '_')}.png`);
    let saved = `screenshot kept at ${file}`;
    try {
      await page.screenshot({ path: file, fullPage: true, timeout: 10_000 });
    } catch (s) {
      saved = `no screenshot (${(s as Error).message.split('\n')[0]})`;
    }
    const err = e instanceof Error ? e : new Error(String(e));
    err.message = `${err.message}\n  page: ${page.url()}\n  ${saved}`;
    throw err;
  }
}

/**
 * FLINK_DASHBOARD_SCREENSHOTS=<dir>: the test also saves the README's pictures of each view there (the same
 * browser setup as the assertions, so the pictures show what the test saw).
 */
export async function readmeScreenshot(page: Page, name: string, opts: { fullPage?: boolean } = {}): Promise<void> {
  const dir = process.env.FLINK_DASHBOARD_SCREENSHOTS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: opts.fullPage ?? false });
}

/** WCAG contrast ratio of two CSS colours as getComputedStyle reports them (rgb/rgba). */
export function contrastRatio(fg: string, bg: string): number {
  const lum = (c: string) => {
    const [r, g, b] = (c.match(/[\d.]+/g) ?? ['0', '0', '0']).slice(0, 3).map((x) => {
      const v = Number(x) / 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
  };
  const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
  return (a! + 0.05) / (b! + 0.05);
}
