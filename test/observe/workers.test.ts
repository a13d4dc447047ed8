/**
 * The dashboard, end to end, in a real browser: Debian's Chromium driven by playwright-core, against the
 * demo job (Nexmark Q3, exactly-once) running in two worker processes. The page loads only with the
 * token; its graph shows every task with the worker it runs on and where its standby lives; the kill
 * button SIGKILLs the worker holding the chosen task and the recovery timeline runs through to "live";
 * and the counts the page shows match a scrape of /metrics. Without Chromium the tests skip and say why
 * (CI installs it: `apt-get install chromium`, and CAUSALFLOW_REQUIRE_TOOLS=1 turns the skip into a failure).
 *
 * With CAUSALFLOW_SCREENSHOT=<path> the recovery test saves a screenshot of the page there (how
 * docs/dashboard.png was made).
 */
import test from 'ava';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { JobHandle } from '../../lib/api/job.js';
import { buildDemoJob, DEMO_JOB_MODULE, type DemoJobArgs } from '../../lib/cli/demo-job.js';
import { scrape, sumOf } from './exposition.js';
import { ROOT } from '../helpers/cli.js';
import { spawn } from 'node:child_process';

const CHROMIUM = process.env.CAUSALFLOW_CHROMIUM ?? '/usr/bin/chromium';
const REQUIRED = process.env.CAUSALFLOW_REQUIRE_TOOLS === '1';
/** The flags this machine needs: no sandbox as root, no GPU, and no background connections (the network is closed). */
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

const serial = existsSync(CHROMIUM) ? test.serial : null;
if (!serial) {
  const why = `${CHROMIUM} not found (install Debian's chromium: apt-get install chromium; Playwright's own browser download does not work here)`;
  if (REQUIRED) test('dashboard tests need Chromium', (t) => t.fail(`${why}; CAUSALFLOW_REQUIRE_TOOLS=1 makes the skip a failure`));
  else test.skip(`dashboard tests [skipped: ${why}]`, () => {});
}

let browser: Browser;
let page: Page;
let handle: JobHandle;
let directory: string;

