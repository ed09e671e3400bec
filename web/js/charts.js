// @ts-check
/** Line charts of checkpoints over time, drawn by uPlot (window.uPlot, vendored in the package). */

/**
 * @param {HTMLElement} el
 * @param {string} label
 * @param {number[]} xs seconds since epoch
 * @param {number[]} ys
 * @param {(v: number) => string} fmt
 */
export function lineChart(el, label, xs, ys, fmt) {
  const U = /** @type {any} */ (window).uPlot;
  el.replaceChildren();
  if (!U) {
    el.textContent = 'Chart library not loaded.';
    return;
  }
  if (xs.length === 0) {
    el.textContent = 'No completed checkpoint yet.';
    return;
  }
  const width = Math.max(280, Math.min(560, el.clientWidth || 520));
  new U({
    width, height: 180, title: label,
    scales: { x: { time: true } },
    axes: [{}, { values: (/** @type {any} */ _u, /** @type {number[]} */ vals) => vals.map(fmt), size: 70 }],
    series: [{}, { label, stroke: '#1d4ed8', width: 2, points: { show: true }, value: (/** @type {any} */ _u, /** @type {number} */ v) => (v === null ? '—' : fmt(v)) }],
  }, [xs, ys], el);
}
