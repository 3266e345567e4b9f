// The Praxis dashboard: plain ES modules, no build step. docs/dashboard.md.
import { plot, column, jointPlots, interp } from './plot.js';
import { Arm3D } from './arm3d.js';

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...kids) => { const e = Object.assign(document.createElement(tag), props); e.append(...kids); return e; };
const f3 = (v) => (Number.isFinite(v) ? v.toFixed(3) : '–');

// api calls the daemon's JSON API; errors carry the server's reason and field.
async function api(method, path, body) {
  const opt = { method, headers: { 'X-Praxis': '1' }, credentials: 'same-origin' };
  if (body !== undefined) { opt.headers['Content-Type'] = 'application/json'; opt.body = JSON.stringify(body); }
  const r = await fetch(path, opt);
  let j = null;
  try { j = await r.json(); } catch { /* empty */ }
  if (!r.ok) {
    const e = new Error((j && j.error) || `${r.status} ${r.statusText}`);
    e.status = r.status; e.field = j && j.field;
    if (r.status === 401) showLogin();
    throw e;
  }
  return j;
}

function say(id, text, good) {
  const m = $(id);
  m.textContent = text;
  m.className = 'msg ' + (good === undefined ? '' : good === 'warn' ? 'warn' : good ? 'good' : 'bad');
}
// warned is a demo's warning (demos.Check: short, little motion, still moving at the end) as
// the CLI prints it, or '' when the event has none.
const warned = (e) => (e.warning ? ` — warning: ${e.warning}` : '');
const errText = (e) => (e.field ? `${e.message}` : e.message);

const S = { me: null, arm: null, skills: [], status: null, es: null, demo: null, skill: null, runId: null, lastState: 0, states: 0 };
window.praxis = S; // for tests and curious operators
let arm3d = null;

// ---------- login ----------
function showLogin(msg) {
  if (S.es) { S.es.close(); S.es = null; }
  $('app').hidden = true; $('login').hidden = false;
  $('login-err').textContent = msg || '';
}

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  try {
    S.me = await api('POST', '/api/login', { username: $('login-user').value, password: $('login-pass').value });
    $('login-pass').value = '';
    await start();
  } catch (err) { $('login-err').textContent = err.message; }
});

$('logout').addEventListener('click', async () => {
  try { await api('POST', '/api/logout'); } catch { /* gone anyway */ }
  showLogin('Logged out.');
});

// ---------- e-stop: button and keys (Escape anywhere; Space outside text fields) ----------
let lastEStop = 0;
function estop() {
  if (!S.me || S.me.role !== 'operator') return;
  const now = performance.now();
  if (now - lastEStop < 150) return;
  lastEStop = now;
  S.estopSent = Date.now();
  fetch('/api/estop', { method: 'POST', headers: { 'X-Praxis': '1' }, credentials: 'same-origin', keepalive: true })
    .then((r) => { if (!r.ok) r.json().then((j) => logLine('e-stop refused: ' + (j && j.error), 'bad')); })
    .catch((err) => logLine('e-stop failed: ' + err.message, 'bad'));
  logLine('E-STOP sent', 'bad');
}
$('estop').addEventListener('pointerdown', (e) => { if (e.button === 0) estop(); });
$('estop').addEventListener('click', estop);
document.addEventListener('keydown', (e) => {
  if ($('app').hidden) return;
  const t = e.target;
  const typing = t && (t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || (t.tagName === 'INPUT' && !['checkbox', 'radio', 'button', 'submit'].includes(t.type)));
  if (e.key === 'Escape' || (e.code === 'Space' && !typing)) { e.preventDefault(); estop(); }
});
$('reset').addEventListener('click', async () => {
  try { const r = await api('POST', '/api/reset'); logLine('reset' + (r.recovered ? ': arm recovered' : ''), 'good'); } catch (err) { logLine('reset refused: ' + err.message, 'bad'); }
});

// ---------- tabs ----------
document.querySelectorAll('#tabs button').forEach((b) => b.addEventListener('click', () => showTab(b.dataset.tab)));
function showTab(name) {
  document.querySelectorAll('#tabs button').forEach((b) => b.classList.toggle('on', b.dataset.tab === name));
  document.querySelectorAll('.tab').forEach((s) => { s.hidden = s.id !== name; });
  if (name === 'recording') loadDemos();
  if (name === 'runs') loadRuns();
  if (name === 'flights') loadFlights();
  if (name === 'skills' && S.skill) showSkill(S.skill.name, S.skill.version);
}
// The flight recorder writes its files off the control thread, a moment after a fault,
// abort or e-stop: the list refreshes while its tab is shown.
setInterval(() => { if (!$('flights').hidden) loadFlights(); }, 2000);

