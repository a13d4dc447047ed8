/**
 * The fluent stream API: `DataStream`, `KeyedStream`, `WindowedStream`, `ConnectedStreams` and the
 * windowed join builder. Every call adds a node to the job's logical graph; nothing runs until
 * `job.run()` or `job.start()`.
 */
import type { Sink } from '../connectors/sink.js';
import { CollectSink } from '../connectors/collect.js';
import { consoleSink } from '../connectors/console.js';
import { ConfigError } from '../errors.js';
import { FilterOperator, FlatMapOperator, MapOperator } from '../operators/basic.js';
import { WindowJoinOperator } from '../operators/join.js';
import { CoProcessOperator, KeyedProcessOperator } from '../operators/process.js';
import {
  WindowOperator,
  aggregateAggregation,
  processAggregation,
  reduceAggregation,
  type WindowAggregation,
  type WindowAssigner,
} from '../operators/window.js';
import type { Operator } from '../runtime/operator.js';
import type { LogicalEdge, Partitioning } from '../runtime/plan.js';
import type { StateKey } from '../state/api.js';
import type {
  AggregateFunction,
  Collector,
  CoProcessFunction,
  KeyedProcessContext,
  KeyedProcessFunction,
  ProcessFunction,
  Window,
} from '../operators/functions.js';
import type { JobGraph } from './graph.js';
import { isFactory, perSubtask, type PerSubtask } from './instances.js';

/** Per-operator options. */
export interface OperatorOptions {
  /** Name, unique in the job (default: kind and a number). */
  name?: string;
  /** Parallel instances (default: the job's parallelism). */
  parallelism?: number;
}

/** Options of process functions. */
export interface ProcessOptions extends OperatorOptions {
  /** The function returns promises (e.g. awaits `ctx.call`): the task waits for each record in turn. */
  async?: boolean;
}

function checkFunction(field: string, fn: unknown): void {
  if (typeof fn !== 'function') throw new ConfigError(field, 'a function', fn);
}

function checkProcessFunction(field: string, fn: unknown, methods: string[]): void {
  // A factory is checked on the instance it makes, once per subtask, when the task is built.
  if (isFactory(fn)) return;
  if (fn === null || typeof fn !== 'object') throw new ConfigError(field, `an object with ${methods.join(' and ')}, or a factory of one`, fn);
  for (const method of methods) checkFunction(`${field}.${method}`, (fn as Record<string, unknown>)[method]);
}

/** One instance of `fn` per subtask (see `instances.ts`), each checked like `fn` itself. */
function instancesOf<T extends object>(field: string, fn: PerSubtask<T>, methods: string[]): () => T {
  const make = perSubtask(fn);
  return () => {
    const instance = make();
    checkProcessFunction(field, instance, methods);
    return instance;
  };
}

/** A stream of records of type T. */
export class DataStream<T> {
  /** @internal */
  constructor(
    /** @internal */ readonly graph: JobGraph,
    /** @internal */ readonly nodeId: number,
    /** @internal How the next consumer is fed; undefined = forward if parallelism matches, else rebalance. */
    readonly partitioning?: { type: Partitioning; keyOf?: (record: any) => unknown },
  ) {}

  /** Parallelism of the operator producing this stream. */
  get parallelism(): number {
    return this.graph.nodes[this.nodeId]!.parallelism;
  }

  /** Applies `fn` to every record. */
  map<R>(fn: (value: T) => R, options: OperatorOptions = {}): DataStream<R> {
    checkFunction('map', fn);
    return this.oneInput('map', options, (name) => new MapOperator(name, fn));
  }

  /** Keeps records for which `predicate` is true (a type guard narrows the stream's type). */
  filter<S extends T>(predicate: (value: T) => value is S, options?: OperatorOptions): DataStream<S>;
  /** Keeps records for which `predicate` is true. */
  filter(predicate: (value: T) => boolean, options?: OperatorOptions): DataStream<T>;
  filter(predicate: (value: T) => boolean, options: OperatorOptions = {}): DataStream<T> {
    checkFunction('filter', predicate);
    return this.oneInput('filter', options, (name) => new FilterOperator(name, predicate));
  }

  /** Emits zero or more records per record. */
  flatMap<R>(fn: (value: T, out: Collector<R>) => void, options: OperatorOptions = {}): DataStream<R> {
    checkFunction('flatMap', fn);
    return this.oneInput('flatMap', options, (name) => new FlatMapOperator(name, fn));
  }

