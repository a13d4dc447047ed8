/**
 * Key hashing for hash partitioning. Deterministic across processes and runs (never identity- or
 * insertion-order-based), because a recovering task must route every record exactly as before.
 */

/** A 32-bit hash of a key (number, string, boolean, bigint, or an array of those). */
export function hashKey(key: unknown): number {
  if (typeof key === 'number') {
    if (Number.isInteger(key) && key >= -0x80000000 && key <= 0x7fffffff) return mix32(key | 0);
    if (Number.isInteger(key)) return mix32((key % 0x100000000) ^ Math.floor(key / 0x100000000));
    return hashString(String(key));
  }
  if (typeof key === 'string') return hashString(key);
  if (typeof key === 'boolean') return key ? 0x6b43a9b5 : 0x2f8f7a11;
  if (typeof key === 'bigint') return hashString(key.toString());
  if (Array.isArray(key)) {
    let h = 0x811c9dc5;
    for (const part of key) h = Math.imul(h ^ hashKey(part), 0x01000193);
    return mix32(h);
  }
  return hashString(JSON.stringify(key));
}

/** Murmur3's 32-bit finaliser: spreads consecutive integers over the whole range. */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a over UTF-16 code units, finalised. */
function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return mix32(h);
}

/** The channel (0..n-1) a key goes to. */
export function channelForKey(key: unknown, channels: number): number {
  return hashKey(key) % channels;
}