// ---------- start ----------
async function start() {
  if (!S.me) S.me = await api('GET', '/api/me');
  $('login').hidden = true; $('app').hidden = false;
  $('who').textContent = `${S.me.user} (${S.me.role})`;
  const op = S.me.role === 'operator';
  document.body.classList.toggle('observer', !op);
  document.querySelectorAll('.cmd').forEach((b) => { b.disabled = !op; });
  $('observer-note').hidden = op;
  $('tab-flights').hidden = !S.me.flights;
  S.arm = await api('GET', '/api/arm');
  $('robot').textContent = `${S.arm.robot} · ${S.arm.driver}${S.arm.model ? ' · ' + S.arm.model : ''}`;
  $('rec-leader-row').hidden = !S.arm.leader;
  buildJoints();
  if (!arm3d) arm3d = new Arm3D($('arm3d'));
  $('arm-note').textContent = S.me.skeleton ? 'Forward kinematics of the arm model; drag to orbit, wheel to zoom.' : 'No arm model configured (arm.model): joints only.';
  $('arm3d').hidden = !S.me.skeleton;
  connect();
  setSkills(await api('GET', '/api/skills'));
}

function connect() {
  if (S.es) S.es.close();
  const es = new EventSource('/api/events');
  S.es = es;
  es.onopen = () => { $('conn').textContent = 'live'; $('conn').className = 'pill ok'; };
  es.onerror = () => {
    $('conn').textContent = 'reconnecting'; $('conn').className = 'pill off';
    if (es.readyState === EventSource.CLOSED) {
      api('GET', '/api/me').then(() => setTimeout(connect, 1000)).catch(() => {});
    }
  };
  es.addEventListener('state', (m) => onState(JSON.parse(m.data)));
  es.addEventListener('status', (m) => onStatus(JSON.parse(m.data)));
  es.addEventListener('event', (m) => onEvent(JSON.parse(m.data)));
  es.addEventListener('skills', (m) => setSkills(JSON.parse(m.data)));
}

// ---------- live ----------
function buildJoints() {
  const tb = $('joints').querySelector('tbody');
  tb.replaceChildren(...S.arm.joints.map((j) => el('tr', {},
    el('td', { textContent: j.name }),
    el('td', { className: 'num', id: 'pos-' + j.name, textContent: '–' }),
    el('td', {}, el('div', { className: 'bar', title: `[${f3(j.min)}, ${f3(j.max)}] rad` }, el('span', { id: 'bar-' + j.name }))),
    el('td', { className: 'num', id: 'vel-' + j.name, textContent: '–' }))));
}

function onState(st) {
  S.state = st; S.states++;
  const now = performance.now();
  S.stamps = (S.stamps || []).filter((t) => now - t < 2000);
  S.stamps.push(now);
  S.rate = S.stamps.length > 1 ? (S.stamps.length - 1) * 1000 / (now - S.stamps[0]) : 0;
  st.names.forEach((n, i) => {
    const p = $('pos-' + n), v = $('vel-' + n), b = $('bar-' + n);
    if (p) p.textContent = f3(st.pos[i]);
    if (v) v.textContent = f3(st.vel[i]);
    const j = S.arm && S.arm.joints[i];
    if (b && j && j.max > j.min) b.style.left = `calc(${Math.max(0, Math.min(1, (st.pos[i] - j.min) / (j.max - j.min))) * 100}% - 2px)`;
  });
  $('rate').textContent = S.rate ? `${S.rate.toFixed(0)} Hz` : '';
  if (st.skeleton && arm3d && !$('live').hidden) arm3d.set(st.skeleton);
}

