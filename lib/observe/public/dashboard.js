// The dashboard's entry module (plain ES module, no build step). It reads the job's token from the page,
// keeps one live-update connection (server-sent events, which carry the token in the query string because
// EventSource cannot set headers), re-renders on every state, and sends kill requests with the token in a
// header. Rendering lives in render.js; the charting library is uPlot.
const token = document.querySelector('meta[name="causalflow-token"]').content;
const withToken = (path) => `${path}${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
const [{ render }, { default: uPlot }] = await Promise.all([import(withToken('/assets/render.js')), import(withToken('/assets/uPlot.esm.js'))]);

const connection = document.getElementById('connection');
let latest = null;

function show(state) {
  latest = state;
  render(state, { uPlot });
  window.__causalflowState = state; // for tests and the console
}

function connect() {
  const source = new EventSource(withToken('/api/live'));
  source.addEventListener('open', () => {
    connection.textContent = 'live';
    connection.className = 'live';
  });
  source.addEventListener('state', (message) => show(JSON.parse(message.data)));
  source.addEventListener('error', () => {
    connection.textContent = latest?.job.ended ? `job ${latest.job.ended}; connection closed` : 'connection lost, retrying…';
    connection.className = 'lost';
  });
}

document.getElementById('kill-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const target = document.getElementById('kill-target').value;
  const status = document.getElementById('kill-status');
  const button = document.getElementById('kill-button');
  button.disabled = true;
  status.textContent = `killing ${target}…`;
  try {
    const response = await fetch('/api/kill', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ target }),
    });
    status.textContent = response.ok ? `killed ${target}` : (await response.text()).trim();
  } catch (error) {
    status.textContent = `kill failed: ${error}`;
  } finally {
    button.disabled = false;
  }
});

const initial = await fetch('/api/state', { headers: { authorization: `Bearer ${token}` } });
if (initial.ok) show(await initial.json());
connect();
