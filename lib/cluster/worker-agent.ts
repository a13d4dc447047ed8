/**
 * A worker process's side of the control connection: it serves the coordinator's commands on its
 * `WorkerHost` and sends the host's reports back, batching the frequent ones (figures of sink output and
 * source input) so that the control connection carries a message per few milliseconds, not per batch.
 */
import type { ResolvedJobOptions } from '../config.js';
import type { Sink } from '../connectors/sink.js';
import type { StrategyFeatures } from '../runtime/strategy.js';
import type { LogicalNode, PhysicalPlan } from '../runtime/plan.js';
import type { ChannelFence, DeploySpec, FailureReport, RoundSpec, SinkProgress, WorkerReports } from '../runtime/worker-api.js';
import { WorkerHost } from '../runtime/worker-host.js';
import type { RpcPeer } from '../transport/tcp/index.js';
import { LocalTransport } from '../transport/transport.js';
import { channelOptions } from '../runtime/channel-options.js';
import { describeCause } from './control-protocol.js';
import { ProxySink } from './sink-proxy.js';
import type { TcpTransport } from './tcp-transport.js';

/** How often batched reports go out (ms). */
const FLUSH_MS = 10;

/** Everything a worker process runs for one job. */
export interface WorkerAgentOptions {
  index: number;
  rpc: RpcPeer;
  nodes: readonly LogicalNode[];
  plan: PhysicalPlan;
  options: ResolvedJobOptions;
  features: StrategyFeatures;
  tcp: TcpTransport;
  /** Wall-clock ms at which the job clock reads 0 (updated when the job starts running). */
  clockOrigin: number;
  /** This process's own directory (lmdb state, spilled in-flight logs). */
  directory: string;
}

/** Serves one worker. */
export class WorkerAgent {
  readonly host: WorkerHost;
  private origin: number;
  private sinkOut: number[] = [];
  private sourceIn: number[] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private readonly figuresTimer: NodeJS.Timeout;

  constructor(private readonly o: WorkerAgentOptions) {
    this.origin = o.clockOrigin;
    // Sinks whose records live in the coordinator are written through it.
    const nodes = o.nodes.map((node) =>
      node.sink && node.sinkConnector?.location === 'coordinator' ? { ...node, sinkConnector: new ProxySink(o.rpc, node.id, node.sinkConnector as Sink<unknown>) } : node,
    );
    this.host = new WorkerHost({
      index: o.index,
      nodes,
      plan: o.plan,
      options: o.options,
      features: o.features,
      reports: this.reports(),
      transport: new LocalTransport(o.index, (channel) => channelOptions(nodes, o.plan, o.options, channel), o.tcp),
      clock: () => this.clock(),
      directory: o.directory,
      onClockOrigin: (origin) => {
        this.origin = origin;
      },
      // A kill "after N records" is a real failure of the process: SIGKILL, at that record.
      onArmedKill: () => process.kill(process.pid, 'SIGKILL'),
    });
    this.serve();
    this.figuresTimer = setInterval(() => o.rpc.notify('figures', this.host.figures()), 50);
    this.figuresTimer.unref();
  }

  /** The job clock, shared with the coordinator through the origin it sent. */
  clock(): number {
    return performance.timeOrigin + performance.now() - this.origin;
  }

  /** Stops the timers (the process exits). */
  dispose(): void {
    clearInterval(this.figuresTimer);
    if (this.flushTimer) clearTimeout(this.flushTimer);
  }