  /**
   * A process function with per-instance state, timers and causal services. Each subtask gets its own
   * copy of `fn` (or calls `fn` if it is a factory), so fields are per subtask, as in Flink.
   */
  process<R>(fn: PerSubtask<ProcessFunction<T, R>>, options: ProcessOptions = {}): DataStream<R> {
    checkProcessFunction('process', fn, ['processElement']);
    const make = instancesOf('process', fn, ['processElement']);
    return this.oneInput('process', options, (name) => new KeyedProcessOperator(name, () => 0, make() as KeyedProcessFunction<StateKey, T, R>, options.async === true), !options.async, options.async === true);
  }

  /** Partitions by key: records with equal keys go to the same instance of the next operator. */
  keyBy<K extends StateKey>(keyOf: (value: T) => K): KeyedStream<T, K> {
    checkFunction('keyBy', keyOf);
    return new KeyedStream<T, K>(this.graph, this.nodeId, keyOf);
  }

  /** Spreads records round-robin over the next operator's instances. */
  rebalance(): DataStream<T> {
    return new DataStream<T>(this.graph, this.nodeId, { type: 'rebalance' });
  }

  /** Sends every record to every instance of the next operator. */
  broadcast(): DataStream<T> {
    return new DataStream<T>(this.graph, this.nodeId, { type: 'broadcast' });
  }

  /** Sends records to the instance of the same index (parallelism must match). */
  forward(): DataStream<T> {
    return new DataStream<T>(this.graph, this.nodeId, { type: 'forward' });
  }

  /** Merges streams of the same type; options (`{ name, parallelism }`) may come last. */
  union(...others: DataStream<T>[] | [...DataStream<T>[], OperatorOptions]): DataStream<T> {
    const args = others as readonly (DataStream<T> | OperatorOptions)[];
    const last = args[args.length - 1];
    const hasOptions = last !== undefined && !(last instanceof DataStream);
    const options: OperatorOptions = hasOptions ? (last as OperatorOptions) : {};
    const inputs: DataStream<T>[] = [];
    for (const arg of hasOptions ? args.slice(0, -1) : args) {
      if (!(arg instanceof DataStream)) throw new ConfigError('union', 'streams, then optionally { name, parallelism } last', arg);
      inputs.push(arg);
    }
    for (const other of inputs) if (other.graph !== this.graph) throw new ConfigError('union', 'streams of the same job', 'a stream of another job');
    const parallelism = this.graph.parallelismOf('union', options);
    const streams = [this, ...inputs];
    const name = this.graph.uniqueName(options.name, 'union');
    const id = this.graph.addNode({
      name,
      parallelism,
      inputs: streams.map((s) => s.edgeTo(parallelism, 0)),
      createOperator: () => new MapOperator(name, (x: unknown) => x),
      twoInput: false,
      chainable: false,
      sink: false,
    });
    return new DataStream<T>(this.graph, id);
  }

  /** Pairs this stream with another for a two-input operator. */
  connect<U>(other: DataStream<U>): ConnectedStreams<T, U> {
    if (other.graph !== this.graph) throw new ConfigError('connect', 'a stream of the same job', 'a stream of another job');
    return new ConnectedStreams<T, U>(this, other);
  }

  /** Starts a windowed join with another stream. */
  join<U>(other: DataStream<U>): JoinBuilder<T, U> {
    if (other.graph !== this.graph) throw new ConfigError('join', 'a stream of the same job', 'a stream of another job');
    return new JoinBuilder<T, U>(this, other);
  }

  /** Writes the stream to a sink. */
  sink(sink: Sink<T>, options: OperatorOptions = {}): void {
    if (sink === null || typeof sink !== 'object' || typeof sink.open !== 'function') throw new ConfigError('sink', 'a Sink (an object with open())', sink);
    this.graph.addSink(this, sink, options);
  }

  /** Prints the stream to stdout, one JSON line per record (a console sink). */
  print(options: OperatorOptions = {}): void {
    this.sink(consoleSink<T>(), { name: options.name ?? this.graph.uniqueName(undefined, 'print'), parallelism: options.parallelism });
  }

  /** Writes the stream to a new collect sink and returns it, to read the output. */
  collect(options: OperatorOptions = {}): CollectSink<T> {
    const sink = new CollectSink<T>(options.name ?? 'collect');
    this.sink(sink, options);
    return sink;
  }

  /** @internal The edge from this stream into a consumer of `parallelism`, as logical input `input`. */
  edgeTo(parallelism: number, input: 0 | 1): LogicalEdge {
    const p = this.partitioning;
    if (p) return { from: this.nodeId, partitioning: p.type, keyOf: p.keyOf, input };
    return { from: this.nodeId, partitioning: parallelism === this.parallelism ? 'forward' : 'rebalance', input };
  }

