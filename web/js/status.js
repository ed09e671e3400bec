// @ts-check
import { h } from './dom.js';

/** @param {string} state @param {boolean} [lost] */
export function badge(state, lost) {
  const s = lost ? 'LOST' : String(state ?? 'UNKNOWN');
  return h('span', { class: `badge s-${s.toLowerCase()}`, title: lost ? 'FAILED: its cluster process ended without recording how the job ended' : undefined }, s);
}

/** Filter groups of the jobs overview, by Flink's JobStatus. */
export const FILTERS = /** @type {const} */ ({
  all: () => true,
  running: (/** @type {any} */ j) => !j.lost && !['FINISHED', 'CANCELED', 'FAILED', 'UNKNOWN'].includes(j.state),
  finished: (/** @type {any} */ j) => j.state === 'FINISHED',
  canceled: (/** @type {any} */ j) => j.state === 'CANCELED',
  failed: (/** @type {any} */ j) => j.state === 'FAILED' && !j.lost,
  lost: (/** @type {any} */ j) => !!j.lost,
});
