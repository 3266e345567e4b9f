// Small canvas line plots: one chart per joint, several series each.

// plot draws series [{t:[], y:[], color, dash, width}] on canvas with a title; x in s.
export function plot(canvas, title, series, unit = 'rad') {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 300, h = canvas.clientHeight || 150;
  canvas.width = w * dpr; canvas.height = h * dpr;
  const g = canvas.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const s of series) {
    for (let k = 0; k < s.t.length; k++) {
      const x = s.t[k], y = s.y[k];
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
    }
  }
  g.fillStyle = '#111827'; g.font = '12px system-ui, sans-serif';
  g.fillText(title, 50, 13);
  if (!(x1 > x0)) { x0 = 0; x1 = Math.max(x1, 1); }
  if (!(y1 > y0)) { const c = Number.isFinite(y0) ? y0 : 0; y0 = c - 0.05; y1 = c + 0.05; }
  const pad = (y1 - y0) * 0.08; y0 -= pad; y1 += pad;
  const L = 46, R = 6, T = 20, B = 18;
  const X = (x) => L + (x - x0) / (x1 - x0) * (w - L - R);
  const Y = (y) => T + (1 - (y - y0) / (y1 - y0)) * (h - T - B);
  g.strokeStyle = '#e5e7eb'; g.lineWidth = 1; g.fillStyle = '#6b7280'; g.font = '10px system-ui, sans-serif';
  for (let i = 0; i <= 3; i++) {
    const y = y0 + (y1 - y0) * i / 3, py = Y(y);
    g.beginPath(); g.moveTo(L, py); g.lineTo(w - R, py); g.stroke();
    g.fillText(fmt(y), 2, py + 3);
  }
  g.fillText(fmt(Math.abs(x0) < 1e-3 ? 0 : x0) + ' s', L, h - 4);
  const xl = fmt(x1) + ' s'; g.fillText(xl, w - R - g.measureText(xl).width, h - 4);
  g.fillText(unit, w - R - g.measureText(unit).width, 14);
  for (const s of series) {
    g.strokeStyle = s.color || '#2563eb'; g.lineWidth = s.width || 1.5;
    g.setLineDash(s.dash ? [5, 4] : []);
    g.beginPath();
    // A gap in time (more than 5 typical steps: a flight recording spans several runs
    // with idle time between them) is left as a gap, not drawn as a straight line.
    const gap = 5 * medianStep(s.t);
    let pen = false;
    for (let k = 0; k < s.t.length; k++) {
      const x = s.t[k], y = s.y[k];
      if (!Number.isFinite(x) || !Number.isFinite(y)) { pen = false; continue; }
      if (pen && gap > 0 && x - s.t[k - 1] > gap) pen = false;
      if (pen) g.lineTo(X(x), Y(y)); else g.moveTo(X(x), Y(y));
      pen = true;
    }
    g.stroke();
  }
  g.setLineDash([]);
}

// medianStep is the median of t's positive steps (0 when there are none).
function medianStep(t) {
  const d = [];
  for (let k = 1; k < t.length; k++) if (t[k] > t[k - 1]) d.push(t[k] - t[k - 1]);
  if (!d.length) return 0;
  d.sort((a, b) => a - b);
  return d[d.length >> 1];
}

function fmt(v) {
  const a = Math.abs(v);
  if (a !== 0 && (a < 0.01 || a >= 1000)) return v.toExponential(1);
  return v.toFixed(a < 1 ? 3 : 2);
}

// column returns joint j's values of a trajectory's rows.
export function column(rows, j) { return rows.map((r) => r[j]); }

// jointPlots fills container with one canvas per joint name and calls draw(canvas, name, i).
export function jointPlots(container, names, draw) {
  container.replaceChildren();
  names.forEach((name, i) => {
    const c = document.createElement('canvas');
    c.dataset.joint = name;
    container.appendChild(c);
    draw(c, name, i);
  });
}

// interp returns y(t) of a sampled series (linear; clamped at the ends).
export function interp(ts, ys, t) {
  if (!ts.length) return NaN;
  if (t <= ts[0]) return ys[0];
  if (t >= ts[ts.length - 1]) return ys[ys.length - 1];
  let lo = 0, hi = ts.length - 1;
  while (hi - lo > 1) { const m = (lo + hi) >> 1; if (ts[m] <= t) lo = m; else hi = m; }
  const f = (t - ts[lo]) / (ts[hi] - ts[lo] || 1);
  return ys[lo] + f * (ys[hi] - ys[lo]);
}