  /** @internal Adds a one-input node fed by this stream. */
  oneInput<R>(kind: string, options: OperatorOptions, create: (name: string) => Operator, chainable = true, isAsync = false): DataStream<R> {
    const parallelism = this.graph.parallelismOf(kind, options);
    const name = this.graph.uniqueName(options.name, kind);
    const id = this.graph.addNode({
      name,
      parallelism,
      inputs: [this.edgeTo(parallelism, 0)],
      createOperator: () => create(name),
      twoInput: false,
      chainable,
      async: isAsync,
      sink: false,
    });
    return new DataStream<R>(this.graph, id);
  }
}

/** A stream partitioned by key. */
export class KeyedStream<T, K extends StateKey> extends DataStream<T> {
  /** @internal */
  constructor(
    graph: JobGraph,
    nodeId: number,
    /** The key selector. */
    readonly keyOf: (value: T) => K,
  ) {
    super(graph, nodeId, { type: 'hash', keyOf });
  }

  /** A keyed process function: keyed state and timers per key; one copy of `fn` per subtask (see `DataStream.process`). */
  override process<R>(fn: PerSubtask<KeyedProcessFunction<K, T, R>>, options: ProcessOptions = {}): DataStream<R> {
    checkProcessFunction('process', fn, ['processElement']);
    const keyOf = this.keyOf;
    const make = instancesOf('process', fn, ['processElement']);
    return this.oneInput('process', options, (name) => new KeyedProcessOperator(name, keyOf, make(), options.async === true), !options.async, options.async === true);
  }

  /** Keeps a running reduction per key and emits it after every record. */
  reduce(fn: (a: T, b: T) => T, options: OperatorOptions = {}): DataStream<T> {
    checkFunction('reduce', fn);
    return this.process<T>(
      {
        processElement(value: T, ctx: KeyedProcessContext<K, T>) {
          const state = ctx.state.value<T>('reduce');
          const current = state.value();
          const next = current === undefined ? value : fn(current, value);
          state.update(next);
          ctx.emit(next);
        },
      },
      { ...options, name: options.name ?? this.graph.uniqueName(undefined, 'reduce') },
    );
  }

  /** Groups records of each key into windows. */
  window(assigner: WindowAssigner): WindowedStream<T, K> {
    if (assigner === null || typeof assigner !== 'object' || !('type' in assigner)) throw new ConfigError('window', 'a window assigner (tumbling, sliding or session)', assigner);
    return new WindowedStream<T, K>(this, assigner);
  }
}

/** A keyed stream grouped into windows. */
export class WindowedStream<T, K extends StateKey> {
  /** @internal */
  constructor(
    private readonly keyed: KeyedStream<T, K>,
    private readonly assigner: WindowAssigner,
  ) {}

  /** Reduces each window's records to one; emits it when the window fires. */
  reduce(fn: (a: T, b: T) => T, options: OperatorOptions = {}): DataStream<T> {
    checkFunction('reduce', fn);
    return this.build('window-reduce', options, reduceAggregation(fn));
  }

  /** Aggregates each window incrementally; emits `project(key, window, result)` (or the result) when it fires. */
  aggregate<A, R, O = R>(fn: AggregateFunction<T, A, R>, project?: (key: K, window: Window, result: R) => O, options: OperatorOptions = {}): DataStream<O> {
    checkProcessFunction('aggregate', fn, ['create', 'add', 'result']);
    if (project !== undefined) checkFunction('aggregate.project', project);
    return this.build('window-aggregate', options, aggregateAggregation(fn, project as (key: unknown, window: Window, result: unknown) => unknown));
  }

  /** Hands each window's records, whole, to `fn` when it fires; emits what it returns (arrays element by element). */
  process<R>(fn: (key: K, window: Window, values: T[]) => R | R[], options: OperatorOptions = {}): DataStream<R> {
    checkFunction('window.process', fn);
    return this.build('window-process', options, processAggregation(fn as (key: unknown, window: Window, values: unknown[]) => unknown), true);
  }

  private build<R>(kind: string, options: OperatorOptions, aggregation: WindowAggregation<any>, flatten = false): DataStream<R> {
    const { keyOf } = this.keyed;
    const assigner = this.assigner;
    return this.keyed.oneInput<R>(kind, options, (name) => new WindowOperator(name, keyOf, assigner, aggregation, flatten));
  }
}

