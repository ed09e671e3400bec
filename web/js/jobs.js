// @ts-check
import { get, noteJobState } from './api.js';
import { h, replace } from './dom.js';
import { duration, num, time, NONE } from './format.js';
import { badge, FILTERS } from './status.js';

/** Parallelism and restarts per job: asked once for ended jobs, every refresh for running ones. */
const extras = new Map();

/** @param {any} j */
async function extrasOf(j) {
  // The catalog keeps no parallelism or restarts: nothing to ask for the (possibly many) jobs it answers for.
  if (j.source === 'catalog') return {};
  const done = ['FINISHED', 'CANCELED', 'FAILED'].includes(j.state) || j.lost;
  const cached = extras.get(j.jid);
  if (cached && done) return cached;
  const live = j.source !== 'catalog';
  const [details, metrics, exceptions] = await Promise.all([
    cached?.parallelism !== undefined ? null : get(`/jobs/${j.jid}`),
    live ? get(`/jobs/${j.jid}/metrics?get=numRestarts`, { optional: true }) : null,
    live ? get(`/jobs/${j.jid}/exceptions`, { optional: true }) : null,
  ]);
  const vertices = Array.isArray(details?.vertices) ? details.vertices : [];
  const parallelism = cached?.parallelism ?? (vertices.length ? Math.max(...vertices.map((/** @type {any} */ v) => v.parallelism ?? 0)) : undefined);
  const m = Array.isArray(metrics) ? metrics.find((/** @type {any} */ x) => x.id === 'numRestarts') : undefined;
  // Without Flink's numRestarts metric: each failure in the exception history restarted the job, but the one that failed it.
  const entries = exceptions?.exceptionHistory?.entries;
  const fromHistory = Array.isArray(entries) && !exceptions.exceptionHistory.truncated ? Math.max(0, entries.length - (j.state === 'FAILED' ? 1 : 0)) : undefined;
  const e = { parallelism, restarts: m ? Number(m.value) : fromHistory ?? cached?.restarts };
  extras.set(j.jid, e);
  return e;
}

/** The jobs overview: every job, filterable by status. */
export class JobsView {
  /** @param {HTMLElement} root @param {URLSearchParams} params */
  constructor(root, params) {
    this.filter = /** @type {keyof typeof FILTERS} */ (params.get('status') ?? 'all');
    if (!(this.filter in FILTERS)) this.filter = 'all';
    this.filters = h('div', { class: 'filters', role: 'group', 'aria-label': 'Filter by status' });
    this.table = h('div', { class: 'table-wrap' });
    root.replaceChildren(h('h1', null, 'Jobs'), this.filters, this.table);
    /** @type {any[]} */
    this.jobs = [];
  }

  async refresh() {
    const body = await get('/jobs/overview');
    const jobs = Array.isArray(body?.jobs) ? body.jobs : [];
    jobs.sort((/** @type {any} */ a, /** @type {any} */ b) => (b['start-time'] ?? 0) - (a['start-time'] ?? 0));
    for (const j of jobs) noteJobState(j.jid, `${j.state}/${j.source ?? 'live'}/${!!j.lost}`);
    const withExtras = await Promise.all(jobs.map(async (/** @type {any} */ j) => ({ ...j, ...(await extrasOf(j)) })));
    this.jobs = withExtras;
    this.render();
  }

  render() {
    replace(this.filters, Object.keys(FILTERS).map((f) => {
      const n = this.jobs.filter(FILTERS[/** @type {keyof typeof FILTERS} */ (f)]).length;
      return h('button', {
        type: 'button', 'data-key': `f-${f}`, 'aria-pressed': String(this.filter === f),
        onclick: () => { this.filter = /** @type {any} */ (f); history.replaceState(null, '', `#/jobs?status=${f}`); this.render(); },
      }, `${f[0].toUpperCase()}${f.slice(1)} (${n})`);
    }));
    const shown = this.jobs.filter(FILTERS[this.filter]);
    if (shown.length === 0) {
      replace(this.table, h('p', { class: 'empty' }, this.jobs.length ? 'No job has this status.' : 'No jobs in the catalog yet: start one with flink run.'));
      return;
    }
    replace(this.table, h('table', { class: 'data', id: 'jobs-table' },
      h('thead', null, h('tr', null, ['Job name', 'Job ID', 'Status', 'Start time', 'Duration', 'Parallelism', 'Restarts'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, shown.map((j) => h('tr', { 'data-jid': j.jid },
        h('td', null, h('a', { href: `#/job/${j.jid}/overview`, 'data-key': `job-${j.jid}` }, j.name || j.jid)),
        h('td', { class: 'mono' }, j.jid),
        h('td', null, badge(j.state, j.lost)),
        h('td', null, time(j['start-time'])),
        h('td', null, duration(j.duration)),
        h('td', { class: 'num' }, j.parallelism === undefined ? NONE : num(j.parallelism)),
        h('td', { class: 'num' }, j.restarts === undefined || Number.isNaN(j.restarts) ? NONE : num(j.restarts)),
      )))));
  }
}