  private serve(): void {
    const { rpc } = this.o;
    const host = this.host;
    const p = <T>(params: unknown): T => params as T;
    // Every worker a spec places tasks on was connected to its peers before the coordinator used it
    // (`connectPeers`); an end towards a worker that died since is a closed stand-in, rewired next round.
    rpc.handle('deploy', (params) => host.deploy(p<DeploySpec>(params)));
    rpc.handle('run', (params) => host.run(p<{ clockOrigin: number }>(params).clockOrigin));
    rpc.handle('stopTasks', () => host.stopTasks());
    rpc.handle('round', (params) => host.round(p<RoundSpec>(params)));
    rpc.handle('goLive', (params) => host.goLive(p<{ taskId: number }>(params).taskId));
    rpc.handle('triggerSources', (params) => host.triggerSources(p<{ checkpointId: number }>(params).checkpointId));
    rpc.handle('checkpointCompleted', (params) => host.checkpointCompleted(p<{ checkpointId: number }>(params).checkpointId));
    rpc.handle('checkpointAborted', (params) => host.checkpointAborted(p<{ checkpointId: number }>(params).checkpointId));
    rpc.handle('applyStandby', (params) => {
      const { taskId, frame } = p<{ taskId: number; frame: Uint8Array }>(params);
      host.applyStandby(taskId, frame);
    });
    rpc.handle('addStandby', (params) => {
      const { taskId, snapshot } = p<{ taskId: number; snapshot: Uint8Array | null }>(params);
      host.addStandby(taskId, snapshot);
    });
    rpc.handle('dropStandbys', (params) => host.dropStandbys(p<{ taskId: number }>(params).taskId));
    rpc.handle('killTasks', (params) => host.killTasks(p<{ taskIds: number[] }>(params).taskIds));
    rpc.handle('armKill', (params) => {
      const { taskId, records } = p<{ taskId: number; records: number }>(params);
      host.armKill(taskId, records);
    });
    rpc.handle('standbyPositions', async (params) => {
      const { taskIds, checkpoint } = p<{ taskIds: number[]; checkpoint: number }>(params);
      return [...(await host.standbyPositions(taskIds, checkpoint))];
    });
    rpc.handle('replicas', async (params) => {
      const { taskIds, fromEpoch, fences } = p<{ taskIds: number[]; fromEpoch: number; fences: ChannelFence[] }>(params);
      return [...(await host.replicas(taskIds, fromEpoch, fences))];
    });
    rpc.handle('ownLogs', async (params) => {
      const { taskIds, fromEpoch, whole } = p<{ taskIds: number[] | null; fromEpoch: number; whole: boolean }>(params);
      return [...(await host.ownLogs(taskIds, fromEpoch, whole))];
    });
    rpc.handle('holdings', (params) => {
      const { index, before } = p<{ index: number; before: number }>(params);
      return host.holdings(index, before);
    });
    rpc.handle('sinkStates', async (params) => [...(await host.sinkStates(p<{ taskIds: number[] }>(params).taskIds))]);
    rpc.handle('traces', async () => [...(await host.traces())]);
    rpc.handle('waits', () => host.waits());
    rpc.handle('taskFigures', () => host.taskFigures());
    rpc.handle('memoryFigures', (params) => host.memoryFigures(p<{ withState: boolean }>(params).withState));
    rpc.handle('finish', async () => {
      this.flush();
      await host.finish();
    });
    rpc.handle('close', async () => {
      this.flush();
      await host.close();
    });
  }

  private reports(): WorkerReports {
    const { rpc } = this.o;
    return {
      acknowledge: (_w, taskId, checkpointId, frame) => {
        this.flush();
        rpc.notify('acknowledge', { taskId, checkpointId, frame });
      },
      closedEpoch: (_w, taskId, epoch, bytes) => {
        this.flush();
        rpc.notify('closedEpoch', { taskId, epoch, bytes });
      },
      taskFinished: (_w, taskId, finalSnapshot) => {
        this.flush();
        rpc.notify('taskFinished', { taskId, finalSnapshot });
      },
      tasksFailed: (_w, failures: FailureReport[]) => {
        this.flush();
        rpc.notify('tasksFailed', { failures: failures.map((f) => ({ taskId: f.taskId, cause: describeCause(f.cause) })) });
      },
      logEnded: (_w, taskId, regenerated: number[], sinks: SinkProgress[], records: number) => {
        this.flush();
        rpc.notify('logEnded', { taskId, regenerated, sinks, records });
      },
      // Sent at once, in the same write as the records (a process killed a moment later loses neither):
      // the job's output count must match what sinks show. Source input figures wait for the next flush.
      sinkOutput: (_w, taskId, at, count, latency) => {
        this.sinkOut.push(taskId, at, count, latency);
        this.flush();
      },
      sourceInput: (_w, at, count) => {
        this.sourceIn.push(at, count);
        this.schedule();
      },
      taskEvent: (_w, event) => {
        this.flush();
        rpc.notify('taskEvent', event);
      },
    };
  }

  private schedule(): void {
    if (this.flushTimer !== null) return;
    this.flushTimer = setTimeout(() => this.flush(), FLUSH_MS);
  }

  /** Sends the batched figures now (before anything whose order relative to them matters). */
  private flush(): void {
    if (this.flushTimer !== null) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    if (this.sinkOut.length === 0 && this.sourceIn.length === 0) return;
    this.o.rpc.notify('figures-stream', { sinkOut: this.sinkOut, sourceIn: this.sourceIn });
    this.sinkOut = [];
    this.sourceIn = [];
  }
}