function onStatus(st) {
  S.status = st;
  const a = $('activity');
  let label = st.activity;
  if (st.activity === 'running') label = `running ${st.skill || ''}`;
  if (st.activity === 'recording') label = `recording ${st.demo || ''}`;
  a.textContent = label;
  a.className = 'pill ' + ({ running: 'run', recording: 'rec', estop: 'stop', offline: 'off' }[st.activity] || 'ok');
  $('estop-state').textContent = st.estop ? 'E-STOP LATCHED' : 'e-stop clear';
  $('estop-state').className = 'pill ' + (st.estop ? 'stop' : 'ok');
  $('estop').classList.toggle('latched', st.estop);
  $('banner').hidden = !st.estop;
  $('banner').textContent = st.estop ? 'E-stop latched: nothing moves until a reset (Live tab).' : '';
  $('reset').hidden = !st.estop;
}

function logLine(text, cls) {
  const li = el('li', { className: cls || '' }, el('span', { className: 't', textContent: new Date().toLocaleTimeString() }), text);
  const log = $('log');
  log.prepend(li);
  while (log.children.length > 200) log.lastChild.remove();
}

function onEvent(e) {
  S.lastEvent = e;
  if (e.type !== 'progress') {
    const what = [e.cmd, e.id, e.type, e.skill && `skill=${e.skill}`, e.version && `v${e.version}`, e.demo && `demo=${e.demo}`,
      e.final_error !== undefined && `final_error=${f3(e.final_error)} rad`, e.samples && `${e.samples} samples`, e.reason, e.warning && `warning: ${e.warning}`].filter(Boolean).join(' ');
    logLine(what, e.warning ? 'warn' : e.type === 'succeeded' ? 'good' : (e.type === 'failed' || e.type === 'aborted' || e.type === 'rejected') ? 'bad' : '');
  }
  if (e.cmd === 'run' && e.id === S.runId) {
    if (e.type === 'progress') $('run-progress').style.width = `${(e.progress * 100).toFixed(1)}%`;
    if (e.type === 'started') say('run-msg', `run ${e.id} started`);
    if (e.type.match(/succeeded|failed|aborted/)) {
      $('run-progress').style.width = e.type === 'succeeded' ? '100%' : $('run-progress').style.width;
      say('run-msg', `run ${e.id} ${e.type}${e.final_error !== undefined ? `, final error ${f3(e.final_error)} rad` : ''}${e.reason ? ': ' + e.reason : ''}`, e.type === 'succeeded');
      loadRuns(e.id);
    }
  }
  if (e.cmd === 'record') {
    if (e.type === 'progress') say('rec-msg', `recording ${e.demo}: ${e.samples} samples, ${(e.seconds || 0).toFixed(1)} s`);
    else if (e.type !== 'accepted') {
      say('rec-msg', `recording ${e.demo} ${e.type}: ${e.samples || 0} samples, ${(e.seconds || 0).toFixed(2)} s${e.reason ? ' — ' + e.reason : ''}${warned(e)}`, e.warning ? 'warn' : e.type === 'succeeded');
      loadDemos(e.demo);
    }
  }
  if (e.cmd === 'learn' && e.type !== 'started') {
    say('learn-msg', `learn ${e.skill} ${e.type}${e.version ? ': version ' + e.version : ''}${e.reason ? ': ' + e.reason : ''}${warned(e)}`, e.warning ? 'warn' : e.type === 'succeeded');
  }
}

// ---------- skills ----------
function setSkills(list) {
  S.skills = list || [];
  const ul = $('skill-list');
  ul.replaceChildren(...S.skills.map((s) => {
    const li = el('li', { textContent: `${s.name}  v${s.version}  ${s.duration ? s.duration.toFixed(1) + ' s' : ''}` });
    li.dataset.skill = s.name;
    li.classList.toggle('on', S.skill && S.skill.name === s.name);
    li.addEventListener('click', () => showSkill(s.name, 0));
    return li;
  }));
  const sel = $('run-skill'), cur = sel.value;
  sel.replaceChildren(...S.skills.map((s) => el('option', { value: s.name, textContent: s.name })));
  if (cur) sel.value = cur;
  if (!sel.value && S.skills.length) sel.value = S.skills[0].name;
  runGoalFields();
}

function goalFields(container, joints, defaults) {
  container.replaceChildren(...joints.map((n, i) => el('label', {}, n,
    el('input', { type: 'number', step: '0.01', className: 'num', name: n, placeholder: defaults ? f3(defaults[i]) : 'skill goal' }))));
}

