// @ts-check
/**
 * The page's only way to data: Flink's REST API on this origin (a JobManager's endpoint, or `flink dashboard`,
 * which answers in the same shapes). A missing endpoint or field is not an error: callers get null and show "—".
 */

const TOKEN_KEY = 'flink-ts-rest-token';

export class Unauthorized extends Error {}

/**
 * Optional paths that answered 404 once, per job (an ended job answered from the catalog lacks paths a running
 * one has): not served there, not asked again.
 */
const unsupported = new Set();

/** @param {string} path */
const kindOf = (path) => path.replace(/\?.*$/, '').replace(/\/(vertices|subtasks)\/[0-9a-f]{32}/g, '/$1/:id').replace(/\/\d+(?=\/|$)/g, '/:n');

const jobStates = new Map();

/**
 * A job's state (and whether a JobManager or the catalog answers for it) as last seen: when it changes, what the
 * job's paths did not serve before may be served now (a running job ended and the catalog answers), so ask again.
 * @param {string} jid @param {string} state
 */
export function noteJobState(jid, state) {
  if (jobStates.get(jid) === state) return;
  jobStates.set(jid, state);
  for (const k of unsupported) if (k.startsWith(`/jobs/${jid}/`)) unsupported.delete(k);
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}

/** @param {string} t */
export function setToken(t) {
  if (t) sessionStorage.setItem(TOKEN_KEY, t);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/**
 * GET a REST path; null when this endpoint does not serve it (404/405/501) or did not answer.
 * @param {string} path
 * @param {{ optional?: boolean }} [opts] optional paths are remembered as unsupported after a 404
 * @returns {Promise<any>}
 */
export async function get(path, opts = {}) {
  const kind = kindOf(path);
  if (opts.optional && unsupported.has(kind)) return null;
  /** @type {Record<string, string>} */
  const headers = { Accept: 'application/json' };
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  let res;
  try {
    res = await fetch(path.replace(/^\//, ''), { headers, cache: 'no-store' });
  } catch {
    return null;
  }
  if (res.status === 401) throw new Unauthorized(await errorText(res));
  if (!res.ok) {
    if (opts.optional && (res.status === 404 || res.status === 405 || res.status === 501)) unsupported.add(kind);
    return null;
  }
  try {
    return await res.json();
  } catch {
    return null;
  }
}

/** @param {Response} res */
async function errorText(res) {
  try {
    const b = await res.json();
    return Array.isArray(b?.errors) ? b.errors.join('; ') : res.statusText;
  } catch {
    return res.statusText;
  }
}
