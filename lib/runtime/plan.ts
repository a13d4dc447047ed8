/**
 * The logical job graph (what the API builds) and the physical plan (what the executor runs).
 *
 * Planning chains operators: a node joins its producer's task when the edge between them is
 * forward, both have the same parallelism, the node has that single input and the producer has that
 * single consumer. Each chain becomes a vertex; each vertex runs as `parallelism` tasks; each edge
 * becomes channels between the tasks of two vertices.
 */
import { ConfigError } from '../errors.js';
import type { Source } from '../connectors/source.js';
import type { Sink } from '../connectors/sink.js';
import type { Operator } from './operator.js';

/** How records travel along an edge. */
export type Partitioning = 'forward' | 'hash' | 'rebalance' | 'broadcast';

/** Event-time settings of a source. */
export interface WatermarkStrategy {
  /** Extracts the event timestamp (ms); default: the timestamp the source reader provides. */
  timestamp?: (record: any) => number;
  /** How far records may arrive out of order (ms); the watermark trails the largest timestamp by it. Default 0. */
  maxOutOfOrdernessMs?: number;
}

/** A node of the logical graph. */
export interface LogicalNode {
  /** Node id (its index in the graph). */
  readonly id: number;
  /** Unique name (operator names also key its state). */
  readonly name: string;
  /** Parallel instances. */
  parallelism: number;
  /** Input edges, in order. */
  readonly inputs: LogicalEdge[];
  /** Creates the operator for one subtask; absent for sources. */
  readonly createOperator?: (subtask: number) => Operator;
  /** For sources: the connector and its event-time settings. */
  readonly source?: { connector: Source<unknown>; watermarks: WatermarkStrategy | null };
  /** Whether this node has two logical inputs. */
  readonly twoInput: boolean;
  /** Whether the node may be chained after its producer (false for async operators). */
  readonly chainable: boolean;
  /** Whether the operator's function returns promises (an async process function: the task waits for each). */
  readonly async?: boolean;
  /** Whether this node is a sink. */
  readonly sink: boolean;
  /** For sinks: the connector (the executor creates the sink operator, whose mode depends on recovery). */
  readonly sinkConnector?: Sink<unknown>;
}

/** An edge of the logical graph. */
export interface LogicalEdge {
  /** Producer node id. */
  readonly from: number;
  /** How records are spread over the consumer's instances. */
  readonly partitioning: Partitioning;
  /** Key selector (hash partitioning). */
  readonly keyOf?: (record: any) => unknown;
  /** Which logical input of the consumer (0, or 1 for the second input of a two-input node). */
  readonly input: 0 | 1;
}

/** A chain of nodes run as one task per subtask. */
export interface Vertex {
  /** Vertex index. */
  readonly index: number;
  /** Name (the chain's node names joined by " -> "). */
  readonly name: string;
  /** Node ids, head first. */
  readonly nodes: readonly number[];
  /** Parallel instances. */
  readonly parallelism: number;
  /** Input edges (of the head), with their producer vertices. */
  readonly inputs: readonly VertexEdge[];
  /** Output edges (of the tail). */
  readonly outputs: readonly VertexEdge[];
  /** First task id of this vertex; subtask i is task `firstTask + i`. */
  readonly firstTask: number;
}

/** An edge between two vertices. */
export interface VertexEdge {
  /** Edge index in the plan. */
  readonly index: number;
  /** Producer vertex. */
  readonly from: number;
  /** Consumer vertex. */
  readonly to: number;
  /** The logical edge. */
  readonly edge: LogicalEdge;
  /** Channel indexes, `[producerSubtask][consumerSubtask]` (-1 where forward partitioning has none). */
  readonly channels: number[][];
}

/** A physical channel. */
export interface ChannelPlan {
  /** Channel index. */
  readonly index: number;
  /** Edge it belongs to. */
  readonly edge: number;
  /** Producer task id. */
  readonly from: number;
  /** Consumer task id. */
  readonly to: number;
  /** Position of this channel among the consumer's input channels. */
  readonly consumerInput: number;
  /** Logical input of the consumer it feeds. */
  readonly logicalInput: 0 | 1;
}

