// @ts-check
import { get } from './api.js';
import { h, kvTable, replace } from './dom.js';
import { bytes, duration, num, text, time, NONE } from './format.js';
import { lineChart } from './charts.js';

/** Flink's type column: aligned/unaligned checkpoint or savepoint, and full/incremental where reported. @param {any} c */
export function typeOf(c) {
  const t = c.checkpoint_type === 'SAVEPOINT' || c.checkpoint_type === 'SYNC_SAVEPOINT' || c.is_savepoint ? 'Savepoint'
    : c.checkpoint_type === 'UNALIGNED_CHECKPOINT' ? 'Unaligned checkpoint' : 'Aligned checkpoint';
  const full = typeof c.checkpointed_size === 'number' && typeof c.state_size === 'number' && c.checkpointed_size > 0
    ? (c.checkpointed_size < c.state_size ? ' (incremental)' : ' (full)') : '';
  return `${t}${full}`;
}

/** min/avg/max of the given checkpoints' fields. @param {any[]} cps */
function fromHistory(cps) {
  /** @param {string} f */
  const stat = (f) => {
    const v = cps.map((x) => x[f]).filter((x) => typeof x === 'number' && x >= 0);
    return v.length ? { min: Math.min(...v), max: Math.max(...v), avg: Math.round(v.reduce((a, b) => a + b, 0) / v.length) } : undefined;
  };
  return { end_to_end_duration: stat('end_to_end_duration'), checkpointed_size: stat('checkpointed_size') ?? stat('state_size'), processed_data: stat('processed_data'), persisted_data: stat('persisted_data') };
}

/** Completed checkpoints seen since the page opened, by id: Flink's history keeps only the newest few. */
const seen = new Map();

export class CheckpointsTab {
  /** @param {HTMLElement} root @param {string} jid */
  constructor(root, jid) {
    this.jid = jid;
    this.counts = h('div', { class: 'cards', id: 'cp-counts' });
    this.latest = h('div', { id: 'cp-latest' });
    this.summary = h('div', { id: 'cp-summary' });
    this.durChart = h('div', { class: 'chart', id: 'cp-duration-chart' });
    this.sizeChart = h('div', { class: 'chart', id: 'cp-size-chart' });
    this.history = h('div', { class: 'table-wrap', id: 'cp-history' });
    this.config = h('div', { id: 'cp-config' });
    root.replaceChildren(
      h('h2', null, 'Counts'), this.counts, h('h2', null, 'Latest'), this.latest,
      h('h2', null, 'Summary'), this.summary,
      h('h2', null, 'Over time'), h('div', { class: 'charts' }, this.durChart, this.sizeChart),
      h('h2', null, 'History'), this.history, h('h2', null, 'Checkpoint configuration'), this.config);
    this.lastChart = '';
  }

