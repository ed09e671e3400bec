// @ts-check
import { svg } from './dom.js';
import { num, NONE } from './format.js';

const W = 210, H = 100, GX = 70, GY = 26;

/**
 * The job graph as SVG: vertices in layers by longest path from the sources, edges from the plan's inputs with
 * their ship strategy (Flink's partitioner: FORWARD, HASH, REBALANCE, …).
 * @param {any[]} nodes plan nodes ({id, description, parallelism, inputs?})
 * @param {Map<string, any>} live per vertex id: {name, parallelism, inRate, outRate, backpressure, watermark}
 */
export function jobGraph(nodes, live) {
  const ids = nodes.map((n) => n.id);
  const hasEdges = nodes.some((n) => Array.isArray(n.inputs) && n.inputs.length > 0);
  /** @type {Map<string, number>} */
  const layer = new Map();
  const layerOf = (/** @type {string} */ id, depth = 0) => {
    if (layer.has(id)) return /** @type {number} */ (layer.get(id));
    const n = nodes.find((x) => x.id === id);
    const ins = (n?.inputs ?? []).filter((/** @type {any} */ i) => ids.includes(i.id) && depth < nodes.length);
    const l = ins.length ? 1 + Math.max(...ins.map((/** @type {any} */ i) => layerOf(i.id, depth + 1))) : 0;
    layer.set(id, l);
    return l;
  };
  // Without edges (a JobManager that does not report inputs), vertices stay in the order it lists them.
  nodes.forEach((n, i) => (hasEdges ? layerOf(n.id) : layer.set(n.id, i)));
  /** @type {Map<number, string[]>} */
  const rows = new Map();
  for (const n of nodes) {
    const l = /** @type {number} */ (layer.get(n.id));
    rows.set(l, [...(rows.get(l) ?? []), n.id]);
  }
  /** @type {Map<string, {x: number, y: number}>} */
  const pos = new Map();
  for (const [l, list] of rows) list.forEach((id, i) => pos.set(id, { x: 10 + l * (W + GX), y: 10 + i * (H + GY) }));
  const width = 20 + Math.max(1, rows.size) * (W + GX) - GX;
  const height = 20 + Math.max(1, ...[...rows.values()].map((r) => r.length)) * (H + GY) - GY;

  const edges = [];
  for (const n of nodes) {
    for (const i of n.inputs ?? []) {
      const a = pos.get(i.id), b = pos.get(n.id);
      if (!a || !b) continue;
      const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2, mx = (x1 + x2) / 2;
      edges.push(svg('g', { class: 'edge' },
        svg('path', { d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2 - 6},${y2}`, 'marker-end': 'url(#arrow)' }),
        svg('text', { x: mx, y: (y1 + y2) / 2 - 6, 'text-anchor': 'middle' }, String(i.ship_strategy ?? i.exchange ?? ''))));
    }
  }
  const boxes = nodes.map((n) => {
    const p = /** @type {{x: number, y: number}} */ (pos.get(n.id));
    const v = live.get(n.id) ?? {};
    const name = String(v.name ?? n.description ?? n.id).replace(/<[^>]*>/g, '');
    const bp = v.backpressure ?? NONE;
    return svg('g', { class: `vertex bp-${bp === NONE ? 'unknown' : bp}`, transform: `translate(${p.x},${p.y})`, 'data-vertex': n.id },
      svg('title', {}, name),
      svg('rect', { width: W, height: H, rx: 6 }),
      svg('text', { x: 10, y: 20, class: 'vname' }, name.length > 30 ? `${name.slice(0, 29)}…` : name),
      svg('text', { x: 10, y: 38 }, `Parallelism: ${num(v.parallelism ?? n.parallelism)}`),
      svg('text', { x: 10, y: 54 }, `In ${num(v.inRate)}/s · Out ${num(v.outRate)}/s`),
      svg('text', { x: 10, y: 70 }, `Backpressure: ${bp === NONE ? bp : String(bp).toUpperCase()}`),
      svg('text', { x: 10, y: 86 }, `Watermark: ${v.watermark ?? NONE}`));
  });
  return svg('svg', { class: 'graph', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `Job graph with ${nodes.length} vertices` },
    svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 8, refY: 5, markerWidth: 8, markerHeight: 8, orient: 'auto-start-reverse' },
      svg('path', { d: 'M 0 0 L 10 5 L 0 10 z' }))),
    ...edges, ...boxes);
}
