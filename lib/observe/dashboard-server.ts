/**
 * The dashboard's routes: the page and its assets (plain ES modules and uPlot, served from
 * `public/` and uPlot's package), the job's state as JSON, a live-update stream (server-sent events:
 * the state after every sample, and every job event as it happens), a kill request, and `/metrics`.
 * What the page shows is built here from the {@link JobObserver}, the same object `/metrics` reads.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { ConfigError } from '../errors.js';
import type { JobEvent } from '../runtime/events.js';
import { RequestError, readJsonBody, sendJson, type Route } from './http-endpoint.js';
import type { JobObserver } from './job-observer.js';

/** What the dashboard can do to the job besides reading it. */
export interface DashboardControls {
  /** Kills a task (`name`, `<operator>[<subtask>]`) or, with worker processes, `worker-N`, now. */
  kill(target: string): void;
}

const here = dirname(fileURLToPath(import.meta.url));
/** The page's files: next to this module in a checkout; the build copies them next to the compiled one. */
const PUBLIC_DIR = join(here, 'public');
const uplotDir = dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.esm.js'));

const ASSETS: Record<string, { file: string; type: string }> = {
  '/assets/dashboard.js': { file: join(PUBLIC_DIR, 'dashboard.js'), type: 'text/javascript' },
  '/assets/render.js': { file: join(PUBLIC_DIR, 'render.js'), type: 'text/javascript' },
  '/assets/dashboard.css': { file: join(PUBLIC_DIR, 'dashboard.css'), type: 'text/css' },
  '/assets/uPlot.esm.js': { file: join(uplotDir, 'uPlot.esm.js'), type: 'text/javascript' },
  '/assets/uPlot.min.css': { file: join(uplotDir, 'uPlot.min.css'), type: 'text/css' },
};

/** The job's state as the page renders it. */
export function dashboardState(observer: JobObserver): Record<string, unknown> {
  const job = observer.job;
  const plan = job.plan;
  const started = job.eventLog().find((e): e is Extract<JobEvent, { type: 'started' }> => e.type === 'started');
  const pids = job.workerPids();
  const workers = Math.max(1, job.workerCount);
  return {
    job: { name: job.options.name, mode: job.options.recovery.mode, dsd: started?.dsd ?? null, workers: job.workerCount, ended: observer.ended },
    progress: observer.progress(),
    vertices: plan.vertices.map((v) => ({
      index: v.index,
      name: v.name,
      parallelism: v.parallelism,
      operators: v.nodes.map((id) => plan.nodes[id]!.name),
      inputs: v.inputs.map((e) => ({ from: e.from, partitioning: e.edge.partitioning })),
      firstTask: v.firstTask,
    })),
    tasks: observer.tasks,
    workers: Array.from({ length: workers }, (_, index) => ({
      index,
      pid: pids[index] ?? (job.workerCount === 0 ? process.pid : null),
      tasks: observer.tasks.filter((t) => t.worker === index).map((t) => t.name),
      standbys: observer.standbys.filter((s) => s.worker === index).map((s) => observer.tasks[s.taskId]!.name),
    })),
    checkpoints: observer.checkpoints,
    checkpointCounts: observer.checkpointCounts,
    recoveries: observer.timelines.all,
    series: observer.series.slice(-300),
    killTargets: [...plan.tasks.map((t) => t.name), ...Array.from({ length: job.workerCount }, (_, i) => `worker-${i}`)],
  };
}

/** The dashboard's routes over `observer`, with `registry` at `/metrics` and `controls` behind the kill button. */
export function dashboardRoutes(observer: JobObserver, registry: Registry, controls: DashboardControls, token: string): Route[] {
  const page = (): string => readFileSync(join(PUBLIC_DIR, 'index.html'), 'utf8').replaceAll('__TOKEN__', token);
  return [
    (request, response, url) => {
      if (request.method !== 'GET') return false;
      if (url.pathname === '/' || url.pathname === '/index.html') {
        response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
        response.end(page());
        return true;
      }
      const asset = ASSETS[url.pathname];
      if (!asset) return false;
      response.writeHead(200, { 'content-type': `${asset.type}; charset=utf-8`, 'cache-control': 'no-store' });
      response.end(readFileSync(asset.file));
      return true;
    },
    (request, response, url) => {
      if (request.method !== 'GET' || url.pathname !== '/api/state') return false;
      sendJson(response, dashboardState(observer));
      return true;
    },
    (request, response, url) => {
      if (request.method !== 'GET' || url.pathname !== '/api/live') return false;
      liveStream(observer, response);
      return true;
    },
    async (request, response, url) => {
      if (url.pathname !== '/api/kill') return false;
      if (request.method !== 'POST') throw new RequestError(405, 'POST /api/kill with {"target": "<task or worker-N>"}');
      const body = (await readJsonBody(request)) as { target?: unknown } | null;
      const target = body && typeof body === 'object' ? body.target : undefined;
      if (typeof target !== 'string' || target.length === 0 || target.length > 200) throw new RequestError(400, '{"target": "<task name, <operator>[<subtask>], or worker-N>"}');
      if (observer.ended) throw new RequestError(409, `the job ended (${observer.ended})`);
      try {
        controls.kill(target);
      } catch (error) {
        if (error instanceof ConfigError) throw new RequestError(400, error.message);
        throw error;
      }
      sendJson(response, { killed: target }, 202);
      return true;
    },
    async (request, response, url) => {
      if (request.method !== 'GET' || url.pathname !== '/metrics') return false;
      await serveMetrics(registry, response);
      return true;
    },
  ];
}

/** The route of a metrics-only endpoint. */
export function metricsRoute(registry: Registry): Route {
  return async (request, response, url) => {
    if (request.method !== 'GET' || url.pathname !== '/metrics') return false;
    await serveMetrics(registry, response);
    return true;
  };
}

async function serveMetrics(registry: Registry, response: ServerResponse): Promise<void> {
  const body = await registry.metrics();
  response.writeHead(200, { 'content-type': registry.contentType });
  response.end(body);
}

/** Server-sent events: `state` now and after each sample (and shortly after each job event), `job-event` for each event. */
function liveStream(observer: JobObserver, response: ServerResponse): void {
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
  const send = (type: string, data: unknown): void => {
    response.write(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  let pending: NodeJS.Timeout | null = null;
  const sendState = (): void => {
    pending = null;
    send('state', dashboardState(observer));
  };
  const onUpdate = (): void => sendState();
  const onEvent = (event: JobEvent): void => {
    send('job-event', event);
    // A recovery's steps follow each other within milliseconds: one state for a burst of events.
    pending ??= setTimeout(sendState, 100);
  };
  observer.on('update', onUpdate);
  observer.on('event', onEvent);
  const keepAlive = setInterval(() => response.write(': keep-alive\n\n'), 15_000);
  keepAlive.unref();
  response.on('close', () => {
    observer.off('update', onUpdate);
    observer.off('event', onEvent);
    clearInterval(keepAlive);
    if (pending) clearTimeout(pending);
  });
  sendState();
}
