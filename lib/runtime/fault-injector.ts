/**
 * Fault injection: kills named tasks or workers now, after some job-clock time, or after a task's next N
 * input elements. What a kill does is the host's business: in the embedded runtime the tasks die in their
 * worker; with worker processes the process holding them is SIGKILLed, and with it every task it held.
 *
 * Targets: a task id, a task name, `<operator>[<subtask>]` for any operator chained into a task (stable
 * whatever the chaining), or `worker-N` with worker processes. Targets given together, or at the same
 * `afterMs`, die in one instant: one failure group, recovered together.
 */
import { ConfigError } from '../errors.js';
import type { JobEventDetails, JobEventType } from './events.js';
import type { LogicalNode, PhysicalPlan, TaskPlan } from './plan.js';

/** When to kill (fault injection). */
export interface KillSchedule {
  /** Kill once the job has run this long (ms). */
  afterMs?: number;
  /** Kill once the task has processed this many more input elements (mid-batch if need be). */
  afterRecords?: number;
}

/** Tasks and workers named by a fault. */
export interface FaultTargets {
  tasks: number[];
  workers: number[];
}

/** What the injector acts through. */
export interface FaultHost {
  readonly plan: PhysicalPlan;
  readonly nodes: readonly LogicalNode[];
  /** Worker processes (0: the embedded runtime, where `worker-N` names nothing). */
  readonly workerProcesses: number;
  clock(): number;
  /** Runs `action` at job-clock `at` (actions of one time run together). */
  deadline(at: number, action: () => void): void;
  event<K extends JobEventType>(type: K, details: JobEventDetails[K]): void;
  /** Whether the job ended (kills are then moot). */
  ended(): boolean;
  /** Kills these targets now, in one instant. */
  killNow(targets: FaultTargets): void;
  /** Kills `taskId` once it processed `records` more input elements. */
  armKill(taskId: number, records: number): void;
}

/** Schedules and performs kills. */
export class FaultInjector {
  private readonly due = new Map<number, FaultTargets>();

  constructor(private readonly host: FaultHost) {}

  /** Kills `refs` now, or on `when`'s schedule. */
  kill(refs: string | number | readonly (string | number)[], when: KillSchedule = {}): void {
    const targets = this.checked(refs, when);
    if (when.afterRecords !== undefined) {
      const taskId = targets.tasks[0]!;
      this.host.armKill(taskId, when.afterRecords);
      this.host.event('kill-scheduled', { task: this.host.plan.tasks[taskId]!.name, afterRecords: when.afterRecords });
      return;
    }
    if (when.afterMs !== undefined && when.afterMs > 0) {
      this.killAt(this.host.clock() + when.afterMs, targets, when.afterMs);
      return;
    }
    this.host.killNow(targets);
  }

  /**
   * Throws the `ConfigError` that {@link schedule} would throw for `faults`, and arms nothing: a job checks its
   * faults before it starts anything (worker processes included) that a bad fault would leave behind.
   */
  check(faults: readonly ({ task: string | number | readonly (string | number)[] } & KillSchedule)[]): void {
    for (const fault of faults) this.checked(fault.task, fault);
  }

  /** The targets of a kill of `refs` on `when`'s schedule, or the `ConfigError` saying why there is none. */
  private checked(refs: string | number | readonly (string | number)[], when: KillSchedule): FaultTargets {
    const targets = this.resolve(refs);
    if (targets.tasks.length + targets.workers.length === 0) throw new ConfigError('kill.task', 'at least one task', refs);
    if (when.afterRecords !== undefined && (targets.tasks.length !== 1 || targets.workers.length > 0)) {
      throw new ConfigError('kill.afterRecords', 'one task (each task counts its own records; use afterMs to kill several at one moment)', refs);
    }
    return targets;
  }

  /** Faults of a job's start: `afterMs` counts from the job clock's 0 (the tasks' start). */
  schedule(faults: readonly ({ task: string | number | readonly (string | number)[] } & KillSchedule)[]): void {
    for (const fault of faults) {
      if (fault.afterMs !== undefined && fault.afterMs > 0 && fault.afterRecords === undefined) this.killAt(fault.afterMs, this.resolve(fault.task), fault.afterMs);
      else this.kill(fault.task, fault);
    }
  }

  /** Kills `targets` together at job-clock `at`; kills armed with the same `at` die in the same instant. */
  private killAt(at: number, targets: FaultTargets, afterMs: number): void {
    for (const id of targets.tasks) this.host.event('kill-scheduled', { task: this.host.plan.tasks[id]!.name, afterMs });
    for (const w of targets.workers) this.host.event('kill-scheduled', { task: `worker-${w}`, afterMs });
    const due = this.due.get(at);
    if (due) {
      due.tasks.push(...targets.tasks);
      due.workers.push(...targets.workers);
      return;
    }
    const group: FaultTargets = { tasks: [...targets.tasks], workers: [...targets.workers] };
    this.due.set(at, group);
    this.host.deadline(at, () => {
      this.due.delete(at);
      if (!this.host.ended()) this.host.killNow(group);
    });
  }

  /** The tasks and workers `refs` name. */
  resolve(refs: string | number | readonly (string | number)[]): FaultTargets {
    const targets: FaultTargets = { tasks: [], workers: [] };
    for (const ref of Array.isArray(refs) ? refs : [refs]) {
      const worker = typeof ref === 'string' ? /^worker-(\d+)$/.exec(ref) : null;
      if (worker && this.host.workerProcesses > 0) {
        const index = Number(worker[1]);
        if (index >= this.host.workerProcesses) throw new ConfigError('kill.task', `a worker from worker-0 to worker-${this.host.workerProcesses - 1}`, ref);
        targets.workers.push(index);
        continue;
      }
      targets.tasks.push(this.findTask(ref as string | number).id);
    }
    return targets;
  }

  /** A task by id, by name, or as `<operator>[<subtask>]` for any operator chained into it. */
  private findTask(ref: string | number): TaskPlan {
    const { plan, nodes } = this.host;
    let task = typeof ref === 'number' ? plan.tasks[ref] : plan.tasks.find((t) => t.name === ref);
    const match = typeof ref === 'string' && !task ? /^(.*)\[(\d+)\]$/.exec(ref) : null;
    if (match) {
      const vertex = plan.vertices.find((v) => v.nodes.some((id) => nodes[id]!.name === match[1]));
      if (vertex && Number(match[2]) < vertex.parallelism) task = plan.tasks[vertex.firstTask + Number(match[2])];
    }
    if (!task) {
      const workers = this.host.workerProcesses > 0 ? `, or worker-0 … worker-${this.host.workerProcesses - 1}` : '';
      throw new ConfigError('kill.task', `a task id or name (${plan.tasks.map((t) => t.name).join(', ')})${workers}`, ref);
    }
    return task;
  }
}
