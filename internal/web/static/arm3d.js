// A 3-D stick figure of the arm on a canvas: z up, drag to orbit, wheel to zoom.

export class Arm3D {
  constructor(canvas) {
    this.c = canvas;
    this.yaw = -0.8; this.pitch = 0.45; this.zoom = 1;
    this.sk = null; this.scale = 0;
    let drag = null;
    canvas.addEventListener('pointerdown', (e) => { drag = { x: e.clientX, y: e.clientY }; canvas.setPointerCapture(e.pointerId); });
    canvas.addEventListener('pointermove', (e) => {
      if (!drag) return;
      this.yaw += (e.clientX - drag.x) * 0.01;
      this.pitch = Math.max(-1.4, Math.min(1.4, this.pitch + (e.clientY - drag.y) * 0.01));
      drag = { x: e.clientX, y: e.clientY };
      this.draw();
    });
    canvas.addEventListener('pointerup', () => { drag = null; });
    canvas.addEventListener('wheel', (e) => {
      e.preventDefault();
      this.zoom = Math.max(0.3, Math.min(5, this.zoom * (e.deltaY < 0 ? 1.1 : 1 / 1.1)));
      this.draw();
    }, { passive: false });
  }

  set(skeleton) {
    this.sk = skeleton;
    if (!this.scale && skeleton) { // fit the arm's reach once
      let r = 0.1;
      for (const p of skeleton.points) r = Math.max(r, Math.hypot(p[0], p[1], p[2]));
      this.scale = r;
    }
    this.draw();
  }

  // project maps a base-frame point (m) to canvas pixels and a depth.
  project(p, w, h) {
    const cy = Math.cos(this.yaw), sy = Math.sin(this.yaw), cp = Math.cos(this.pitch), sp = Math.sin(this.pitch);
    const x1 = cy * p[0] - sy * p[1], y1 = sy * p[0] + cy * p[1], z1 = p[2];
    const depth = y1 * cp - z1 * sp;   // away from the viewer
    const up = y1 * sp + z1 * cp;
    const f = Math.min(w, h) * 0.6 * this.zoom / (this.scale || 1);
    const persp = 1 / (1 + depth / (4 * (this.scale || 1)));
    return [w / 2 + x1 * f * persp, h * 0.62 - up * f * persp, depth];
  }

  draw() {
    const c = this.c, dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth || 520, h = c.clientHeight || 420;
    if (c.width !== w * dpr) { c.width = w * dpr; c.height = h * dpr; }
    const g = c.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.fillStyle = '#0f172a'; g.fillRect(0, 0, w, h);
    if (!this.sk) return;
    const s = this.scale || 0.5, n = 4;
    g.strokeStyle = '#1e293b'; g.lineWidth = 1;
    for (let i = -n; i <= n; i++) { // floor grid
      const a = i * s / n;
      line(g, this.project([a, -s, 0], w, h), this.project([a, s, 0], w, h));
      line(g, this.project([-s, a, 0], w, h), this.project([s, a, 0], w, h));
    }
    const o = this.project([0, 0, 0], w, h);
    g.lineWidth = 2;
    [['#ef4444', [s / 3, 0, 0]], ['#22c55e', [0, s / 3, 0]], ['#3b82f6', [0, 0, s / 3]]].forEach(([col, p]) => {
      g.strokeStyle = col; line(g, o, this.project(p, w, h));
    });
    const pts = this.sk.points.map((p) => this.project(p, w, h));
    const last = pts.length - 1;
    g.lineCap = 'round';
    this.sk.parent.forEach((par, k) => {
      if (par < 0) return;
      g.strokeStyle = k === last ? '#f59e0b' : '#e2e8f0';
      g.lineWidth = k === last ? 6 : 10;
      line(g, pts[par], pts[k]);
    });
    pts.forEach((p, k) => {
      g.fillStyle = k === 0 ? '#64748b' : k === last ? '#f59e0b' : '#38bdf8';
      g.beginPath(); g.arc(p[0], p[1], k === 0 ? 9 : 6, 0, 2 * Math.PI); g.fill();
    });
  }
}

function line(g, a, b) { g.beginPath(); g.moveTo(a[0], a[1]); g.lineTo(b[0], b[1]); g.stroke(); }
