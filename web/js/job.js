// @ts-check
import { get, noteJobState } from './api.js';
import { h, kvTable, replace } from './dom.js';
import { duration, num, text, time, watermark, NONE } from './format.js';
import { jobGraph } from './graph.js';
import { badge } from './status.js';
import { CheckpointsTab, CheckpointDetails } from './checkpoints.js';

const TABS = [['overview', 'Overview'], ['exceptions', 'Exceptions'], ['config', 'Configuration'], ['checkpoints', 'Checkpoints']];

/** One job: header, tabs (keyboard: arrow keys move between them) and the active tab's content. */
export class JobView {
  /** @param {HTMLElement} root @param {string} jid @param {string} tab @param {string | undefined} checkpointId */
  constructor(root, jid, tab, checkpointId) {
    this.jid = jid;
    this.tab = TABS.some(([t]) => t === tab) ? tab : 'overview';
    this.head = h('div', { class: 'job-head' });
    const tabs = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Job views', onkeydown: (/** @type {KeyboardEvent} */ e) => this.tabKey(e) },
      TABS.map(([t, label]) => h('a', {
        role: 'tab', href: `#/job/${jid}/${t}`, id: `tab-${t}`, 'aria-selected': String(t === this.tab), tabindex: t === this.tab ? '0' : '-1',
      }, label)));
    this.body = h('section', { class: 'tab-body', role: 'tabpanel', 'aria-labelledby': `tab-${this.tab}` });
    root.replaceChildren(h('p', { class: 'crumbs' }, h('a', { href: '#/jobs' }, '← All jobs')), this.head, tabs, this.body);
    this.content = this.tab === 'checkpoints'
      ? (checkpointId !== undefined ? new CheckpointDetails(this.body, jid, checkpointId) : new CheckpointsTab(this.body, jid))
      : this.tab === 'exceptions' ? new ExceptionsTab(this.body, jid)
        : this.tab === 'config' ? new ConfigTab(this.body, jid)
          : new OverviewTab(this.body, jid);
  }

  /** @param {KeyboardEvent} e */
  tabKey(e) {
    if (!['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(e.key)) return;
    const tabs = /** @type {HTMLElement[]} */ ([...document.querySelectorAll('[role=tab]')]);
    const i = tabs.indexOf(/** @type {HTMLElement} */ (document.activeElement));
    const next = e.key === 'Home' ? 0 : e.key === 'End' ? tabs.length - 1 : (i + (e.key === 'ArrowRight' ? 1 : -1) + tabs.length) % tabs.length;
    e.preventDefault();
    tabs[next]?.focus();
    tabs[next]?.click();
  }

  async refresh() {
    const d = await get(`/jobs/${this.jid}`);
    if (!d) {
      replace(this.head, h('h1', null, `Job ${this.jid}`), h('p', { class: 'warn' }, 'This job is not known here.'));
      return;
    }
    noteJobState(this.jid, `${d.state}/${d.source ?? 'live'}/${!!d.lost}`);
    const source = d.source === 'catalog' ? 'from the catalog (the job has ended; its JobManager is gone)' : 'live from its JobManager';
    replace(this.head,
      h('h1', null, d.name ?? this.jid, ' ', badge(d.state, d.lost)),
      kvTable([
        ['Job ID', h('span', { class: 'mono' }, d.jid ?? this.jid)],
        ['Start time', time(d['start-time'])],
        ['End time', time(d['end-time'])],
        ['Duration', duration(d.duration)],
        ['Data', source],
      ], 'Job'));
    await this.content.refresh(d);
  }
}

/** Rates from two readings of a counter, for JobManagers without per-second metrics. */
const lastCounts = new Map();

class OverviewTab {
  /** @param {HTMLElement} root @param {string} jid */
  constructor(root, jid) {
    this.jid = jid;
    this.graph = h('div', { class: 'graph-wrap', id: 'job-graph' });
    this.vertices = h('div', { class: 'table-wrap' });
    this.timeline = h('div', { class: 'timeline', id: 'timeline' });
    /** @type {any} */
    this.plan = undefined;
    root.replaceChildren(h('h2', null, 'Job graph'), this.graph, h('h2', null, 'Vertices'), this.vertices, h('h2', null, 'Status timeline'), this.timeline);
  }

  /** @param {any} d JobDetailsInfo */
  async refresh(d) {
    const vertices = Array.isArray(d.vertices) ? d.vertices : [];
    const live = new Map(await Promise.all(vertices.map(async (/** @type {any} */ v) => /** @type {[string, any]} */ ([v.id, await this.vertexLive(v)]))));
    let plan = d.plan;
    // Edges may be only in GET /jobs/:id/plan; asked once per view (the plan does not change while the job runs).
    if (vertices.length && !plan?.nodes?.some((/** @type {any} */ n) => n.inputs?.length)) {
      this.plan ??= (await get(`/jobs/${this.jid}/plan`, { optional: true }))?.plan ?? null;
      plan = this.plan ?? plan;
    }
    const planNodes = Array.isArray(plan?.nodes) && plan.nodes.length ? plan.nodes : vertices.map((/** @type {any} */ v) => ({ id: v.id, description: v.name, parallelism: v.parallelism }));
    const hasEdges = planNodes.some((/** @type {any} */ n) => Array.isArray(n.inputs) && n.inputs.length);
    replace(this.graph, planNodes.length
      ? [jobGraph(planNodes, live), hasEdges ? null : h('p', { class: 'note' }, 'Edges: not reported by this JobManager (plan without inputs); vertices in its order.')]
      : h('p', { class: 'empty' }, 'The graph is not kept after a job ends (the catalog records jobs and snapshots only).'));
    replace(this.vertices, vertices.length ? h('table', { class: 'data', id: 'vertices-table' },
      h('thead', null, h('tr', null, ['Name', 'Parallelism', 'Status', 'Records in/s', 'Records out/s', 'Backpressure', 'Watermark'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, vertices.map((/** @type {any} */ v) => {
        const l = live.get(v.id);
        return h('tr', null, h('td', null, v.name), h('td', { class: 'num' }, num(v.parallelism)), h('td', null, badge(v.status)),
          h('td', { class: 'num' }, num(l.inRate)), h('td', { class: 'num' }, num(l.outRate)),
          h('td', null, h('span', { class: `bp bp-${l.backpressure === NONE ? 'unknown' : l.backpressure}` }, l.backpressure === NONE ? NONE : l.backpressure.toUpperCase())), h('td', null, l.watermark));
      }))) : null);
    replace(this.timeline, timeline(d));
  }

  /** Rates, backpressure and watermark of one vertex, from Flink's metric endpoints where served. @param {any} v */
  async vertexLive(v) {
    const base = `/jobs/${this.jid}/vertices/${v.id}`;
    const [m, bp, wm] = await Promise.all([
      get(`${base}/subtasks/metrics?get=numRecordsInPerSecond,numRecordsOutPerSecond&agg=sum`, { optional: true }),
      get(`${base}/backpressure`, { optional: true }),
      get(`${base}/watermarks`, { optional: true }),
    ]);
    const metric = (/** @type {string} */ id) => (Array.isArray(m) ? m.find((/** @type {any} */ x) => x.id === id)?.sum : undefined);
    let inRate = metric('numRecordsInPerSecond'), outRate = metric('numRecordsOutPerSecond');
    const now = Date.now(), rin = v.metrics?.['read-records'], rout = v.metrics?.['write-records'];
    const prev = lastCounts.get(v.id);
    if (typeof rin === 'number') lastCounts.set(v.id, { at: now, rin, rout });
    if (inRate === undefined && prev && typeof rin === 'number' && now > prev.at) {
      inRate = ((rin - prev.rin) * 1000) / (now - prev.at);
      outRate = ((rout - prev.rout) * 1000) / (now - prev.at);
    }
    const level = bp?.backpressureLevel ?? bp?.['backpressure-level'];
    const wms = Array.isArray(wm) ? wm.map((/** @type {any} */ x) => Number(x.value)).filter((x) => Number.isFinite(x)) : [];
    return {
      name: v.name, parallelism: v.parallelism, inRate, outRate,
      backpressure: bp?.status === 'deprecated' || !level ? NONE : String(level),
      watermark: Array.isArray(wm) ? watermark(wms.length ? Math.min(...wms) : undefined) : NONE,
    };
  }
}

/** The job's status changes, from JobDetailsInfo.timestamps (Flink records when each status was entered). @param {any} d */
function timeline(d) {
  const entries = Object.entries(d.timestamps ?? {}).filter(([, t]) => typeof t === 'number' && t > 0).sort((a, b) => Number(a[1]) - Number(b[1]));
  if (entries.length === 0) return h('p', { class: 'empty' }, NONE);
  const end = d['end-time'] > 0 ? d['end-time'] : d.now ?? Date.now();
  const first = Number(entries[0][1]);
  const span = Math.max(1, end - first);
  return h('ol', { class: 'timeline-list', 'aria-label': 'Status timeline' }, entries.map(([s, t], i) => {
    const until = i + 1 < entries.length ? Number(entries[i + 1][1]) : end;
    const bar = h('span', { class: `bar s-${s.toLowerCase()}`, 'aria-hidden': 'true' });
    bar.style.width = `${Math.max(2, ((until - Number(t)) / span) * 60).toFixed(1)}%`;
    return h('li', null, bar,
      badge(s), ` ${time(t)}`, i + 1 < entries.length || d['end-time'] <= 0 ? ` for ${duration(until - Number(t))}` : '');
  }));
}

class ExceptionsTab {
  /** @param {HTMLElement} root @param {string} jid */
  constructor(root, jid) {
    this.jid = jid;
    this.root = root;
  }

  async refresh() {
    const e = await get(`/jobs/${this.jid}/exceptions?maxExceptions=20`, { optional: true });
    if (!e) return replace(this.root, h('p', { class: 'empty' }, 'Exceptions: not served by this JobManager (—).'));
    const entries = Array.isArray(e.exceptionHistory?.entries) ? e.exceptionHistory.entries : [];
    if (entries.length === 0 && !e['root-exception']) return replace(this.root, h('p', { class: 'empty' }, 'No exceptions.'));
    const list = entries.length ? entries : [{ exceptionName: '', stacktrace: e['root-exception'], timestamp: e.timestamp }];
    replace(this.root, h('ol', { class: 'exceptions', id: 'exceptions' }, list.map((/** @type {any} */ x, /** @type {number} */ i) => h('li', null,
      h('p', null, h('strong', null, time(x.timestamp)), ' ', text(x.exceptionName), x.taskName ? ` in ${x.taskName}` : '', x.location ? ` (${x.location})` : ''),
      h('p', null, 'Root cause: ', h('span', { class: 'cause' }, rootCause(x.stacktrace))),
      h('details', null, h('summary', { 'data-key': `ex-${i}` }, 'Stack trace'), h('pre', null, text(x.stacktrace)))))));
  }
}

/** The innermost "Caused by:" of a Java-style stack trace, else its first line. @param {unknown} st */
export function rootCause(st) {
  const s = String(st ?? '');
  const causes = s.split('\n').filter((l) => l.startsWith('Caused by:'));
  return (causes.length ? causes[causes.length - 1].slice('Caused by:'.length) : s.split('\n')[0]).trim() || NONE;
}

class ConfigTab {
  /** @param {HTMLElement} root @param {string} jid */
  constructor(root, jid) {
    this.jid = jid;
    this.root = root;
  }

  async refresh() {
    const [c, jm] = await Promise.all([
      get(`/jobs/${this.jid}/config`, { optional: true }),
      get(`/jobs/${this.jid}/jobmanager/config`, { optional: true }),
    ]);
    const ec = c?.['execution-config'] ?? c?.executionConfigInfo;
    const user = Object.entries(ec?.['user-config'] ?? {});
    replace(this.root,
      h('h2', null, 'Execution configuration'),
      ec ? kvTable([
        ['Execution mode', text(ec['execution-mode'])],
        ['Job parallelism', num(ec['job-parallelism'])],
        ['Object reuse', text(ec['object-reuse-mode'])],
        ['Restart strategy', text(ec['restart-strategy'])],
      ], 'Execution configuration') : h('p', { class: 'empty' }, `Not served by this JobManager (${NONE}).`),
      h('h2', null, 'User configuration'),
      user.length ? kvTable(user.map(([k, v]) => [k, String(v)]), 'User configuration') : h('p', { class: 'empty' }, NONE),
      h('h2', null, 'Cluster configuration'),
      Array.isArray(jm) && jm.length ? kvTable(jm.map((/** @type {any} */ x) => [x.key, String(x.value)]), 'Cluster configuration') : h('p', { class: 'empty' }, NONE));
  }
}
