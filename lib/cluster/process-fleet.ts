/**
 * Worker processes on this host: the coordinator's side of `workers: N`. It starts each worker as a child
 * process (`worker-main`), authenticates its control connection with the job's secret, checks that the
 * worker built the same plan, tells the workers where their peers' data servers are, carries commands
 * (`RemoteWorker`) and reports (`WorkerReports`), and notices deaths:
 *
 * - a closed control socket (a SIGKILLed process: the kernel closes its sockets at once);
 * - the process's exit;
 * - missed heartbeats (a hung process, SIGSTOP): the connection fails after `heartbeatTimeoutMs` of silence
 *   and the fleet SIGKILLs the process, so that it can never come back as a zombie.
 *
 * Whichever comes first reports the loss, once per process. A lost worker is brought back by `respawn`
 * as a new process (a new generation, with a fresh directory), connected to its peers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorkerStartError } from '../errors.js';
import type { DetectedBy, FleetEndpoints, FleetSetup, WorkerFleet } from '../runtime/fleet.js';
import type { FailureReport, SinkProgress, WorkerCommands, WorkerFigures } from '../runtime/worker-api.js';
import { generateSecret, listen, RpcPeer, type FramedConnection, type TransportLogEvent, type TransportLogger, type TransportServer } from '../transport/tcp/index.js';
import type { ResolvedWorkerOptions } from '../config.js';
import { RemoteWorker } from './remote-worker.js';
import { SinkHost } from './sink-proxy.js';
import { reviveCause, WORKER_ENV, WORKER_SECRET_ENV, type CauseDescription, type PeerTable, type WorkerHello, type WorkerLaunch, type WorkerWelcome } from './control-protocol.js';

/** Bytes of a worker's stderr kept to explain a failed start. */
const STDERR_TAIL = 4096;

/** Options of a {@link ProcessFleet}. */
export interface ProcessFleetOptions {
  /** Worker settings of the job. */
  workers: ResolvedWorkerOptions;
  /** The job module, as a file URL. */
  module: string;
  /** Where transport events go (default: nowhere). */
  logger?: TransportLogger;
}

/** One worker index and the process that currently serves it. */
interface Slot {
  readonly index: number;
  generation: number;
  child: ChildProcess | null;
  rpc: RpcPeer | null;
  link: RemoteWorker | null;
  data: { host: string; port: number } | null;
  /** `performance.now()` when the fleet SIGKILLed this generation (detection is measured from it). */
  killedAt: number | null;
  /** Whether this generation's loss was reported. */
  lost: boolean;
  stderrTail: string;
  welcome: { resolve: () => void; reject: (error: Error) => void } | null;
}

/** Worker processes of one job. */
export class ProcessFleet implements WorkerFleet {
  readonly size: number;
  private readonly secret: string;
  private readonly slots: Slot[];
  private server: TransportServer | null = null;
  private setup: FleetSetup | null = null;
  private sinkHost: SinkHost | null = null;
  private closing = false;

  constructor(private readonly o: ProcessFleetOptions) {
    this.size = o.workers.count;
    this.secret = o.workers.secret ?? generateSecret();
    this.slots = Array.from({ length: this.size }, (_, index) => ({
      index,
      generation: 0,
      child: null,
      rpc: null,
      link: null,
      data: null,
      killedAt: null,
      lost: false,
      stderrTail: '',
      welcome: null,
    }));
  }

  /** Process ids of the live workers, by index (null where none runs): tests signal them directly. */
  pids(): (number | null)[] {
    return this.slots.map((slot) => (slot.child && !slot.lost ? (slot.child.pid ?? null) : null));
  }

  /** {@inheritDoc WorkerFleet.endpoints} */
  endpoints(): FleetEndpoints {
    return {
      control: this.server ? { host: this.server.advertisedHost, port: this.server.port } : null,
      data: this.slots.map((slot) => (slot.lost ? null : slot.data)),
    };
  }