  async refresh() {
    const [s, cfg] = await Promise.all([get(`/jobs/${this.jid}/checkpoints`), this.cfg ? this.cfg : get(`/jobs/${this.jid}/checkpoints/config`, { optional: true })]);
    this.cfg = cfg;
    if (!s) {
      replace(this.counts, h('p', { class: 'empty' }, 'No checkpoint statistics for this job.'));
      return;
    }
    const c = s.counts ?? {};
    replace(this.counts, [['Triggered', c.total], ['In progress', c.in_progress], ['Completed', c.completed], ['Failed', c.failed], ['Restored', c.restored]]
      .map(([k, v]) => h('div', { class: 'card' }, h('span', { class: 'card-n' }, num(v)), h('span', null, k))));
    const l = s.latest ?? {};
    const line = (/** @type {any} */ x) => (x ? h('span', null, h('a', { href: `#/job/${this.jid}/checkpoints/${x.id}` }, `#${x.id}`), ` at ${time(x.trigger_timestamp)}, ${duration(x.end_to_end_duration)}, ${bytes(x.checkpointed_size ?? x.state_size)}`, x.external_path ? h('span', { class: 'mono path' }, ` ${x.external_path}`) : '', x.failure_message ? ` — ${x.failure_message}` : '') : NONE);
    replace(this.latest, kvTable([
      ['Latest completed checkpoint', line(l.completed)],
      ['Latest savepoint', line(l.savepoint)],
      ['Latest failed checkpoint', line(l.failed)],
      ['Latest restore', l.restored ? h('span', null, `#${l.restored.id} at ${time(l.restored.restore_timestamp)}${l.restored.is_savepoint ? ' (savepoint)' : ''}`, h('span', { class: 'mono path' }, ` ${text(l.restored.external_path)}`)) : NONE],
    ], 'Latest checkpoints'));
    // Without Flink's summary, one over the history shown, said so.
    const shown = (Array.isArray(s.history) ? s.history : []).filter((/** @type {any} */ x) => x.status === 'COMPLETED');
    const sum = s.summary ?? fromHistory(shown);
    const note = s.summary ? null : h('p', { class: 'note' }, `Over the ${shown.length} completed checkpoints in the history (this JobManager reports no summary).`);
    const row = (/** @type {string} */ label, /** @type {any} */ x, /** @type {(v: unknown) => string} */ f) => h('tr', null, h('th', { scope: 'row' }, label), h('td', null, f(x?.min)), h('td', null, f(x?.avg)), h('td', null, f(x?.max)));
    replace(this.summary, h('table', { class: 'data', 'aria-label': 'Summary' },
      h('thead', null, h('tr', null, ['', 'Minimum', 'Average', 'Maximum'].map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', null,
        row('End to end duration', sum.end_to_end_duration, duration),
        row('Checkpointed data size', sum.checkpointed_size ?? sum.state_size, bytes),
        row('Processed in-flight data', sum.processed_data, bytes),
        row('Persisted in-flight data', sum.persisted_data, bytes))), note);

    const history = Array.isArray(s.history) ? s.history : [];
    for (const x of history) if (x.status === 'COMPLETED') seen.set(`${this.jid}/${x.id}`, x);
    replace(this.history, history.length ? h('table', { class: 'data', id: 'cp-history-table' },
      h('thead', null, h('tr', null, ['ID', 'Status', 'Type', 'Acknowledged', 'Trigger time', 'End to end duration', 'Checkpointed data size', 'Processed data', 'Persisted data'].map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', null, history.map((/** @type {any} */ x) => h('tr', { 'data-id': x.id, class: `st-${String(x.status).toLowerCase()}` },
        h('td', null, h('a', { href: `#/job/${this.jid}/checkpoints/${x.id}`, 'data-key': `cp-${x.id}` }, String(x.id))),
        h('td', null, h('span', { class: `badge s-${(x.discarded ? 'DISCARDED' : String(x.status)).toLowerCase()}`, title: x.discarded ? 'Completed, since removed (subsumed or by retention)' : undefined }, x.discarded ? 'DISCARDED' : x.status)),
        h('td', null, typeOf(x)),
        h('td', { class: 'num' }, x.num_subtasks > 0 ? `${x.num_acknowledged_subtasks}/${x.num_subtasks}` : NONE),
        h('td', null, time(x.trigger_timestamp)),
        h('td', { class: 'num' }, duration(x.end_to_end_duration)),
        h('td', { class: 'num' }, bytes(x.checkpointed_size ?? x.state_size)),
        h('td', { class: 'num' }, bytes(x.processed_data)),
        h('td', { class: 'num' }, bytes(x.persisted_data)))))) : h('p', { class: 'empty' }, 'No checkpoints yet.'));

    const done = [...seen].filter(([k]) => k.startsWith(`${this.jid}/`)).map(([, v]) => v).sort((a, b) => a.trigger_timestamp - b.trigger_timestamp);
    const key = done.map((x) => x.id).join(',');
    if (key !== this.lastChart) {
      this.lastChart = key;
      const xs = done.map((x) => x.trigger_timestamp / 1000);
      lineChart(this.durChart, 'End to end duration', xs, done.map((x) => x.end_to_end_duration), (v) => duration(v));
      lineChart(this.sizeChart, 'Checkpointed data size', xs, done.map((x) => x.checkpointed_size ?? x.state_size ?? 0), (v) => bytes(v));
    }

    const k = cfg;
    replace(this.config, k ? kvTable([
      ['Checkpointing mode', text(k.mode).toUpperCase()],
      ['Interval', k.interval >= 0x7fffffffffff ? 'Periodic checkpoints disabled' : duration(k.interval)],
      ['Timeout', duration(k.timeout)],
      ['Minimum pause between checkpoints', duration(k.min_pause)],
      ['Maximum concurrent checkpoints', num(k.max_concurrent)],
      ['Unaligned checkpoints', k.unaligned_checkpoints ? 'Enabled' : 'Disabled'],
      ['Aligned checkpoint timeout', duration(k.aligned_checkpoint_timeout)],
      ['Persist checkpoints externally', k.externalization?.enabled ? (k.externalization.delete_on_cancellation ? 'Enabled: delete on cancellation' : 'Enabled: retain on cancellation') : 'Disabled'],
      ['Tolerable failed checkpoints', num(k.tolerable_failed_checkpoints)],
      ['State backend', text(k.state_backend)],
      ['Checkpoint storage', text(k.checkpoint_storage)],
      ['Checkpoints after tasks finish', k.checkpoints_after_tasks_finish ? 'Enabled' : 'Disabled'],
    ], 'Checkpoint configuration') : h('p', { class: 'empty' }, NONE));
  }
}