function readGoal(container) {
  const goal = {};
  for (const inp of container.querySelectorAll('input')) {
    if (inp.value.trim() !== '') goal[inp.name] = Number(inp.value);
  }
  return Object.keys(goal).length ? goal : undefined;
}

async function showSkill(name, version) {
  document.querySelectorAll('#skill-list li').forEach((li) => li.classList.toggle('on', li.dataset.skill === name));
  let d;
  try { d = await api('GET', `/api/skills/${encodeURIComponent(name)}${version ? '?version=' + version : ''}`); } catch (err) { $('skill-title').textContent = err.message; return; }
  S.skill = d;
  $('skill-title').textContent = `${d.name} v${d.version}`;
  $('skill-body').hidden = false;
  $('skill-version').replaceChildren(...d.versions.map((v) => el('option', { value: v, textContent: 'v' + v, selected: v === d.version })));
  $('skill-prov').textContent = `created ${new Date(d.created).toLocaleString()} · ${d.basis} basis · ${d.duration.toFixed(2)} s · demos: ${d.demos.join(', ') || '—'}${d.praxis_version ? ' · praxis ' + d.praxis_version : ''}`;
  const fit = $('skill-fit');
  fit.replaceChildren();
  if (d.fit_error && d.fit_error.length) {
    fit.append(el('tr', {}, ...['joint', 'RMSE', 'max', 'end (rad)'].map((h) => el('th', { textContent: h }))));
    d.fit_error.forEach((f) => fit.append(el('tr', {}, el('td', { textContent: f.joint }), el('td', { textContent: f.rmse.toExponential(2) }), el('td', { textContent: f.max.toExponential(2) }), el('td', { textContent: f.end.toExponential(2) }))));
  }
  jointPlots($('skill-plots'), d.joints, (c, n, i) => {
    const series = (d.demo_data || []).map((dm) => { const k = dm.joints.indexOf(n); return { t: dm.t, y: k < 0 ? [] : column(dm.pos, k), color: '#9ca3af' }; });
    series.push({ t: d.rollout.t, y: column(d.rollout.pos, i), color: '#2563eb', width: 2 });
    plot(c, n, series);
  });
  const goal = d.rollout.pos.length ? d.rollout.pos[d.rollout.pos.length - 1] : null;
  goalFields($('skill-goal'), d.joints, goal);
  $('preview-plots').replaceChildren();
  say('skill-msg', '');
}
$('skill-version').addEventListener('change', () => showSkill(S.skill.name, Number($('skill-version').value)));

function runBody(skill, version, goalBox, durInput) {
  const b = { skill };
  if (version) b.version = version;
  const goal = readGoal(goalBox);
  if (goal) b.goal = goal;
  const dur = Number(durInput.value);
  if (durInput.value !== '' && dur > 0) b.duration = dur;
  return b;
}

$('skill-preview').addEventListener('click', async () => {
  const d = S.skill;
  try {
    const tr = await api('POST', '/api/preview', runBody(d.name, d.version, $('skill-goal'), $('skill-duration')));
    jointPlots($('preview-plots'), tr.joints, (c, n, i) => plot(c, `${n} (plan from here)`, [{ t: tr.t, y: column(tr.pos, i), color: '#2563eb', width: 2 }]));
    say('skill-msg', `preview: ${tr.t.length ? tr.t[tr.t.length - 1].toFixed(2) : 0} s from the arm's present position`, true);
  } catch (err) { say('skill-msg', 'preview refused: ' + errText(err), false); }
});

$('skill-run').addEventListener('click', async () => {
  const d = S.skill;
  await startRun(runBody(d.name, d.version, $('skill-goal'), $('skill-duration')), 'skill-msg');
});

async function startRun(body, msgId) {
  try {
    const r = await api('POST', '/api/run', body);
    S.runId = r.id;
    $('run-progress').style.width = '0%';
    say(msgId, `run ${r.id} accepted`, true);
    if (msgId !== 'run-msg') say('run-msg', `run ${r.id} accepted`, true);
    return r.id;
  } catch (err) { say(msgId, 'run refused: ' + errText(err), false); return null; }
}

