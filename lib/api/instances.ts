/**
 * One function object per subtask, as Flink gives each parallel instance its own deserialised copy. A
 * process function written as a class (or an object literal) keeps state in its fields; were one object
 * shared by every subtask, subtasks would read and overwrite each other's fields.
 *
 * A copy has the same prototype and its own copies of the data in the original's own fields: primitives,
 * arrays, plain objects, `Map`, `Set`, `Date` and typed arrays, deeply. Fields holding anything else (a
 * class instance such as a client or a service, a function) are shared, which is what such fields are
 * for. Pass a factory (`() => new MyFunction(config)`) to decide for yourself.
 */

/** A function object, or a factory called once per subtask. */
export type PerSubtask<T extends object> = T | (() => T);

/** A factory of one instance per subtask: the factory itself, or copies of `fn`. */
export function perSubtask<T extends object>(fn: PerSubtask<T>): () => T {
  if (typeof fn === 'function') return fn as () => T;
  return () => copyOf(fn);
}

/** Whether `fn` is a factory (a function) rather than a function object. */
export function isFactory(fn: unknown): fn is () => object {
  return typeof fn === 'function';
}

function copyOf<T extends object>(original: T): T {
  const copy = Object.create(Object.getPrototypeOf(original)) as T;
  for (const key of Reflect.ownKeys(original)) {
    const descriptor = Object.getOwnPropertyDescriptor(original, key)!;
    if ('value' in descriptor) descriptor.value = cloneData(descriptor.value, new Map());
    Object.defineProperty(copy, key, descriptor);
  }
  return copy;
}

/** A deep copy of plain data; anything else is shared. */
function cloneData(value: unknown, seen: Map<object, unknown>): unknown {
  if (value === null || typeof value !== 'object') return value;
  const known = seen.get(value);
  if (known !== undefined) return known;
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    seen.set(value, out);
    for (const item of value) out.push(cloneData(item, seen));
    return out;
  }
  if (value instanceof Map) {
    const out = new Map();
    seen.set(value, out);
    for (const [k, v] of value) out.set(k, cloneData(v, seen));
    return out;
  }
  if (value instanceof Set) {
    const out = new Set();
    seen.set(value, out);
    for (const v of value) out.add(cloneData(v, seen));
    return out;
  }
  if (value instanceof Date) return new Date(value.getTime());
  if (ArrayBuffer.isView(value)) return (value as unknown as { slice(): unknown }).slice();
  if (Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string | symbol, unknown> = {};
    seen.set(value, out);
    for (const key of Reflect.ownKeys(value)) out[key] = cloneData((value as Record<string | symbol, unknown>)[key], seen);
    return out;
  }
  return value;
}