/** One checkpoint: per operator, and per subtask of an operator on request (Flink's details endpoints). */
export class CheckpointDetails {
  /** @param {HTMLElement} root @param {string} jid @param {string} id */
  constructor(root, jid, id) {
    this.jid = jid;
    this.id = id;
    this.head = h('div', { id: 'cp-detail-head' });
    this.tasks = h('div', { class: 'table-wrap', id: 'cp-detail-tasks' });
    /** @type {Set<string>} */
    this.open = new Set();
    /** @type {any} the last details the JobManager returned */
    this.last = null;
    /** @type {Map<string, any>} */
    this.lastSubtasks = new Map();
    root.replaceChildren(h('p', { class: 'crumbs' }, h('a', { href: `#/job/${jid}/checkpoints` }, '← Checkpoints')), h('h2', null, `Checkpoint ${id}`), this.head, this.tasks);
    root.addEventListener('keydown', (e) => { if (e.key === 'Escape') location.hash = `#/job/${jid}/checkpoints`; });
  }

  /** @param {any} job */
  async refresh(job) {
    // Not `optional`: a 404 here may only mean that this checkpoint left the JobManager's history.
    const fresh = await get(`/jobs/${this.jid}/checkpoints/details/${this.id}`);
    const fromHistory = fresh ? null : ((await get(`/jobs/${this.jid}/checkpoints`))?.history ?? []).find((/** @type {any} */ x) => String(x.id) === this.id);
    // Flink keeps the newest few (web.checkpoints.history): one that left is shown as last seen.
    const d = fresh ?? (fromHistory ? null : this.last);
    if (fresh) this.last = fresh;
    const c = d ?? fromHistory ?? seen.get(`${this.jid}/${this.id}`);
    const gone = !fresh && !fromHistory;
    if (!c) return replace(this.head, h('p', { class: 'empty' }, 'This checkpoint is no longer in the JobManager\'s history.'));
    replace(this.head, gone ? h('p', { class: 'note' }, 'No longer in the JobManager\'s history: as last seen.') : null, kvTable([
      ['Status', h('span', { class: `badge s-${String(c.status).toLowerCase()}` }, c.status)],
      ['Type', typeOf(c)],
      ['Trigger time', time(c.trigger_timestamp)],
      ['Latest acknowledgement', time(c.latest_ack_timestamp)],
      ['End to end duration', duration(c.end_to_end_duration)],
      ['Checkpointed data size', bytes(c.checkpointed_size ?? c.state_size)],
      ['Full checkpoint data size', bytes(c.state_size)],
      ['Processed in-flight data', bytes(c.processed_data)],
      ['Persisted in-flight data', bytes(c.persisted_data)],
      ['Acknowledged subtasks', c.num_subtasks > 0 ? `${c.num_acknowledged_subtasks}/${c.num_subtasks}` : NONE],
      ['Path', h('span', { class: 'mono path' }, text(c.external_path))],
      ['Failure', text(c.failure_message)],
    ], 'Checkpoint'));
    const names = new Map((job?.vertices ?? []).map((/** @type {any} */ v) => [v.id, v.name]));
    const tasks = Object.entries(d?.tasks ?? {});
    if (tasks.length === 0) {
      return replace(this.tasks, h('p', { class: 'empty' }, `Per-operator statistics: ${d ? 'none reported' : 'not served by this JobManager'} (${NONE}).`));
    }
    const subtasks = await Promise.all(tasks.map(async ([vid]) => {
      if (!this.open.has(vid)) return null;
      const sub = gone ? null : await get(`/jobs/${this.jid}/checkpoints/details/${this.id}/subtasks/${vid}`);
      if (sub) this.lastSubtasks.set(vid, sub);
      return sub ?? this.lastSubtasks.get(vid) ?? null;
    }));
    replace(this.tasks, h('table', { class: 'data', id: 'cp-operators' },
      h('thead', null, h('tr', null, ['Operator', 'Acknowledged', 'Latest ack', 'End to end', 'Checkpointed size', 'Full size', 'Processed', 'Persisted', ''].map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', null, tasks.flatMap(([vid, t], i) => {
        const x = /** @type {any} */ (t);
        const rows = [h('tr', null,
          h('td', null, names.get(vid) ?? vid),
          h('td', { class: 'num' }, `${num(x.num_acknowledged_subtasks)}/${num(x.num_subtasks)}`),
          h('td', null, time(x.latest_ack_timestamp)),
          h('td', { class: 'num' }, duration(x.end_to_end_duration)),
          h('td', { class: 'num' }, bytes(x.checkpointed_size)),
          h('td', { class: 'num' }, bytes(x.state_size)),
          h('td', { class: 'num' }, bytes(x.processed_data)),
          h('td', { class: 'num' }, bytes(x.persisted_data)),
          h('td', null, h('button', {
            type: 'button', 'data-key': `sub-${vid}`, 'aria-expanded': String(this.open.has(vid)),
            onclick: () => { if (!this.open.delete(vid)) this.open.add(vid); void this.refresh(job); },
          }, this.open.has(vid) ? 'Hide subtasks' : 'Subtasks')))];
        const sub = subtasks[i];
        if (sub) rows.push(h('tr', { class: 'subtasks' }, h('td', { colspan: '9' }, subtaskTable(sub))));
        return rows;
      }))));
  }
}