// ---------- runs ----------
function runGoalFields() {
  const s = S.skills.find((x) => x.name === $('run-skill').value);
  goalFields($('run-goal'), s ? s.joints || [] : [], null);
}
$('run-skill').addEventListener('change', runGoalFields);
$('run-go').addEventListener('click', () => startRun(runBody($('run-skill').value, 0, $('run-goal'), $('run-duration')), 'run-msg'));
$('run-cancel').addEventListener('click', async () => {
  const id = (S.status && S.status.run_id) || S.runId;
  if (!id) { say('run-msg', 'nothing to cancel', false); return; }
  try { await api('POST', '/api/cancel', { id }); say('run-msg', `cancel of ${id} sent`); } catch (err) { say('run-msg', 'cancel refused: ' + errText(err), false); }
});

async function loadRuns(select) {
  let list;
  try { list = await api('GET', '/api/runs'); } catch { return; }
  $('run-list').replaceChildren(...list.map((r) => {
    const li = el('li', { textContent: `${new Date(r.start).toLocaleTimeString()}  ${r.skill} v${r.version}  ${r.outcome}${r.outcome === 'succeeded' ? ' (' + f3(r.final_error) + ' rad)' : ''}` });
    li.dataset.run = r.id;
    li.addEventListener('click', () => showRun(r.id));
    return li;
  }));
  if (select) showRun(select);
}

async function showRun(id) {
  document.querySelectorAll('#run-list li').forEach((li) => li.classList.toggle('on', li.dataset.run === id));
  let r;
  try { r = await api('GET', `/api/runs/${encodeURIComponent(id)}`); } catch (err) { $('run-title').textContent = err.message; return; }
  S.run = r;
  $('run-title').textContent = `${r.id}: ${r.skill} v${r.version}, ${r.outcome}`;
  $('run-summary').textContent = `${new Date(r.start).toLocaleString()}${r.outcome === 'succeeded' ? ` · final error ${f3(r.final_error)} rad` : ''}${r.reason ? ' · ' + r.reason : ''} · ${r.measured.t.length} measured samples`;
  const P = r.planned, M = r.measured;
  jointPlots($('run-plots'), M.joints, (c, n, i) => plot(c, n, [
    { t: P.t, y: column(P.pos, i), color: '#2563eb', dash: true, width: 2 },
    { t: M.t, y: column(M.pos, i), color: '#ea580c', width: 1.5 }]));
  jointPlots($('run-err-plots'), M.joints, (c, n, i) => {
    const pc = column(P.pos, i);
    const err = M.t.map((t, k) => M.pos[k][i] - interp(P.t, pc, t));
    plot(c, `${n} error`, [{ t: M.t, y: err, color: '#dc2626' }]);
  });
}

// ---------- recording and demos ----------
$('rec-start').addEventListener('click', async () => {
  const demo = $('rec-name').value.trim();
  const body = { action: 'start', demo };
  if ($('rec-leader').checked) body.leader = true;
  try { await api('POST', '/api/record', body); say('rec-msg', `recording ${demo}…`, true); } catch (err) { say('rec-msg', 'record refused: ' + errText(err), false); }
});
$('rec-stop').addEventListener('click', async () => {
  try { await api('POST', '/api/record', { action: 'stop' }); } catch (err) { say('rec-msg', 'stop refused: ' + errText(err), false); }
});

async function loadDemos(select) {
  let list;
  try { list = await api('GET', '/api/demos'); } catch { return; }
  const tb = $('demo-list').querySelector('tbody');
  const checked = new Set([...tb.querySelectorAll('input:checked')].map((i) => i.value));
  tb.replaceChildren(...list.map((d) => {
    const cb = el('input', { type: 'checkbox', value: d.name, checked: checked.has(d.name) });
    cb.addEventListener('click', (e) => e.stopPropagation());
    const tr = el('tr', {}, el('td', {}, cb), el('td', { textContent: d.name }), el('td', { textContent: d.samples }),
      el('td', { textContent: (d.seconds || 0).toFixed(2) }), el('td', { textContent: d.source + (d.teaching ? ' / ' + d.teaching : '') }));
    tr.dataset.demo = d.name;
    tr.addEventListener('click', () => showDemo(d.name));
    return tr;
  }));
  if (select) await showDemo(select);
}

