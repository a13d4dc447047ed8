/**
 * The logical graph a job builds: nodes with their input edges, unique names, and parallelism
 * defaults. Shared by the job and its streams.
 */
import type { Sink } from '../connectors/sink.js';
import type { Source } from '../connectors/source.js';
import { ConfigError } from '../errors.js';
import type { LogicalEdge, LogicalNode, WatermarkStrategy } from '../runtime/plan.js';
import type { DataStream, OperatorOptions } from './stream.js';

/** The nodes of a job, in creation order (which is topological). */
export class JobGraph {
  /** Nodes by id. */
  readonly nodes: LogicalNode[] = [];
  private readonly counters = new Map<string, number>();

  constructor(private readonly parallelism: number) {}

  /** The job's default parallelism. */
  defaultParallelism(): number {
    return this.parallelism;
  }

  /** The parallelism an operator asked for, validated. */
  parallelismOf(kind: string, options: OperatorOptions): number {
    if (options === null || typeof options !== 'object') throw new ConfigError(`${kind}.options`, 'an object', options);
    const p = options.parallelism ?? this.parallelism;
    if (!Number.isInteger(p) || p < 1 || p > 4096) throw new ConfigError(`${options.name ?? kind}.parallelism`, 'an integer from 1 to 4096', p);
    return p;
  }

  /** `requested` if given (checked for uniqueness), else `kind-<n>`. */
  uniqueName(requested: string | undefined, kind: string): string {
    if (requested !== undefined) {
      if (typeof requested !== 'string' || requested.length === 0) throw new ConfigError(`${kind}.name`, 'a non-empty string', requested);
      if (this.nodes.some((n) => n.name === requested)) throw new ConfigError(`${kind}.name`, 'a name not used yet in this job', requested);
      return requested;
    }
    for (;;) {
      const n = (this.counters.get(kind) ?? 0) + 1;
      this.counters.set(kind, n);
      const name = `${kind}-${n}`;
      if (!this.nodes.some((node) => node.name === name)) return name;
    }
  }

  /** Adds a node; returns its id. */
  addNode(node: Omit<LogicalNode, 'id'>): number {
    const id = this.nodes.length;
    this.nodes.push({ ...node, id });
    return id;
  }

  /** Adds a source node. */
  addSource(name: string | undefined, connector: Source<unknown>, parallelism: number, watermarks: WatermarkStrategy | null): number {
    return this.addNode({
      name: this.uniqueName(name, 'source'),
      parallelism,
      inputs: [],
      source: { connector, watermarks },
      twoInput: false,
      chainable: false,
      sink: false,
    });
  }

  /**
   * Adds a sink node fed by `stream`. Unnamed, it is named after its connector (`collect-1`, `file-1`):
   * a name of its own, so that `<name>[<subtask>]` targets its task whether or not it is chained.
   */
  addSink(stream: DataStream<any>, connector: Sink<unknown>, options: OperatorOptions): void {
    const parallelism = this.parallelismOf('sink', options);
    const input: LogicalEdge = stream.edgeTo(parallelism, 0);
    const kind = typeof connector.name === 'string' && /^[\w.-]{1,60}$/.test(connector.name) ? connector.name : 'sink';
    this.addNode({
      name: this.uniqueName(options.name, kind),
      parallelism,
      inputs: [input],
      twoInput: false,
      chainable: true,
      sink: true,
      sinkConnector: connector,
    });
  }
}
