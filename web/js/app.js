// @ts-check
import { get, setToken, Unauthorized } from './api.js';
import { h } from './dom.js';
import { JobsView } from './jobs.js';
import { JobView } from './job.js';
import { SavepointsView } from './savepoints.js';

const main = /** @type {HTMLElement} */ (document.getElementById('main'));
const updated = /** @type {HTMLElement} */ (document.getElementById('updated'));

/** @type {{ refresh: () => Promise<void> } | undefined} */
let view;
let refreshMs = 3000;
let timer = 0;
let generation = 0;

/** Routes: #/jobs[?status=…], #/job/<id>/<tab>[/<checkpoint id>], #/savepoints. */
function route() {
  const [path, query] = location.hash.replace(/^#/, '').split('?');
  const parts = (path || '/jobs').split('/').filter(Boolean);
  for (const a of document.querySelectorAll('[data-nav]')) {
    const current = a.getAttribute('data-nav') === (parts[0] === 'job' ? 'jobs' : parts[0]);
    if (current) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (parts[0] === 'job' && /^[0-9a-f]{32}$/.test(parts[1] ?? '')) {
    view = new JobView(main, /** @type {string} */ (parts[1]), parts[2] ?? 'overview', parts[3]);
    document.title = `Job ${parts[1]} · flink-ts`;
  } else if (parts[0] === 'savepoints') {
    view = new SavepointsView(main);
    document.title = 'Savepoints · flink-ts';
  } else {
    view = new JobsView(main, new URLSearchParams(query ?? ''));
    document.title = 'Jobs · flink-ts';
  }
  void tick(true);
}

/** One refresh of the current view, then the next one after the JobManager's refresh interval (live updates). */
async function tick(immediate = false) {
  clearTimeout(timer);
  const mine = ++generation;
  const v = view;
  try {
    await v?.refresh();
    if (mine === generation) updated.textContent = `Updated ${new Date().toLocaleTimeString()}`;
  } catch (e) {
    if (e instanceof Unauthorized) return askToken(e.message);
    updated.textContent = `Update failed: ${/** @type {Error} */ (e).message}`;
  }
  if (mine === generation) timer = window.setTimeout(() => void tick(), refreshMs);
  if (immediate && document.activeElement === document.body) main.focus({ preventScroll: true });
}

/** rest.auth.token is set: the page asks for it once per tab (kept in sessionStorage, never in the URL). @param {string} why */
function askToken(why) {
  const input = h('input', { type: 'password', id: 'token', autocomplete: 'off', required: true });
  main.replaceChildren(h('form', { class: 'token', onsubmit: (/** @type {Event} */ e) => {
    e.preventDefault();
    setToken(/** @type {HTMLInputElement} */ (input).value.trim());
    route();
  } },
  h('h1', null, 'Token required'),
  h('p', null, why),
  h('label', { for: 'token' }, 'rest.auth.token'), ' ', input, ' ', h('button', { type: 'submit' }, 'Continue')));
  input.focus();
}

async function start() {
  try {
    const cfg = await get('/config');
    const ms = Number(new URLSearchParams(location.search).get('refresh') ?? cfg?.['refresh-interval']);
    if (Number.isFinite(ms) && ms >= 200) refreshMs = ms;
  } catch (e) {
    if (!(e instanceof Unauthorized)) throw e;
  }
  window.addEventListener('hashchange', route);
  route();
}

void start();