if (serial) {
  test.before(async () => {
    directory = mkdtempSync(join(tmpdir(), 'causalflow-dashboard-'));
    const args: DemoJobArgs = { parallelism: 2, rate: 15_000, maxEvents: 15_000 * 14, directory: join(directory, 'run') };
    const { job } = buildDemoJob(args);
    handle = await job.start({
      workers: { count: 2, module: DEMO_JOB_MODULE, export: 'buildDemoJob', args },
      endpoints: { dashboard: 0, endpointsAfterEnd: 'keep' },
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
    page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
  });

  test.after.always(async () => {
    await browser?.close();
    if (handle) {
      await handle.stop('tests done').catch(() => {});
      await handle.closeEndpoints();
    }
    if (directory) rmSync(directory, { recursive: true, force: true });
  });

  serial('the dashboard binds to 127.0.0.1, and its page, assets, state and live stream answer only with the token', async (t) => {
    const { dashboard, token } = handle.endpoints;
    t.regex(dashboard!, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{32}$/);
    const origin = new URL(dashboard!).origin;
    const refused = await page.goto(`${origin}/`);
    t.is(refused?.status(), 401, 'the page without a token');
    t.is((await page.goto(`${origin}/?token=${'0'.repeat(32)}`))?.status(), 401, 'the page with a wrong token');
    for (const path of ['/assets/dashboard.js', '/api/state', '/api/live', '/metrics']) t.is((await fetch(`${origin}${path}`)).status, 401, `${path} without a token`);
    const kill = await fetch(`${origin}/api/kill`, { method: 'POST', body: JSON.stringify({ target: 'q3-join[0]' }) });
    t.is(kill.status, 401, 'a kill without a token');
    const bad = await fetch(`${origin}/api/kill`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: '{"target": "no-such-task[9]"}' });
    t.is(bad.status, 400, 'a kill of an unknown task is refused with the reason');
    t.regex(await bad.text(), /kill\.task/);
    t.is((await fetch(`${origin}/api/kill`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: 'not json' })).status, 400);
    t.is((await fetch(`${origin}/api/kill`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: 'x'.repeat(5000) })).status, 413);
    const loaded = await page.goto(dashboard!);
    t.is(loaded?.status(), 200, 'the page with the token');
    await page.getByTestId('connection').filter({ hasText: 'live' }).waitFor({ timeout: 15_000 });
  });

  serial('the graph shows every task with the worker it runs on and the worker holding its standby', async (t) => {
    await page.waitForFunction(() => (globalThis as unknown as { __causalflowState?: { tasks: { standbyWorkers: number[] }[] } }).__causalflowState?.tasks.every((task) => task.standbyWorkers.length > 0), null, { timeout: 15_000 });
    const placement = handle.executor.currentPlacement();
    for (const [id, name] of handle.taskNames().entries()) {
      const box = page.getByTestId(`task-${name}`);
      await box.waitFor({ timeout: 5000 });
      const text = await box.innerText();
      t.true(text.includes(`on worker-${placement[id]}`), `${name}: ${text}`);
      const standby = /standby on worker-(\d)/.exec(text);
      t.truthy(standby, `${name} shows its standby`);
      t.not(Number(standby![1]), placement[id], `${name}'s standby lives on another worker than the task`);
    }
    t.is(await page.locator('[data-testid^="task-"]').count(), handle.taskNames().length, 'one box per task, no more');
    const metrics = await scrape(`${new URL(handle.endpoints.dashboard!).origin}/metrics`, handle.endpoints.token!);
    const workers = new Set(metrics.samples.filter((s) => s.name === 'causalflow_task_records_in_total').map((s) => s.labels.worker));
    t.deepEqual([...workers].sort(), [...new Set(placement.map(String))].sort(), 'task figures gathered from every worker process that runs a task');
    t.is(new Set(placement).size, 2, 'the tasks run in both workers');
  });

  serial('killing q3-join[0] from the page SIGKILLs its worker, and the recovery timeline runs detected → standby → determinants → replay → live', async (t) => {
    await page.getByTestId('kill-target').selectOption('q3-join[0]');
    await page.getByTestId('kill-button').click();
    await page.getByTestId('kill-status').filter({ hasText: 'killed q3-join[0]' }).waitFor({ timeout: 10_000 });
    const recovery = page.locator('[data-testid="recovery"][data-outcome="live"]');
    await recovery.first().waitFor({ timeout: 30_000 });
    const joinSteps = recovery.first().locator('.steps');
    const reached = await joinSteps.locator('[data-step]').evaluateAll((cells) => cells.map((c) => `${c.getAttribute('data-step')}:${c.getAttribute('data-reached')}`));
    // Every task the SIGKILL took (the whole worker) went through every step.
    t.true(reached.length >= 5 && reached.length % 5 === 0, reached.join(' '));
    t.deepEqual([...new Set(reached.map((r) => r.split(':')[1]))], ['yes'], reached.join(' '));
    t.regex(await recovery.first().innerText(), /q3-join\[0\]/);
    t.regex(await recovery.first().getByTestId('recovery-outcome').innerText(), /^live after/);
    const events = handle.events();
    t.true(events.some((e) => e.type === 'worker-killed' && e.tasks.includes('q3-join[0]')), 'a worker process was SIGKILLed');
    t.true(events.some((e) => e.type === 'live' && e.task === 'q3-join[0]'));
    await page.waitForTimeout(1200); // one more sample: rates after the takeover
    const shot = process.env.CAUSALFLOW_SCREENSHOT ? resolve(process.env.CAUSALFLOW_SCREENSHOT) : join(directory, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    t.log(`screenshot: ${shot}`);
  });

  serial('once the SIGKILLed worker is respawned, the page shows every standby on another worker than its task again', async (t) => {
    type State = { progress: { elapsedMs: number }; tasks: { name: string; worker: number; standbyWorkers: number[] }[] };
    // First the new process, then a state the page got from a sample taken after it (not one from before the kill).
    const deadline = Date.now() + 30_000;
    let respawn = handle.events().find((e) => e.type === 'worker-respawned');
    while (!respawn && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      respawn = handle.events().find((e) => e.type === 'worker-respawned');
    }
    t.truthy(respawn, 'a new process took the lost worker\'s place');
    await page.waitForFunction(
      (after) => {
        const state = (globalThis as unknown as { __causalflowState?: State }).__causalflowState;
        return state !== undefined && state.progress.elapsedMs > after && state.tasks.every((task) => task.standbyWorkers.length > 0 && !task.standbyWorkers.includes(task.worker));
      },
      respawn!.t + 1500,
      { timeout: 20_000 },
    );
    const state = await page.evaluate(() => (globalThis as unknown as { __causalflowState: State }).__causalflowState);
    for (const task of state.tasks) t.false(task.standbyWorkers.includes(task.worker), `${task.name} on worker-${task.worker}, standby on ${task.standbyWorkers.join(', ')}`);
  });

  serial('when the job has finished, the counts on the page match a scrape of /metrics', async (t) => {
    const result = await handle.done;
    const { dashboard, token } = handle.endpoints;
    await page.waitForFunction(() => Boolean((globalThis as unknown as { __causalflowState?: { job: { ended: string | null } } }).__causalflowState?.job.ended), null, { timeout: 15_000 });
    const metrics = await scrape(`${new URL(dashboard!).origin}/metrics`, token!);
    const number = async (id: string): Promise<number> => Number((await page.getByTestId(id).locator('.v').innerText()).replace(/,/g, ''));
    t.is(await number('records-out'), sumOf(metrics, 'causalflow_job_records_total', { direction: 'out' }));
    t.is(await number('records-in'), sumOf(metrics, 'causalflow_job_records_total', { direction: 'in' }));
    t.is(await number('checkpoints-completed'), sumOf(metrics, 'causalflow_checkpoints_total', { outcome: 'completed' }));
    t.is(await number('recoveries-count'), result.recoveries);
    t.is(sumOf(metrics, 'causalflow_recoveries_total', { outcome: 'local' }), 1);
    t.is(await number('records-out'), result.recordsOut, 'and both match the job result');
  });

  serial('npx causalflow demo --workers 3 --dashboard: the page shows the graph over three workers and the demo\'s own kill through to live', async (t) => {
    const demo = spawn(process.execPath, [`${ROOT}bin/causalflow.js`, 'demo', '--workers', '3', '--dashboard', '--seconds', '10', '--kill-at', '5.5', '--rate', '30000', '--dashboard-wait', '3'], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    demo.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => demo.on('close', resolve));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no dashboard address in: ${stdout}${stderr}`)), 60_000);
      demo.stdout.on('data', (chunk) => {
        stdout += chunk;
        const match = /dashboard: (http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{32})/.exec(stdout);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
    });
    const demoPage = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    t.is((await demoPage.goto(url))?.status(), 200);
    for (const task of ['source-1[0]', 'source-1[1]', 'q3-join[0]', 'q3-join[1]']) await demoPage.getByTestId(`task-${task}`).waitFor({ timeout: 15_000 });
    t.is(await demoPage.locator('[data-testid^="worker-"]').count(), 3, 'three worker rows');
    const live = demoPage.locator('[data-testid="recovery"][data-outcome="live"]');
    await live.first().waitFor({ timeout: 40_000 });
    t.regex(await live.first().innerText(), /q3-join\[0\][\s\S]*live/);
    await demoPage.close();
    t.is(await exited, 0, `${stdout}\n${stderr}`);
    t.regex(stdout, /oracle \.+ identical/);
  });
}