/** A physical task. */
export interface TaskPlan {
  /** Task id. */
  readonly id: number;
  /** Vertex. */
  readonly vertex: number;
  /** Subtask index. */
  readonly subtask: number;
  /** Display name: the chain head's name and the subtask, e.g. `window-1[2]`. */
  readonly name: string;
  /**
   * Every operator chained into the task. Each names the task as `<operator>[<subtask>]` too, so a
   * fault-injection target stays the same whatever the chaining.
   */
  readonly operators: readonly string[];
  /** Input channel indexes, in consumer-input order. */
  readonly inputs: readonly number[];
  /** Per output edge of the vertex: channel indexes in consumer-subtask order. */
  readonly outputs: readonly number[][];
}

/** The physical plan. */
export interface PhysicalPlan {
  /** Logical nodes by id. */
  readonly nodes: readonly LogicalNode[];
  /** Vertices in topological order (sources first). */
  readonly vertices: readonly Vertex[];
  /** Edges between vertices. */
  readonly edges: readonly VertexEdge[];
  /** Channels. */
  readonly channels: readonly ChannelPlan[];
  /** Tasks, by id. */
  readonly tasks: readonly TaskPlan[];
}

/** Builds the physical plan of a logical graph. */
export function buildPlan(nodes: readonly LogicalNode[]): PhysicalPlan {
  validateGraph(nodes);
  const consumers = new Map<number, { node: LogicalNode; edge: LogicalEdge }[]>();
  for (const node of nodes) {
    for (const edge of node.inputs) {
      if (!consumers.has(edge.from)) consumers.set(edge.from, []);
      consumers.get(edge.from)!.push({ node, edge });
    }
  }
  const chainedInto = new Map<number, number>();
  for (const node of nodes) {
    if (node.inputs.length !== 1 || !node.chainable || node.twoInput) continue;
    const edge = node.inputs[0]!;
    const producer = nodes[edge.from]!;
    if (edge.partitioning !== 'forward' || producer.parallelism !== node.parallelism || producer.sink) continue;
    chainedInto.set(node.id, producer.id);
  }
  // Heads are nodes not chained into a producer. A chain is a tree: an operator feeds every operator
  // chained into it directly (a source read by two filters keeps both in its task, and only what they
  // pass crosses a channel). Nodes are listed breadth first, so a producer comes before its consumers.
  const chains: number[][] = [];
  const vertexOf = new Map<number, number>();
  for (const node of topologicalOrder(nodes)) {
    if (chainedInto.has(node.id)) continue;
    const chain = [node.id];
    for (let i = 0; i < chain.length; i++) {
      for (const consumer of consumers.get(chain[i]!) ?? []) {
        if (chainedInto.get(consumer.node.id) === chain[i] && !chain.includes(consumer.node.id)) chain.push(consumer.node.id);
      }
    }
    for (const id of chain) vertexOf.set(id, chains.length);
    chains.push(chain);
  }
  let firstTask = 0;
  const vertices: Vertex[] = [];
  const edges: VertexEdge[] = [];
  const channels: ChannelPlan[] = [];
  const pendingOutputs: VertexEdge[][] = chains.map(() => []);
  const pendingInputs: VertexEdge[][] = chains.map(() => []);
  chains.forEach((chain, index) => {
    const head = nodes[chain[0]!]!;
    for (const edge of head.inputs) {
      const from = vertexOf.get(edge.from)!;
      const vertexEdge: VertexEdge = { index: edges.length, from, to: index, edge, channels: [] };
      edges.push(vertexEdge);
      pendingInputs[index]!.push(vertexEdge);
      pendingOutputs[from]!.push(vertexEdge);
    }
  });
  chains.forEach((chain, index) => {
    const head = nodes[chain[0]!]!;
    vertices.push({
      index,
      name: chain.map((id) => nodes[id]!.name).join(' -> '),
      nodes: chain,
      parallelism: head.parallelism,
      inputs: pendingInputs[index]!,
      outputs: pendingOutputs[index]!,
      firstTask,
    });
    firstTask += head.parallelism;
  });
  const tasks: TaskPlan[] = [];
  const inputsOf: number[][] = [];
  const outputsOf: number[][][] = [];
  for (const vertex of vertices) {
    for (let s = 0; s < vertex.parallelism; s++) {
      inputsOf[vertex.firstTask + s] = [];
      outputsOf[vertex.firstTask + s] = vertex.outputs.map(() => []);
    }
  }
  for (const vertexEdge of edges) {
    const producer = vertices[vertexEdge.from]!;
    const consumer = vertices[vertexEdge.to]!;
    const outputSlot = producer.outputs.indexOf(vertexEdge);
    for (let p = 0; p < producer.parallelism; p++) {
      const row: number[] = [];
      for (let c = 0; c < consumer.parallelism; c++) {
        if (vertexEdge.edge.partitioning === 'forward' && p !== c) {
          row.push(-1);
          continue;
        }
        const from = producer.firstTask + p;
        const to = consumer.firstTask + c;
        const channel: ChannelPlan = {
          index: channels.length,
          edge: vertexEdge.index,
          from,
          to,
          consumerInput: inputsOf[to]!.length,
          logicalInput: vertexEdge.edge.input,
        };
        channels.push(channel);
        inputsOf[to]!.push(channel.index);
        outputsOf[from]![outputSlot]!.push(channel.index);
        row.push(channel.index);
      }
      vertexEdge.channels.push(row);
    }
  }
  for (const vertex of vertices) {
    const shortName = nodes[vertex.nodes[0]!]!.name;
    for (let s = 0; s < vertex.parallelism; s++) {
      const id = vertex.firstTask + s;
      tasks.push({ id, vertex: vertex.index, subtask: s, name: `${shortName}[${s}]`, operators: vertex.nodes.map((n) => nodes[n]!.name), inputs: inputsOf[id]!, outputs: outputsOf[id]! });
    }
  }
  return { nodes, vertices, edges, channels, tasks };
}

