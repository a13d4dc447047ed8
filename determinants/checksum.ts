/**
 * xxhash64 checksums for everything shipped or persisted, and 32-bit ids derived from names.
 *
 * xxhash-wasm needs an asynchronous start; a top-level await does it once when the module loads,
 * so every other function here is synchronous.
 */
import xxhash from 'xxhash-wasm';

const hasher = await xxhash();

/** xxhash64 of `bytes` (seed 0). */
export function checksum64(bytes: Uint8Array): bigint {
  return hasher.h64Raw(bytes);
}

/** xxhash32 of a string's UTF-8 bytes; used for stable call ids and channel ids. */
export function hash32(text: string): number {
  return hasher.h32(text) >>> 0;
}
