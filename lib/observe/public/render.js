// Renders the job's state into the page: totals, the job graph (operators, their tasks, the worker each
// runs on and where its standby lives), recovery timelines, the throughput/latency chart, the task table,
// checkpoints and workers. Every value goes in as text (textContent), never as markup.

const STEPS = [
  ['detected', 'detected'],
  ['standby-activated', 'standby activated'],
  ['determinants-collected', 'determinants collected'],
  ['replayed', 'replay'],
  ['live', 'live'],
];

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'style') el.style.cssText = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const child of children.flat()) if (child !== null && child !== undefined && child !== false) el.append(child instanceof Node ? child : String(child));
  return el;
}

const fmt = (n, digits = 0) => (n === null || n === undefined || Number.isNaN(n) ? '–' : Number(n).toLocaleString('en-US', { maximumFractionDigits: digits }));
const bytes = (n) => (n === null || n === undefined ? '–' : n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1048576).toFixed(1)} MB`);
const ms = (n) => (n === null || n === undefined ? '–' : n < 1000 ? `${n.toFixed(1)} ms` : `${(n / 1000).toFixed(2)} s`);
const workerName = (state, w) => (state.job.workers === 0 ? 'embedded' : `worker-${w}`);

function replace(id, ...children) {
  const el = document.getElementById(id);
  el.replaceChildren(...children);
  return el;
}

function totals(state) {
  const p = state.progress;
  const stat = (k, v, id) => h('div', { class: 'stat', 'data-testid': id }, h('div', { class: 'v' }, v), h('div', { class: 'k' }, k));
  replace(
    'totals',
    stat('records in', fmt(p.recordsIn), 'records-in'),
    stat('records out', fmt(p.recordsOut), 'records-out'),
    stat('latency p50', ms(p.latencyP50Ms), 'latency-p50'),
    stat('latency p99', ms(p.latencyP99Ms), 'latency-p99'),
    stat('checkpoints', fmt(p.checkpoints), 'checkpoints-completed'),
    stat('recoveries', fmt(p.recoveries), 'recoveries-count'),
    stat('escalations', fmt(p.escalations), 'escalations-count'),
    stat('tasks finished', `${p.tasksFinished} / ${p.tasks}`, 'tasks-finished'),
  );
}

function graph(state) {
  const byVertex = state.vertices.map((v) => state.tasks.filter((t) => t.vertex === v.index));
  const columns = state.vertices.map((v, i) =>
    h(
      'div',
      { class: 'vertex', 'data-testid': `vertex-${v.index}` },
      v.inputs.length ? h('div', { class: 'edge-in' }, [...new Set(v.inputs.map((e) => e.partitioning))].join(', ')) : null,
      h('div', { class: 'ops' }, v.operators.join(' → ')),
      byVertex[i].map((t) =>
        h(
          'div',
          { class: `task ${t.status}`, 'data-testid': `task-${t.name}`, 'data-status': t.status, 'data-worker': t.worker },
          h('div', { class: 'name' }, t.name, h('span', { class: `badge ${t.status === 'failed' ? 'bad' : t.status === 'replaying' ? 'blue' : t.status === 'finished' ? '' : 'ok'}` }, t.status)),
          h('div', { class: 'meta' }, `on ${workerName(state, t.worker)}`, t.standbyWorkers.length ? ` · standby on ${t.standbyWorkers.map((w) => workerName(state, w)).join(', ')}` : ' · no standby'),
          h('div', { class: 'meta' }, `${fmt(t.inPerSec)} in/s · ${fmt(t.outPerSec)} out/s`, t.backpressureRatio > 0.01 ? ` · backpressure ${fmt(t.backpressureRatio * 100)}%` : ''),
        ),
      ),
    ),
  );
  replace('graph', h('div', { class: 'graph' }, columns));
}

function recoveries(state) {
  if (state.recoveries.length === 0) return replace('recoveries', h('p', { class: 'muted' }, 'No failure yet.'));
  const items = [...state.recoveries].reverse().slice(0, 8).map((r) => {
    const outcome =
      r.outcome === 'live'
        ? h('span', { class: 'badge ok', 'data-testid': 'recovery-outcome' }, `live after ${ms(r.endedAt - r.startedAt)}`)
        : r.outcome === 'recovering'
          ? h('span', { class: 'badge blue', 'data-testid': 'recovery-outcome' }, 'recovering')
          : h('span', { class: 'badge bad', 'data-testid': 'recovery-outcome' }, `${r.outcome === 'escalated' ? 'escalated' : 'rolled back'}${r.escalationReason ? `: ${r.escalationReason}` : ''}`);
    const rows = r.tasks.map((t) => [
      h('div', {}, h('strong', {}, t.task), t.detectedBy ? h('div', { class: 'muted' }, `${t.detectedBy}${t.detectionMs !== null ? `, ${ms(t.detectionMs)}` : ''}`) : null),
      ...STEPS.map(([key, label], i) => {
        const at = t.steps[key];
        const reached = at !== undefined;
        const next = !reached && (i === 0 || t.steps[STEPS[i - 1][0]] !== undefined) && r.outcome === 'recovering';
        const bad = !reached && r.outcome !== 'recovering' && r.outcome !== 'live';
        const cell = h('div', { class: `step ${reached ? 'done' : next ? 'current' : bad ? 'bad' : ''}`, 'data-step': key, 'data-reached': reached ? 'yes' : 'no' }, label, reached ? h('div', {}, `+${ms(at - r.startedAt)}`) : null);
        if (key === 'replayed' && t.replayEntries) {
          const done = reached ? 1 : Math.min(1, t.replayedEntries / t.replayEntries);
          cell.append(h('div', { class: 'progress', title: `${t.replayedEntries} of ${t.replayEntries} determinants` }, h('div', { style: `width:${(done * 100).toFixed(0)}%` })));
        }
        return cell;
      }),
    ]);
    return h(
      'div',
      { class: 'recovery', 'data-testid': 'recovery', 'data-outcome': r.outcome },
      h('div', { class: 'title' }, `Failure group ${r.group} at ${ms(r.startedAt)} `, outcome, r.rollbackCheckpoint !== null ? h('span', { class: 'badge warn' }, `restored checkpoint ${r.rollbackCheckpoint}`) : null),
      h('div', { class: 'steps' }, rows.flat()),
    );
  });
  replace('recoveries', ...items);
}

let plot = null;
function chart(state, uPlot) {
  const s = state.series;
  const data = [s.map((p) => p.t / 1000), s.map((p) => p.outPerSec), s.map((p) => p.inPerSec), s.map((p) => p.p99Ms)];
  if (!plot) {
    const el = document.getElementById('chart');
    plot = new uPlot(
      {
        width: Math.max(400, el.clientWidth - 10),
        height: 220,
        scales: { x: { time: false } },
        axes: [{ label: 'job time (s)' }, { label: 'records/s', size: 70 }, { side: 1, scale: 'ms', label: 'p99 latency (ms)', grid: { show: false } }],
        series: [{ label: 't' }, { label: 'out/s', stroke: '#1f9d55', width: 2 }, { label: 'in/s', stroke: '#9aa3b5' }, { label: 'p99 ms', stroke: '#dc2626', scale: 'ms' }],
      },
      data,
      el,
    );
  } else plot.setData(data);
}

function tasks(state) {
  const head = h('tr', {}, ['task', 'worker', 'standby', 'status', 'in/s', 'out/s', 'backpressure', 'p50', 'p99', 'determinants', 'replicas', 'in-flight mem', 'in-flight disk'].map((c) => h('th', {}, c)));
  const rows = state.tasks.map((t) =>
    h(
      'tr',
      { 'data-testid': `row-${t.name}` },
      h('td', {}, t.name),
      h('td', {}, workerName(state, t.worker)),
      h('td', {}, t.standbyWorkers.map((w) => workerName(state, w)).join(', ') || '–'),
      h('td', {}, t.status),
      h('td', {}, fmt(t.inPerSec)),
      h('td', {}, fmt(t.outPerSec)),
      h('td', {}, `${fmt(t.backpressureRatio * 100)}%`),
      h('td', {}, ms(t.latencyP50Ms)),
      h('td', {}, ms(t.latencyP99Ms)),
      h('td', {}, bytes(t.figures?.determinantBytes)),
      h('td', {}, bytes(t.figures?.replicaBytes)),
      h('td', {}, t.figures ? `${bytes(t.figures.inflightMemoryBytes)} (${fmt(t.figures.inflightRecords)} el.)` : '–'),
      h('td', {}, bytes(t.figures?.inflightSpilledBytes)),
    ),
  );
  replace('tasks', h('table', {}, h('thead', {}, head), h('tbody', {}, rows)));
}

function checkpoints(state) {
  const c = state.checkpointCounts;
  const rows = [...state.checkpoints].reverse().slice(0, 12).map((cp) =>
    h('tr', {}, h('td', {}, cp.id), h('td', {}, h('span', { class: `badge ${cp.status === 'completed' ? 'ok' : cp.status === 'in-progress' ? 'blue' : 'bad'}` }, cp.status)), h('td', {}, ms(cp.triggeredAt)), h('td', {}, ms(cp.durationMs)), h('td', {}, bytes(cp.bytes))),
  );
  replace(
    'checkpoints',
    h('p', { class: 'muted' }, `${c.completed} completed · ${c.aborted} aborted · ${c.failed} failed`),
    h('table', {}, h('thead', {}, h('tr', {}, ['id', 'status', 'at', 'duration', 'size'].map((x) => h('th', {}, x)))), h('tbody', {}, rows)),
  );
}

function workers(state) {
  const rows = state.workers.map((w) =>
    h('tr', { 'data-testid': `worker-${w.index}` }, h('td', {}, workerName(state, w.index)), h('td', {}, w.pid ?? '(respawning)'), h('td', { style: 'text-align:left;white-space:normal' }, w.tasks.join(', ') || '–'), h('td', { style: 'text-align:left;white-space:normal' }, w.standbys.join(', ') || '–')),
  );
  replace('workers', h('table', {}, h('thead', {}, h('tr', {}, ['worker', 'pid', 'tasks', 'standbys of'].map((x) => h('th', {}, x)))), h('tbody', {}, rows)));
}

function header(state) {
  document.getElementById('job-name').textContent = state.job.name;
  const j = state.job;
  document.getElementById('job-facts').textContent = `${j.mode}${j.dsd !== null ? ` · dsd ${j.dsd}` : ''} · ${j.workers === 0 ? 'embedded' : `${j.workers} worker processes`} · ${ms(state.progress.elapsedMs)}${j.ended ? ` · ${j.ended}` : ''}`;
  const select = document.getElementById('kill-target');
  if (select.options.length !== state.killTargets.length) select.replaceChildren(...state.killTargets.map((t) => h('option', { value: t }, t)));
  document.getElementById('kill-button').disabled = Boolean(j.ended);
}

/** Renders `state` into the page. */
export function render(state, { uPlot }) {
  header(state);
  totals(state);
  graph(state);
  recoveries(state);
  chart(state, uPlot);
  tasks(state);
  checkpoints(state);
  workers(state);
}
