/**
 * A small SVG picture of a fit job's result, drawn in the sidebar (the
 * server has no plot endpoint; the notebook draws the full plots):
 *   - fit.limit: the Brazil band, CLs against the POI with the level line;
 *   - fit.scan: CLs of every patch against its first label (one label), or
 *     the patches in the plane of two labels, excluded ones filled;
 *   - fit.hypotest: observed CLs on the expected ±1σ/±2σ band (log scale);
 *   - fit.mle: the pulls of the constrained parameters (up to 20).
 */
import { formatNumber as num } from '../format.js';

const NS = 'http://www.w3.org/2000/svg';
const W = 260; // the viewBox; the picture scales to the sidebar's width
const H = 150;
const M = { left: 34, right: 8, top: 8, bottom: 26 };

function el(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== null && v !== undefined) {
      node.setAttribute(k, String(v));
    }
  }
  for (const child of children) {
    if (child) {
      node.append(child);
    }
  }
  return node;
}

function text(x, y, content, attrs = {}) {
  return el('text', { x, y, class: 'jp-vrelab-PlotText', ...attrs }, String(content));
}

const finite = (v) => typeof v === 'number' && Number.isFinite(v);

function extent(values, pad = 0) {
  const kept = values.filter(finite);
  if (!kept.length) {
    return [0, 1];
  }
  let lo = Math.min(...kept);
  let hi = Math.max(...kept);
  if (lo === hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  const d = (hi - lo) * pad;
  return [lo - d, hi + d];
}

/** A linear axis mapping [lo, hi] onto [a, b]. */
function scale([lo, hi], [a, b]) {
  return (v) => a + ((v - lo) / (hi - lo)) * (b - a);
}

/** A log10 axis for CLs values (clipped to [1e-4, 1]). */
function logScale([a, b], floor = 1e-4) {
  const lo = Math.log10(floor);
  return (v) => a + ((Math.log10(Math.max(floor, Math.min(1, v))) - lo) / (0 - lo)) * (b - a);
}

function frame(svg, { xLabel, yLabel, xTicks, yTicks }) {
  const x0 = M.left;
  const x1 = W - M.right;
  const y0 = H - M.bottom;
  const y1 = M.top;
  svg.append(el('rect', { x: x0, y: y1, width: x1 - x0, height: y0 - y1, class: 'jp-vrelab-PlotFrame' }));
  for (const [pos, label] of xTicks) {
    svg.append(el('line', { x1: pos, x2: pos, y1: y0, y2: y0 + 3, class: 'jp-vrelab-PlotAxis' }));
    svg.append(text(pos, y0 + 12, label, { 'text-anchor': 'middle' }));
  }
  for (const [pos, label] of yTicks) {
    svg.append(el('line', { x1: x0 - 3, x2: x0, y1: pos, y2: pos, class: 'jp-vrelab-PlotAxis' }));
    svg.append(text(x0 - 5, pos + 3, label, { 'text-anchor': 'end' }));
  }
  if (xLabel) {
    svg.append(text((x0 + x1) / 2, H - 3, xLabel, { 'text-anchor': 'middle' }));
  }
  if (yLabel) {
    svg.append(
      text(9, (y0 + y1) / 2, yLabel, { 'text-anchor': 'middle', transform: `rotate(-90 9 ${(y0 + y1) / 2})` })
    );
  }
}

function ticks(range, toPos, n = 4) {
  const [lo, hi] = range;
  const out = [];
  for (let i = 0; i <= n; i += 1) {
    const v = lo + ((hi - lo) * i) / n;
    out.push([toPos(v), num(v, 2)]);
  }
  return out;
}

function svgRoot(kind, label) {
  return el('svg', {
    class: 'jp-vrelab-Plot',
    viewBox: `0 0 ${W} ${H}`,
    role: 'img',
    'aria-label': label,
    'data-plot': kind,
    preserveAspectRatio: 'xMidYMid meet'
  });
}

function path(points) {
  const kept = points.filter(([x, y]) => finite(x) && finite(y));
  return kept.map(([x, y], i) => `${i ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`).join('');
}

function bandPath(xs, lows, highs) {
  const top = xs.map((x, i) => [x, highs[i]]);
  const bottom = xs.map((x, i) => [x, lows[i]]).reverse();
  const p = path([...top, ...bottom]);
  return p ? `${p}Z` : '';
}

const CLS_TICKS = [1, 0.1, 0.01, 0.001, 0.0001];

function brazil(result) {
  const xsRaw = result.poi_values || [];
  const exp = result.CLs_exp || [];
  if (xsRaw.length < 2 || exp.length !== 5) {
    return null;
  }
  const level = finite(result.level) ? result.level : 0.05;
  const svg = svgRoot('brazil', `CLs against ${result.poi || 'the POI'}: the Brazil band`);
  const xr = extent(xsRaw);
  const X = scale(xr, [M.left, W - M.right]);
  const Y = logScale([H - M.bottom, M.top]);
  const xs = xsRaw.map(X);
  frame(svg, {
    xLabel: result.poi || 'POI',
    yLabel: 'CLs',
    xTicks: ticks(xr, X),
    yTicks: CLS_TICKS.map((v) => [Y(v), v >= 0.01 ? String(v) : v.toExponential(0)])
  });
  svg.append(el('path', { d: bandPath(xs, exp[0].map(Y), exp[4].map(Y)), class: 'jp-vrelab-Band2' }));
  svg.append(el('path', { d: bandPath(xs, exp[1].map(Y), exp[3].map(Y)), class: 'jp-vrelab-Band1' }));
  svg.append(el('path', { d: path(xs.map((x, i) => [x, Y(exp[2][i])])), class: 'jp-vrelab-Expected' }));
  svg.append(el('path', { d: path(xs.map((x, i) => [x, Y((result.CLs_obs || [])[i])])), class: 'jp-vrelab-Observed' }));
  svg.append(el('line', { x1: M.left, x2: W - M.right, y1: Y(level), y2: Y(level), class: 'jp-vrelab-Level' }));
  if (finite(result.obs_limit) && result.obs_limit >= xr[0] && result.obs_limit <= xr[1]) {
    const x = X(result.obs_limit);
    svg.append(el('line', { x1: x, x2: x, y1: Y(level), y2: H - M.bottom, class: 'jp-vrelab-Marker' }));
  }
  return svg;
}

function scan(result) {
  const labels = result.labels || [];
  const points = (result.points || []).filter((p) => Array.isArray(p.values) && p.values.length);
  if (!points.length) {
    return null;
  }
  const level = finite(result.level) ? result.level : 0.05;
  if (labels.length < 2) {
    const sorted = [...points].sort((a, b) => a.values[0] - b.values[0]);
    const xr = extent(sorted.map((p) => p.values[0]));
    const X = scale(xr, [M.left, W - M.right]);
    const Y = logScale([H - M.bottom, M.top]);
    const svg = svgRoot('scan', `CLs of each patch against ${labels[0] || 'its value'}`);
    frame(svg, {
      xLabel: labels[0] || 'patch value',
      yLabel: 'CLs',
      xTicks: ticks(xr, X),
      yTicks: CLS_TICKS.map((v) => [Y(v), v >= 0.01 ? String(v) : v.toExponential(0)])
    });
    const xs = sorted.map((p) => X(p.values[0]));
    const exp = (i) => sorted.map((p) => (Array.isArray(p.CLs_exp) ? Y(p.CLs_exp[i]) : NaN));
    svg.append(el('path', { d: bandPath(xs, exp(0), exp(4)), class: 'jp-vrelab-Band2' }));
    svg.append(el('path', { d: bandPath(xs, exp(1), exp(3)), class: 'jp-vrelab-Band1' }));
    svg.append(el('path', { d: path(xs.map((x, i) => [x, exp(2)[i]])), class: 'jp-vrelab-Expected' }));
    svg.append(el('path', { d: path(xs.map((x, i) => [x, Y(sorted[i].CLs_obs)])), class: 'jp-vrelab-Observed' }));
    svg.append(el('line', { x1: M.left, x2: W - M.right, y1: Y(level), y2: Y(level), class: 'jp-vrelab-Level' }));
    return svg;
  }
  const xr = extent(
    points.map((p) => p.values[0]),
    0.05
  );
  const yr = extent(
    points.map((p) => p.values[1]),
    0.05
  );
  const X = scale(xr, [M.left, W - M.right]);
  const Y = scale(yr, [H - M.bottom, M.top]);
  const svg = svgRoot('scan', `The patches in the plane of ${labels[0]} and ${labels[1]}; filled: excluded`);
  frame(svg, { xLabel: labels[0], yLabel: labels[1], xTicks: ticks(xr, X), yTicks: ticks(yr, Y, 3) });
  const contour = (result.contours || [])[0];
  if (contour && Array.isArray(contour.observed)) {
    for (const line of contour.observed) {
      svg.append(el('path', { d: path(line.map(([x, y]) => [X(x), Y(y)])), class: 'jp-vrelab-Observed' }));
    }
  }
  if (contour && Array.isArray(contour.expected)) {
    for (const line of contour.expected) {
      svg.append(el('path', { d: path(line.map(([x, y]) => [X(x), Y(y)])), class: 'jp-vrelab-Expected' }));
    }
  }
  for (const p of points) {
    const excluded = finite(p.CLs_obs) && p.CLs_obs < level;
    svg.append(
      el('circle', {
        cx: X(p.values[0]).toFixed(1),
        cy: Y(p.values[1]).toFixed(1),
        r: 2.2,
        class: p.error ? 'jp-vrelab-PointFailed' : excluded ? 'jp-vrelab-PointExcluded' : 'jp-vrelab-Point'
      })
    );
  }
  return svg;
}

function hypotest(result) {
  const exp = result.CLs_exp || [];
  if (exp.length !== 5 || !finite(result.CLs_obs)) {
    return null;
  }
  const svg = svgRoot('cls', 'Observed CLs on the expected band');
  const X = logScale([M.left, W - M.right]);
  const yTop = M.top + 30;
  const yBottom = H - M.bottom - 30;
  frame(svg, {
    xLabel: `CLs at ${result.poi || 'POI'} = ${num(result.poi_value)}`,
    xTicks: CLS_TICKS.map((v) => [X(v), v >= 0.01 ? String(v) : v.toExponential(0)]),
    yTicks: []
  });
  const rect = (lo, hi, cls) =>
    el('rect', { x: X(lo), y: yTop, width: Math.max(1, X(hi) - X(lo)), height: yBottom - yTop, class: cls });
  svg.append(rect(exp[0], exp[4], 'jp-vrelab-Band2'));
  svg.append(rect(exp[1], exp[3], 'jp-vrelab-Band1'));
  svg.append(el('line', { x1: X(exp[2]), x2: X(exp[2]), y1: yTop, y2: yBottom, class: 'jp-vrelab-Expected' }));
  svg.append(el('line', { x1: X(0.05), x2: X(0.05), y1: M.top, y2: H - M.bottom, class: 'jp-vrelab-Level' }));
  const x = X(result.CLs_obs);
  svg.append(el('circle', { cx: x, cy: (yTop + yBottom) / 2, r: 3.5, class: 'jp-vrelab-ObservedPoint' }));
  return svg;
}

function pulls(result) {
  const list = (result.pulls || []).filter((p) => finite(p.pull)).slice(0, 20);
  if (!list.length) {
    return null;
  }
  const svg = svgRoot('pulls', 'Pulls of the constrained parameters');
  const X = scale([-3, 3], [M.left, W - M.right]);
  const step = (H - M.top - M.bottom) / list.length;
  frame(svg, {
    xLabel: '(θ̂ − θ₀) / Δθ',
    xTicks: [-2, -1, 0, 1, 2].map((v) => [X(v), String(v)]),
    yTicks: []
  });
  svg.append(
    el('rect', { x: X(-2), width: X(2) - X(-2), y: M.top, height: H - M.top - M.bottom, class: 'jp-vrelab-Band2' })
  );
  svg.append(
    el('rect', { x: X(-1), width: X(1) - X(-1), y: M.top, height: H - M.top - M.bottom, class: 'jp-vrelab-Band1' })
  );
  list.forEach((p, i) => {
    const y = M.top + step * (i + 0.5);
    const clip = (v) => Math.max(-3, Math.min(3, v));
    const err = finite(p.error) ? p.error : 0;
    svg.append(
      el('line', { x1: X(clip(p.pull - err)), x2: X(clip(p.pull + err)), y1: y, y2: y, class: 'jp-vrelab-Observed' })
    );
    svg.append(el('circle', { cx: X(clip(p.pull)), cy: y, r: 1.8, class: 'jp-vrelab-ObservedPoint' }));
  });
  return svg;
}

/** The picture of a result (an SVG element), or null when the result has nothing to draw. */
export function plotResult(kind, result) {
  const r = result || {};
  switch (kind) {
    case 'fit.limit':
      return brazil(r);
    case 'fit.scan':
      return scan(r);
    case 'fit.hypotest':
      return hypotest(r);
    case 'fit.mle':
      return pulls(r);
    default:
      return null;
  }
}
