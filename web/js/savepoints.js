// @ts-check
import { get } from './api.js';
import { h, replace } from './dom.js';
import { bytes, duration, time, NONE } from './format.js';

/** A shell word: quoted only when it needs to be. @param {string} s */
const shellWord = (s) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** The command that starts a job from this savepoint (the job's program is not recorded: the user names it). @param {string} path */
export const restoreCommand = (path) => `flink run -s ${shellWord(path)} <job file>`;

/**
 * Savepoints per job name: from the catalog under `flink dashboard` (its /flink-ts/savepoints), else from
 * the checkpoint history of each job this JobManager knows.
 */
export class SavepointsView {
  /** @param {HTMLElement} root */
  constructor(root) {
    this.list = h('div', { id: 'savepoints' });
    root.replaceChildren(h('h1', null, 'Savepoints'), this.list);
  }

  async refresh() {
    const groups = (await get('/flink-ts/savepoints', { optional: true }))?.jobs ?? (await this.fromHistory());
    if (groups.length === 0) return replace(this.list, h('p', { class: 'empty' }, 'No savepoints yet: take one with flink savepoint <job id>.'));
    replace(this.list, groups.map((/** @type {any} */ g) => h('section', { class: 'sp-group' },
      h('h2', null, g.name),
      h('table', { class: 'data' },
        h('thead', null, h('tr', null, ['Time', 'Job ID', 'Status', 'Duration', 'Size', 'Restore with'].map((x) => h('th', { scope: 'col' }, x)))),
        h('tbody', null, g.savepoints.map((/** @type {any} */ s) => {
          const cmd = restoreCommand(s.path);
          const usable = s.status === 'COMPLETED';
          return h('tr', { 'data-path': s.path },
            h('td', null, time(s.trigger_timestamp)),
            h('td', { class: 'mono' }, s.jid),
            h('td', null, h('span', { class: `badge s-${String(s.status).toLowerCase()}` }, s.status)),
            h('td', { class: 'num' }, duration(s.duration)),
            h('td', { class: 'num' }, bytes(s.size)),
            h('td', null, usable ? h('span', { class: 'cmd' },
              h('code', { class: 'mono' }, cmd), ' ',
              h('button', { type: 'button', 'data-key': `copy-${s.path}`, 'aria-label': `Copy: ${cmd}`, onclick: (/** @type {Event} */ e) => copy(cmd, /** @type {HTMLElement} */ (e.currentTarget)) }, 'Copy'))
              : (s.failure_message ?? NONE)));
        }))))));
  }

  async fromHistory() {
    const jobs = (await get('/jobs/overview'))?.jobs ?? [];
    /** @type {Map<string, any[]>} */
    const byName = new Map();
    for (const j of jobs) {
      const cps = await get(`/jobs/${j.jid}/checkpoints`);
      for (const c of cps?.history ?? []) {
        if (!c.is_savepoint) continue;
        byName.set(j.name, [...(byName.get(j.name) ?? []), { jid: j.jid, id: c.id, status: c.status, path: c.external_path, trigger_timestamp: c.trigger_timestamp, duration: c.end_to_end_duration, size: c.checkpointed_size ?? c.state_size, failure_message: c.failure_message }]);
      }
    }
    return [...byName].map(([name, savepoints]) => ({ name, savepoints }));
  }
}

/** @param {string} text @param {HTMLElement} button */
async function copy(text, button) {
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = 'Copied';
  } catch {
    // No clipboard access: select the command so Ctrl+C copies it.
    const code = button.parentElement?.querySelector('code');
    if (code) getSelection()?.selectAllChildren(code);
    button.textContent = 'Selected: press Ctrl+C';
  }
}