async function showDemo(name) {
  document.querySelectorAll('#demo-list tbody tr').forEach((tr) => tr.classList.toggle('on', tr.dataset.demo === name));
  let tr;
  try { tr = await api('GET', `/api/demos/${encodeURIComponent(name)}`); } catch (err) { $('demo-title').textContent = err.message; return; }
  S.demo = { name, tr };
  $('demo-title').textContent = `${name}: ${tr.t.length} samples shown, ${(tr.t[tr.t.length - 1] || 0).toFixed(2)} s`;
  $('demo-body').hidden = false;
  jointPlots($('demo-plots'), tr.joints, (c, n, i) => plot(c, n, [{ t: tr.t, y: column(tr.pos, i), color: '#7c3aed' }]));
  $('trim-from').value = 0; $('trim-to').value = (tr.t[tr.t.length - 1] || 0).toFixed(2);
  $('trim-name').value = ''; $('rename-name').value = '';
  if (!$('learn-skill').value) $('learn-skill').value = name;
  say('demo-msg', '');
}

$('trim-go').addEventListener('click', async () => {
  const d = S.demo;
  try {
    const body = { from: Number($('trim-from').value), to: Number($('trim-to').value) };
    if ($('trim-name').value.trim()) body.new_name = $('trim-name').value.trim();
    const info = await api('POST', `/api/demos/${encodeURIComponent(d.name)}/trim`, body);
    await loadDemos(info.name);
    say('demo-msg', `kept ${info.samples} samples (${info.seconds.toFixed(2)} s) as ${info.name}`, true);
  } catch (err) { say('demo-msg', 'trim refused: ' + errText(err), false); }
});
$('rename-go').addEventListener('click', async () => {
  const d = S.demo, nn = $('rename-name').value.trim();
  try { await api('POST', `/api/demos/${encodeURIComponent(d.name)}/rename`, { new_name: nn }); await loadDemos(nn); say('demo-msg', `renamed to ${nn}`, true); } catch (err) { say('demo-msg', 'rename refused: ' + errText(err), false); }
});
$('delete-go').addEventListener('click', async () => {
  const d = S.demo;
  if (!confirm(`Delete demo ${d.name}? This cannot be undone.`)) return;
  try { await api('DELETE', `/api/demos/${encodeURIComponent(d.name)}`); say('demo-msg', `deleted ${d.name}`, true); $('demo-body').hidden = true; loadDemos(); } catch (err) { say('demo-msg', 'delete refused: ' + errText(err), false); }
});
$('learn-go').addEventListener('click', async () => {
  const demos = [...document.querySelectorAll('#demo-list tbody input:checked')].map((i) => i.value);
  if (!demos.length && S.demo) demos.push(S.demo.name);
  const body = { skill: $('learn-skill').value.trim(), demos };
  if ($('learn-basis').value) body.basis = Number($('learn-basis').value);
  try { const r = await api('POST', '/api/learn', body); say('learn-msg', `learning ${body.skill} from ${demos.join(', ')} (${r.id})…`); } catch (err) { say('learn-msg', 'learn refused: ' + errText(err), false); }
});

// ---------- flights ----------
async function loadFlights() {
  if (!S.me.flights) return;
  let list;
  try { list = await api('GET', '/api/flights'); } catch { return; }
  $('flight-list').replaceChildren(...list.map((f) => {
    const li = el('li', { textContent: `${new Date(f.time).toLocaleString()}  ${f.reason}  (${f.seconds.toFixed(1)} s)` });
    li.dataset.name = f.name;
    if (S.flight === f.name) li.classList.add('on');
    li.addEventListener('click', () => showFlight(f.name));
    return li;
  }));
}
async function showFlight(name) {
  S.flight = name;
  let fd;
  try { fd = await api('GET', `/api/flights/${encodeURIComponent(name)}`); } catch (err) { $('flight-title').textContent = err.message; return; }
  $('flight-title').textContent = `${fd.name}: ${fd.reason}`;
  jointPlots($('flight-plots'), fd.joints, (c, n, i) => plot(c, n, [
    { t: fd.t, y: column(fd.planned, i), color: '#2563eb', dash: true },
    { t: fd.t, y: column(fd.command, i), color: '#16a34a' },
    { t: fd.t, y: column(fd.measured, i), color: '#ea580c' }]));
}
$('flight-dump').addEventListener('click', async () => {
  try { await api('POST', '/api/flights/dump', { reason: 'requested from the dashboard' }); loadFlights(); } catch (err) { alert(err.message); }
});

// ---------- boot ----------
api('GET', '/api/me').then((me) => { S.me = me; return start(); }).catch(() => showLogin());