/** @param {any} s TaskCheckpointStatisticsWithSubtaskDetails */
function subtaskTable(s) {
  const m = s.summary ?? {};
  const sm = (/** @type {string} */ label, /** @type {any} */ x, /** @type {(v: unknown) => string} */ f) => h('tr', null, h('th', { scope: 'row' }, label), h('td', null, f(x?.min)), h('td', null, f(x?.avg)), h('td', null, f(x?.max)));
  return h('div', null,
    h('table', { class: 'data small', 'aria-label': 'Subtask summary' },
      h('thead', null, h('tr', null, ['', 'Minimum', 'Average', 'Maximum'].map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', null,
        sm('End to end duration', m.end_to_end_duration, duration), sm('Checkpointed data size', m.checkpointed_size, bytes),
        sm('Sync duration', m.checkpoint_duration?.sync, duration), sm('Async duration', m.checkpoint_duration?.async, duration),
        sm('Alignment duration', m.alignment?.duration, duration), sm('Start delay', m.start_delay, duration))),
    h('table', { class: 'data small subtask-table' },
      h('thead', null, h('tr', null, ['Subtask', 'Status', 'Acknowledged', 'End to end', 'Checkpointed size', 'Sync', 'Async', 'Alignment', 'Start delay', 'Processed', 'Persisted', 'Unaligned'].map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', null, (s.subtasks ?? []).map((/** @type {any} */ x) => h('tr', null,
        h('td', { class: 'num' }, num(x.index)), h('td', null, text(x.status)), h('td', null, time(x.ack_timestamp)),
        h('td', { class: 'num' }, duration(x.end_to_end_duration)), h('td', { class: 'num' }, bytes(x.checkpointed_size ?? x.state_size)),
        h('td', { class: 'num' }, duration(x.checkpoint?.sync)), h('td', { class: 'num' }, duration(x.checkpoint?.async)),
        h('td', { class: 'num' }, duration(x.alignment?.duration)), h('td', { class: 'num' }, duration(x.start_delay)),
        h('td', { class: 'num' }, bytes(x.alignment?.processed)), h('td', { class: 'num' }, bytes(x.alignment?.persisted)),
        h('td', null, x.unaligned_checkpoint === undefined ? NONE : x.unaligned_checkpoint ? 'yes' : 'no'))))));
}