/** Two streams feeding one two-input operator. */
export class ConnectedStreams<A, B> {
  /** @internal */
  constructor(
    private readonly first: DataStream<A>,
    private readonly second: DataStream<B>,
  ) {}

  /** Partitions both streams by key (keys must be comparable across the two). */
  keyBy<K extends StateKey>(keyOfFirst: (value: A) => K, keyOfSecond: (value: B) => K): KeyedConnectedStreams<A, B, K> {
    checkFunction('connect.keyBy(first)', keyOfFirst);
    checkFunction('connect.keyBy(second)', keyOfSecond);
    return new KeyedConnectedStreams(this.first.keyBy(keyOfFirst), this.second.keyBy(keyOfSecond));
  }

  /** A two-input process function without keys (state is per instance); one copy of `fn` per subtask. */
  process<R>(fn: PerSubtask<CoProcessFunction<A, B, R>>, options: OperatorOptions = {}): DataStream<R> {
    checkProcessFunction('process', fn, ['processElement1', 'processElement2']);
    const make = instancesOf('process', fn, ['processElement1', 'processElement2']);
    return twoInput(this.first, this.second, 'co-process', options, (name) => new CoProcessOperator(name, () => 0, () => 0, make()));
  }
}

/** Two keyed streams feeding one two-input operator with shared keyed state. */
export class KeyedConnectedStreams<A, B, K extends StateKey> {
  /** @internal */
  constructor(
    private readonly first: KeyedStream<A, K>,
    private readonly second: KeyedStream<B, K>,
  ) {}

  /** A keyed two-input process function; one copy of `fn` per subtask. */
  process<R>(fn: PerSubtask<CoProcessFunction<A, B, R>>, options: OperatorOptions = {}): DataStream<R> {
    checkProcessFunction('process', fn, ['processElement1', 'processElement2']);
    const k1 = this.first.keyOf;
    const k2 = this.second.keyOf;
    const make = instancesOf('process', fn, ['processElement1', 'processElement2']);
    return twoInput(this.first, this.second, 'co-process', options, (name) => new CoProcessOperator(name, k1, k2, make()));
  }
}

/** Builds a windowed join: `a.join(b).where(ka).equalTo(kb).window(w).apply(fn)`. */
export class JoinBuilder<A, B> {
  private keyOfA?: (value: A) => StateKey;
  private keyOfB?: (value: B) => StateKey;
  private assigner?: WindowAssigner;

  /** @internal */
  constructor(
    private readonly first: DataStream<A>,
    private readonly second: DataStream<B>,
  ) {}

  /** Key of the first stream's records. */
  where(keyOf: (value: A) => StateKey): this {
    checkFunction('join.where', keyOf);
    this.keyOfA = keyOf;
    return this;
  }

  /** Key of the second stream's records. */
  equalTo(keyOf: (value: B) => StateKey): this {
    checkFunction('join.equalTo', keyOf);
    this.keyOfB = keyOf;
    return this;
  }

  /** The window pairs are formed in (tumbling or sliding). */
  window(assigner: WindowAssigner): this {
    this.assigner = assigner;
    return this;
  }

  /** Emits `fn(a, b, window)` for every pair with equal keys in the same window (undefined results are skipped). */
  apply<R>(fn: (a: A, b: B, window: Window) => R | undefined, options: OperatorOptions = {}): DataStream<R> {
    checkFunction('join.apply', fn);
    if (!this.keyOfA) throw new ConfigError('join.where', 'a key selector for the first stream', undefined);
    if (!this.keyOfB) throw new ConfigError('join.equalTo', 'a key selector for the second stream', undefined);
    if (!this.assigner) throw new ConfigError('join.window', 'a window assigner', undefined);
    const { keyOfA, keyOfB, assigner } = this;
    return twoInput(this.first.keyBy(keyOfA), this.second.keyBy(keyOfB), 'join', options, (name) => new WindowJoinOperator(name, keyOfA, keyOfB, assigner, fn));
  }
}

function twoInput<R>(first: DataStream<any>, second: DataStream<any>, kind: string, options: OperatorOptions, create: (name: string) => Operator): DataStream<R> {
  const graph = first.graph;
  const parallelism = graph.parallelismOf(kind, options);
  const name = graph.uniqueName(options.name, kind);
  const id = graph.addNode({
    name,
    parallelism,
    inputs: [first.edgeTo(parallelism, 0), second.edgeTo(parallelism, 1)],
    createOperator: () => create(name),
    twoInput: true,
    chainable: false,
    sink: false,
  });
  return new DataStream<R>(graph, id);
}