function validateGraph(nodes: readonly LogicalNode[]): void {
  if (nodes.length === 0) throw new ConfigError('job', 'at least one source', 'an empty job');
  const names = new Set<string>();
  for (const node of nodes) {
    const field = `operators["${node.name}"]`;
    if (names.has(node.name)) throw new ConfigError(`${field}.name`, 'a name unique in the job', node.name);
    names.add(node.name);
    if (!Number.isInteger(node.parallelism) || node.parallelism < 1 || node.parallelism > 4096) {
      throw new ConfigError(`${field}.parallelism`, 'an integer from 1 to 4096', node.parallelism);
    }
    if (!node.source && node.inputs.length === 0) throw new ConfigError(`${field}.inputs`, 'at least one input', 'none');
    for (const edge of node.inputs) {
      const producer = nodes[edge.from]!;
      if (edge.partitioning === 'forward' && producer.parallelism !== node.parallelism) {
        throw new ConfigError(
          `${field}.partitioning`,
          `forward only between equal parallelism (${producer.name} has ${producer.parallelism})`,
          node.parallelism,
        );
      }
      if (edge.partitioning === 'hash' && typeof edge.keyOf !== 'function') throw new ConfigError(`${field}.keyBy`, 'a key selector function', edge.keyOf);
    }
  }
  const hasSink = nodes.some((n) => n.sink);
  if (!hasSink) throw new ConfigError('job', 'at least one sink (add .sink(...) or .collect())', 'none');
}

function topologicalOrder(nodes: readonly LogicalNode[]): LogicalNode[] {
  // Nodes are created by the builder after their inputs, so ids are already topological.
  return [...nodes].sort((a, b) => a.id - b.id);
}