  /** {@inheritDoc WorkerFleet.start} */
  async start(setup: FleetSetup): Promise<WorkerCommands[]> {
    this.setup = setup;
    this.sinkHost = new SinkHost(setup.coordinatorSinks, setup.options.directory);
    rmSync(this.workersDirectory(), { recursive: true, force: true });
    const w = this.o.workers;
    this.server = await listen({
      id: 'coordinator',
      secret: this.secret,
      host: w.bindHost,
      port: 0,
      ...(w.advertisedHost ? { advertisedHost: w.advertisedHost } : {}),
      heartbeatIntervalMs: w.heartbeatIntervalMs,
      heartbeatTimeoutMs: w.heartbeatTimeoutMs,
      logger: (event) => this.log(event),
    });
    this.server.on('connection', (connection) => this.adopt(connection));
    try {
      await Promise.all(this.slots.map((slot) => this.launch(slot)));
      await this.connectPeers();
    } catch (error) {
      await this.close();
      throw error;
    }
    return this.slots.map((slot) => slot.link!);
  }

  /** {@inheritDoc WorkerFleet.kill} */
  kill(worker: number): void {
    const slot = this.slots[worker];
    if (!slot?.child || slot.lost) return;
    slot.killedAt = performance.now();
    slot.child.kill('SIGKILL');
  }

  /** {@inheritDoc WorkerFleet.respawn} */
  async respawn(worker: number): Promise<WorkerCommands> {
    const slot = this.slots[worker]!;
    if (!slot.lost) throw new Error(`worker-${worker} is alive: only a lost worker is respawned`);
    const old = this.generationDirectory(slot);
    rmSync(old, { recursive: true, force: true });
    slot.generation++;
    slot.lost = false;
    slot.killedAt = null;
    slot.rpc = null;
    slot.link = null;
    slot.data = null;
    await this.launch(slot);
    try {
      await this.connectPeers();
    } catch (error) {
      // A peer lost while they connected fails the connecting, not this worker, which joined: the lost
      // peer's own respawn connects every live worker again. (Thrown, the caller's retry would find this
      // slot alive and fail the job.) The coordinator may notice the peer's loss only after the connecting
      // failed (its exit and its closed connection come in their own time; CI, once): wait for it, for as
      // long as a heartbeat timeout, which bounds how late a loss is noticed.
      if (!(await this.otherLost(slot, this.o.workers.heartbeatTimeoutMs))) throw error;
    }
    return slot.link!;
  }

