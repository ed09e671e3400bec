/**
 * The web dashboard in a real browser (Chromium through playwright-core), against real `flink run` clusters
 * and a real `flink dashboard` process over the workspace's catalog: a running job's graph and checkpoints
 * arriving live, a savepoint taken from the CLI showing up without a reload, ended jobs from the catalog, the
 * page at `/` of a job's own REST endpoint, keyboard use and contrast.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { execa } from 'execa';
import {
  cleanup, createWorkspace, ensureBuilt, flink, killCluster, jobIdFrom, listJobs, savepointPathFrom, show, startAttached, waitFor,
  waitForStatus, BIN, FAIL_ONCE_JOB, STATE_MACHINE_JOB, ROOT, TIME_SCALE, type Workspace,
} from './helpers.js';
import { serviceSkipReason } from '../support/services.js';
import { contrastRatio, launchChromium, readmeScreenshot, withScreenshotOnFailure } from '../support/browser.js';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const launched = await launchChromium();
const skip = serviceSkipReason('Chromium', launched.error);
const WORD_COUNT = join(ROOT, 'examples', 'WordCount.ts');
const SLOW_SINK_JOB = join(ROOT, 'test', 'jobs', 'SlowSinkJob.ts');
/** Playwright waits (expressed once, scaled like every e2e wait). */
const T = 30_000 * TIME_SCALE;