  /** Whether another worker than `slot`'s is (or within `withinMs` becomes) lost; false once `slot` itself is. */
  private async otherLost(slot: Slot, withinMs: number): Promise<boolean> {
    const deadline = performance.now() + withinMs;
    for (;;) {
      if (slot.lost) return false;
      if (this.slots.some((other) => other !== slot && other.lost)) return true;
      if (performance.now() >= deadline || this.closing) return false;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** {@inheritDoc WorkerFleet.close} */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await Promise.all(
      this.slots.map(async (slot) => {
        const child = slot.child;
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        if (slot.rpc?.connection.isOpen) slot.rpc.notify('exit', null);
        const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
        await exited;
        clearTimeout(timer);
      }),
    );
    await this.server?.close();
    this.server = null;
  }

  // ------------------------------------------------------------------ starting workers

  private workersDirectory(): string {
    return join(this.setup!.options.directory, 'workers');
  }

  private generationDirectory(slot: Slot): string {
    return join(this.workersDirectory(), `${slot.index}.${slot.generation}`);
  }

  /** Starts the process of `slot` and waits for its hello. */
  private launch(slot: Slot): Promise<void> {
    const w = this.o.workers;
    const launch: WorkerLaunch = {
      index: slot.index,
      generation: slot.generation,
      control: { host: this.server!.advertisedHost, port: this.server!.port },
      module: this.o.module,
      export: w.export,
      args: w.args,
      bindHost: w.bindHost,
      advertisedHost: w.advertisedHost,
      heartbeatIntervalMs: w.heartbeatIntervalMs,
      heartbeatTimeoutMs: w.heartbeatTimeoutMs,
      directory: this.generationDirectory(slot),
    };
    const entry = new URL(import.meta.url.endsWith('.ts') ? './worker-main.ts' : './worker-main.js', import.meta.url);
    const child = spawn(process.execPath, [...workerExecArgv(entry.href, this.o.module), fileURLToPath(entry)], {
      env: { ...process.env, [WORKER_ENV]: JSON.stringify(launch), [WORKER_SECRET_ENV]: this.secret },
      stdio: ['ignore', 'inherit', 'pipe'],
    });
    slot.child = child;
    slot.stderrTail = '';
    const generation = slot.generation;
    child.stderr!.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk);
      slot.stderrTail = (slot.stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL);
    });
    child.once('exit', (code, signal) => {
      if (slot.generation !== generation) return;
      const reason = `exited with ${signal ? `signal ${signal}` : `code ${code}`}${slot.stderrTail ? `: ${lastLines(slot.stderrTail)}` : ''}`;
      if (slot.welcome) {
        // It died before it joined: nothing to recover, but the slot is free for another start.
        slot.lost = true;
        slot.welcome.reject(new WorkerStartError(slot.index, reason));
        slot.welcome = null;
        return;
      }
      this.lost(slot, generation, 'process exit');
    });
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!slot.welcome) return;
        slot.welcome = null;
        slot.lost = true;
        child.kill('SIGKILL');
        reject(new WorkerStartError(slot.index, `no hello within ${w.startTimeoutMs} ms (workers.startTimeoutMs)${slot.stderrTail ? `: ${lastLines(slot.stderrTail)}` : ''}`));
      }, w.startTimeoutMs);
      slot.welcome = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
    });
  }

  /** A worker's control connection, authenticated by the handshake. */
  private adopt(connection: FramedConnection): void {
    const index = Number(/^worker-(\d+)$/.exec(connection.remoteId)?.[1] ?? -1);
    const slot = this.slots[index];
    if (!slot) {
      connection.destroy();
      return;
    }
    const rpc = new RpcPeer(connection, { defaultTimeoutMs: 30_000, logger: (event) => this.log(event) });
    rpc.handle('hello', (params) => this.hello(slot, rpc, params as WorkerHello));
    connection.on('close', (error) => {
      if (slot.rpc !== rpc) return;
      this.lost(slot, slot.generation, error?.code === 'PEER_SILENT' ? 'heartbeat timeout' : 'connection closed', error?.code === 'PEER_SILENT' ? Number(error.context['silentMs']) : null);
    });
    connection.start();
  }

  private hello(slot: Slot, rpc: RpcPeer, hello: WorkerHello): WorkerWelcome {
    const setup = this.setup!;
    if (hello.generation !== slot.generation || !slot.welcome) throw new WorkerStartError(slot.index, `generation ${hello.generation} is not the one started (${slot.generation})`);
    if (hello.fingerprint !== setup.fingerprint) {
      const error = new WorkerStartError(slot.index, `its module built another job (plan ${hello.fingerprint}, expected ${setup.fingerprint}): build the same job in every process, from the same module and arguments`);
      slot.welcome.reject(error);
      slot.welcome = null;
      throw error;
    }
    slot.rpc = rpc;
    slot.data = hello.data;
    slot.link = new RemoteWorker(slot.index, rpc);
    this.serveReports(slot.index, rpc, slot.link);
    this.sinkHost!.serve(rpc);
    const welcome = slot.welcome;
    slot.welcome = null;
    queueMicrotask(() => welcome.resolve());
    const options = setup.options;
    return {
      // Sinks and functions do not cross: workers take the dead-letter sink from the job they built.
      options: { ...options, errors: { policy: options.errors.policy, deadLetter: null }, workers: null },
      features: setup.features,
      clockOrigin: setup.clockOrigin(),
    };
  }

  /** Tells every live worker where every live worker's data server is; resolves once all are connected. */
  private async connectPeers(): Promise<void> {
    const live = this.slots.filter((slot) => !slot.lost && slot.rpc !== null && slot.data !== null);
    const peers: PeerTable = live.map((slot) => ({ worker: slot.index, host: slot.data!.host, port: slot.data!.port }));
    await Promise.all(live.map((slot) => slot.rpc!.call('connectPeers', { peers }, { timeoutMs: this.o.workers.startTimeoutMs }).catch((error: unknown) => {
      if (slot.rpc?.connection.isOpen) throw error;
    })));
  }

  private serveReports(worker: number, rpc: RpcPeer, link: RemoteWorker): void {
    const reports = this.setup!.reports;
    rpc.handle('acknowledge', (params) => {
      const { taskId, checkpointId, frame } = params as { taskId: number; checkpointId: number; frame: Uint8Array };
      reports.acknowledge(worker, taskId, checkpointId, frame);
    });
    rpc.handle('closedEpoch', (params) => {
      const { taskId, epoch, bytes } = params as { taskId: number; epoch: number; bytes: Uint8Array };
      reports.closedEpoch(worker, taskId, epoch, bytes);
    });
    rpc.handle('taskFinished', (params) => {
      const { taskId, finalSnapshot } = params as { taskId: number; finalSnapshot: Uint8Array };
      reports.taskFinished(worker, taskId, finalSnapshot);
    });
    rpc.handle('tasksFailed', (params) => {
      const { failures } = params as { failures: { taskId: number; cause: CauseDescription | null }[] };
      reports.tasksFailed(worker, failures.map((f): FailureReport => ({ taskId: f.taskId, cause: reviveCause(f.cause) })));
    });
    rpc.handle('logEnded', (params) => {
      const { taskId, regenerated, sinks, records } = params as { taskId: number; regenerated: number[]; sinks: SinkProgress[]; records: number };
      reports.logEnded(worker, taskId, regenerated, sinks, records);
    });
    rpc.handle('figures-stream', (params) => {
      const { sinkOut, sourceIn } = params as { sinkOut: number[]; sourceIn: number[] };
      for (let i = 0; i + 3 < sinkOut.length; i += 4) reports.sinkOutput(worker, sinkOut[i]!, sinkOut[i + 1]!, sinkOut[i + 2]!, sinkOut[i + 3]!);
      for (let i = 0; i + 1 < sourceIn.length; i += 2) reports.sourceInput(worker, sourceIn[i]!, sourceIn[i + 1]!);
    });
    rpc.handle('figures', (params) => link.updateFigures(params as WorkerFigures));
    rpc.handle('taskEvent', (params) => reports.taskEvent(worker, params as { type: 'timers-cancelled'; task: string; intervals: number }));
  }

  /** Transport events: to the fleet's logger, and warnings (refusals, corrupt frames) to the job's events. */
  private log(event: TransportLogEvent): void {
    this.o.logger?.(event);
    if (event.level !== 'warn' && event.level !== 'error') return;
    const code = event.context?.['code'] ?? event.context?.['reason'];
    this.setup?.transportWarning({ event: event.event, message: event.message, code: code === undefined ? null : String(code) });
  }

  // ------------------------------------------------------------------ deaths

  private lost(slot: Slot, generation: number, detectedBy: DetectedBy, silentMs: number | null = null): void {
    if (slot.generation !== generation || slot.lost || this.closing) return;
    slot.lost = true;
    const detectionMs = slot.killedAt !== null ? performance.now() - slot.killedAt : silentMs;
    // A hung process must never come back: kill it for good before anyone recovers its tasks.
    if (slot.child && slot.child.exitCode === null && slot.child.signalCode === null) slot.child.kill('SIGKILL');
    slot.rpc?.connection.destroy();
    this.setup?.lost(slot.index, detectedBy, detectionMs === null ? null : Math.round(detectionMs * 1000) / 1000);
  }
}

/**
 * Node flags of a worker process: the parent's (memory limits, source maps), and the tsx loader when
 * the worker entry or the job module is TypeScript (the parent may have registered tsx by its API,
 * which leaves no flag to inherit).
 */
function workerExecArgv(entry: string, module: string): string[] {
  const inherited = process.execArgv.filter((arg) => !arg.startsWith('--inspect') && !arg.startsWith('--test'));
  const hasTsx = inherited.some((arg, i) => /tsx/.test(arg) && (arg.startsWith('--import') || inherited[i - 1] === '--import'));
  if (hasTsx || (!entry.endsWith('.ts') && !/\.[cm]?ts$/.test(module))) return inherited;
  return [...inherited, '--import', import.meta.resolve('tsx')];
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-6).join(' | ');
}