describe('web dashboard in Chromium', { skip, timeout: 300_000 * TIME_SCALE }, () => {
  let ws: Workspace;
  let browser: Browser;
  let page: Page;
  let dashboard: string;
  let jobId: string;
  let finishedId: string;
  let failedId: string;
  let restUrl: string;
  let savepoint: string;

  before(async () => {
    await ensureBuilt();
    browser = launched.browser!;
    ws = createWorkspace({ 'execution.checkpointing.interval': '500 ms' });
    const wc = await flink(ws, ['run', WORD_COUNT]);
    assert.equal(wc.exitCode, 0, show(wc));
    finishedId = jobIdFrom(wc.stdout);
    // Fails on every attempt: two restarts (baseConfig), then FAILED with its cause in the catalog.
    const failed = await flink(ws, ['run', FAIL_ONCE_JOB, '--count', '300', '--fail-at', '100', '--fail-attempts', '3', '--rate', '3000', '--output', join(ws.dir, 'out-failed')]);
    assert.equal(failed.exitCode, 1, show(failed));
    failedId = jobIdFrom(failed.stdout);
    const r = await flink(ws, ['run', '-d', STATE_MACHINE_JOB, '--output', join(ws.dir, 'alerts'), '--count', '1000000', '--rate', '200', '--keys', '10']);
    assert.equal(r.exitCode, 0, show(r));
    jobId = jobIdFrom(r.stdout);
    await waitForStatus(ws, jobId, 'RUNNING');
    restUrl = (await listJobs(ws)).find((j) => j.jobId === jobId)!.restUrl!;

    const d = startAttached(ws, ['dashboard', '--port', '0']);
    dashboard = await waitFor(() => /Dashboard listening at (http:\S+)/.exec(d.output.stdout)?.[1], 30_000, `the dashboard's URL (${d.output.stderr})`);
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    page.setDefaultTimeout(T);
  });

  after(async () => {
    await browser?.close();
    if (ws) await cleanup(ws);
  });

  test('the jobs overview lists every job of the catalog, filterable by status, by keyboard', () => withScreenshotOnFailure(page, 'overview', async () => {
    await page.goto(dashboard);
    const running = page.locator(`#jobs-table tr[data-jid="${jobId}"]`);
    await running.getByText('RUNNING').waitFor();
    await page.locator(`#jobs-table tr[data-jid="${finishedId}"]`).getByText('FINISHED').waitFor();
    assert.match(await running.innerText(), /State machine job/);
    assert.match(await running.locator('td').nth(5).innerText(), /^\d+$/, 'parallelism of the running job');
    await readmeScreenshot(page, 'dashboard-jobs');

    // Filter: Finished shows only the finished job; the button says it is pressed.
    const finished = page.getByRole('button', { name: /^Finished/ });
    await finished.focus();
    await page.keyboard.press('Enter');
    await page.locator(`#jobs-table tr[data-jid="${jobId}"]`).waitFor({ state: 'detached' });
    assert.equal(await finished.getAttribute('aria-pressed'), 'true');
    assert.equal(await page.locator('#jobs-table tbody tr').count(), 1);

    // Keyboard: Tab reaches the job's link, Enter opens it.
    await page.getByRole('button', { name: /^All/ }).click();
    await running.waitFor();
    await page.locator('body').focus();
    let focused = '';
    for (let i = 0; i < 30 && !focused.includes(`#/job/${jobId}/`); i++) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate<string>("document.activeElement?.href ?? ''");
    }
    assert.ok(focused.includes(`#/job/${jobId}/`), 'Tab reaches the running job');
    await page.keyboard.press('Enter');
    await page.waitForURL(new RegExp(`#/job/${jobId}/overview`));
  }));

  test('a running job: its graph, vertices and status timeline', () => withScreenshotOnFailure(page, 'job', async () => {
    await page.goto(`${dashboard}#/job/${jobId}/overview`);
    const vertices = page.locator('#vertices-table tbody tr');
    await vertices.first().waitFor();
    const n = await vertices.count();
    assert.ok(n >= 2, `the state machine job has a source and an operator chain (${n} vertices)`);
    assert.equal(await page.locator('svg.graph [data-vertex]').count(), n, 'one graph box per vertex');
    assert.match(await page.locator('svg.graph').innerHTML(), /Events Generator Source/);
    await page.locator('#timeline').getByText('RUNNING').waitFor();
    await readmeScreenshot(page, 'dashboard-job');

    // Contrast: body text and status badges meet WCAG AA (4.5:1).
    // (A string: this file is type-checked without the DOM library.)
    const colours = await page.evaluate<{ text: string[]; badge: string[] }>(`(() => {
      const c = (el) => getComputedStyle(el);
      const badge = document.querySelector('.badge');
      return { text: [c(document.body).color, c(document.documentElement).backgroundColor], badge: [c(badge).color, c(badge).backgroundColor] };
    })()`);
    assert.ok(contrastRatio(colours.text[0]!, colours.text[1]!) >= 4.5, `text contrast ${JSON.stringify(colours.text)}`);
    assert.ok(contrastRatio(colours.badge[0]!, colours.badge[1]!) >= 4.5, `badge contrast ${JSON.stringify(colours.badge)}`);

    // Arrow keys move between the tabs.
    await page.getByRole('tab', { name: 'Overview' }).focus();
    await page.keyboard.press('ArrowRight');
    await page.waitForURL(/\/exceptions$/);
    await page.getByRole('tab', { name: 'Exceptions' }).waitFor();
  }));

  test('live vertex metrics: records per second and watermarks; a slow sink shows HIGH backpressure upstream', () => withScreenshotOnFailure(page, 'metrics', async () => {
    const cell = (row: number, col: number) => page.locator(`#vertices-table tbody tr:nth-child(${row}) td:nth-child(${col})`);
    const rate = async (row: number, col: number) => Number((await cell(row, col).innerText()).replace(/,/g, ''));
    // The state machine job: its source emits about 200 records per second (--rate 200), the next vertex reads them.
    await page.goto(`${dashboard}#/job/${jobId}/overview`);
    await waitFor(async () => ((await rate(1, 5)) > 0 && (await rate(2, 4)) > 0) || undefined, T, 'non-zero records out/s at the source and in/s downstream', 500);
    assert.equal(await cell(1, 7).innerText(), 'No Watermark', 'a source has no input watermark, as in Flink');
    assert.match(await page.locator('svg.graph').textContent() ?? '', /In [\d.,]+\/s · Out [\d.,]+\/s/);
    // The slow sink (2 ms a record): the source waits for credit (HIGH), the sink is busy but not backpressured (OK).
    // Started here and cancelled at the end: its sink keeps a core busy.
    const slow = await flink(ws, ['run', '-d', SLOW_SINK_JOB, '--sink-ms', '2']);
    assert.equal(slow.exitCode, 0, show(slow));
    const slowId = jobIdFrom(slow.stdout);
    await waitForStatus(ws, slowId, 'RUNNING');
    await page.goto(`${dashboard}#/job/${slowId}/overview`);
    await waitFor(async () => ((await cell(1, 6).innerText()) === 'HIGH' && (await cell(2, 6).innerText()) === 'OK') || undefined, T, 'HIGH at the source, OK at the sink', 500);
    assert.match(await page.locator('svg.graph').textContent() ?? '', /Backpressure: HIGH/);
    const sinkIn = await rate(2, 4);
    assert.ok(sinkIn > 50 && sinkIn < 1000, `about 500 records/s reach a 2 ms sink: ${sinkIn}`);
    // The source sends a batch of 1024 whenever the sink frees a credit (every ~2 s): over the 5 s of a rate, more than 0.
    await waitFor(async () => (await rate(1, 5)) > 0 || undefined, T, 'records out/s at the backpressured source', 500);
    await readmeScreenshot(page, 'dashboard-backpressure');
    const cancelled = await flink(ws, ['cancel', slowId]);
    assert.equal(cancelled.exitCode, 0, show(cancelled));
  }));

  test('checkpoints arrive live; a savepoint taken from the CLI appears without a reload', () => withScreenshotOnFailure(page, 'checkpoints', async () => {
    await page.goto(`${dashboard}#/job/${jobId}/checkpoints`);
    await page.evaluate('window.notReloaded = true');
    const completed = page.locator('#cp-history-table tbody tr', { hasText: /COMPLETED|DISCARDED/ });
    await waitFor(async () => (await completed.count()) >= 3, 30_000, 'three checkpoints in the history');
    const first = Number(await page.locator('#cp-counts .card-n').nth(2).innerText());
    assert.ok(first >= 3, `completed count ${first}`);
    await page.locator('#cp-duration-chart canvas').waitFor();
    await page.locator('#cp-config').getByText('EXACTLY_ONCE').waitFor();
    await readmeScreenshot(page, 'dashboard-checkpoints', { fullPage: true });

    const sp = await flink(ws, ['savepoint', jobId]);
    assert.equal(sp.exitCode, 0, show(sp));
    savepoint = savepointPathFrom(sp.stdout);
    // Latest savepoint stays (the history keeps only the newest 10, which checkpoints every 500 ms soon push it out of).
    const latest = page.locator('#cp-latest tr', { hasText: 'Latest savepoint' });
    await latest.getByText(savepoint).waitFor();
    assert.equal(await page.evaluate('window.notReloaded'), true, 'the page was not reloaded');

    // One checkpoint's details.
    await latest.getByRole('link').click();
    await page.locator('#cp-detail-head').getByText(/^Savepoint( \((full|incremental)\))?$/).waitFor();
    // Per operator and subtask where the JobManager serves checkpoint details (GET …/checkpoints/details/:id).
    if (await page.locator('#cp-operators').count() > 0) {
      await page.locator('#cp-operators button').first().click();
      await page.locator('.subtask-table tbody tr').first().waitFor();
    }
    await readmeScreenshot(page, 'dashboard-checkpoint-details', { fullPage: true });
  }));

  test('savepoints per job name, with the command that restores each', () => withScreenshotOnFailure(page, 'savepoints', async () => {
    await page.goto(dashboard);
    await page.getByRole('link', { name: 'Savepoints' }).click();
    const row = page.locator(`#savepoints tr[data-path="${savepoint}"]`);
    await row.waitFor();
    assert.match(await page.locator('#savepoints').innerText(), /State machine job/);
    assert.match(await row.innerText(), new RegExp(`flink run -s ${savepoint.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    await readmeScreenshot(page, 'dashboard-savepoints');
  }));

  test("the page at / of the job's own REST endpoint, as Flink's JobManager serves its web UI", () => withScreenshotOnFailure(page, 'rest-endpoint', async () => {
    await page.goto(`${restUrl}/`);
    await page.locator(`#jobs-table tr[data-jid="${jobId}"]`).getByText('RUNNING').waitFor();
    await page.goto(`${restUrl}/#/job/${jobId}/checkpoints`);
    await page.locator('#cp-history-table tbody tr').nth(2).waitFor();
  }));

  test('with rest.auth.token set, the page asks for the token and keeps it for the tab', () => withScreenshotOnFailure(page, 'token', async () => {
    const d = startAttached(ws, ['dashboard', '--port', '0', '-D', 'rest.auth.token=page-t0ken']);
    const locked = await waitFor(() => /Dashboard listening at (http:\S+)/.exec(d.output.stdout)?.[1], 30_000, `the dashboard's URL (${d.output.stderr})`);
    await page.goto(locked);
    await page.getByRole('heading', { name: 'Token required' }).waitFor();
    await page.getByLabel('rest.auth.token').fill('wrong');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Token required' }).waitFor();
    await page.getByLabel('rest.auth.token').fill('page-t0ken');
    await page.keyboard.press('Enter');
    await page.locator(`#jobs-table tr[data-jid="${jobId}"]`).waitFor();
    await page.reload();
    await page.locator(`#jobs-table tr[data-jid="${jobId}"]`).waitFor();
    d.child.kill('SIGTERM');
    await d.child;
  }));

  test('ended jobs open from the catalog: a cancelled one with its checkpoint history, a finished one', () => withScreenshotOnFailure(page, 'ended', async () => {
    const c = await flink(ws, ['cancel', jobId]);
    assert.equal(c.exitCode, 0, show(c));
    await page.goto(dashboard);
    await page.locator(`#jobs-table tr[data-jid="${jobId}"]`).getByText('CANCELED').waitFor();
    await page.goto(`${dashboard}#/job/${jobId}/checkpoints`);
    await page.locator('.job-head').getByText('from the catalog').waitFor();
    await page.locator('#cp-history-table tbody tr', { hasText: 'Savepoint' }).first().waitFor();
    assert.ok(await page.locator('#cp-history-table tbody tr').count() >= 3);

    await page.goto(`${dashboard}#/job/${finishedId}/overview`);
    await page.locator('.job-head').getByText('FINISHED').waitFor();
    await page.locator('.job-head').getByText('from the catalog').waitFor();
    await page.getByText('The graph is not kept after a job ends').waitFor();

    // A failed one: its exception with the root cause, and the Failed filter.
    await page.goto(`${dashboard}#/job/${failedId}/exceptions`);
    await page.locator('.job-head').getByText('FAILED').waitFor();
    await page.locator('#exceptions .cause', { hasText: 'Injected failure at record 100' }).waitFor();
    await page.goto(`${dashboard}#/jobs?status=failed`);
    await page.locator(`#jobs-table tr[data-jid="${failedId}"]`).waitFor();
    assert.equal(await page.locator('#jobs-table tbody tr').count(), 1);
  }));

  test('a job whose cluster process died shows as lost, from the catalog', () => withScreenshotOnFailure(page, 'lost', async () => {
    const r = await flink(ws, ['run', '-d', STATE_MACHINE_JOB, '--output', join(ws.dir, 'alerts-lost'), '--count', '1000000', '--rate', '100', '--keys', '5']);
    assert.equal(r.exitCode, 0, show(r));
    const lostId = jobIdFrom(r.stdout);
    await waitForStatus(ws, lostId, 'RUNNING');
    await killCluster(ws, lostId);
    await page.goto(`${dashboard}#/jobs?status=lost`);
    await page.locator(`#jobs-table tr[data-jid="${lostId}"]`).getByText('LOST').waitFor();
    await page.goto(`${dashboard}#/job/${lostId}/exceptions`);
    await page.locator('#exceptions').getByText(/ended without recording/).first().waitFor();
  }));

  test('--open hands the URL to the desktop opener (xdg-open)', async () => {
    const bin = join(ws.dir, 'bin');
    mkdirSync(bin);
    const seen = join(ws.dir, 'opened.txt');
    writeFileSync(join(bin, 'xdg-open'), `#!/bin/sh\necho "$@" > '${seen}'\n`, { mode: 0o755 });
    const child = execa(process.execPath, [BIN, 'dashboard', '--port', '0', '--open'], {
      cwd: ROOT, env: { ...process.env, ...ws.env, PATH: `${bin}:${process.env.PATH}` }, reject: false, stdin: 'ignore',
    });
    ws.children.add(child);
    let out = '';
    child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
    const url = await waitFor(() => /Dashboard listening at (http:\S+)/.exec(out)?.[1], 30_000, "the dashboard's URL");
    assert.equal(await waitFor(() => existsSync(seen) && readFileSync(seen, 'utf8').trim(), 10_000, 'xdg-open called'), url);
    child.kill('SIGTERM');
    assert.equal((await child).exitCode, 0, 'SIGTERM stops it cleanly');
  });
});
