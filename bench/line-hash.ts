/** The line hash both peers' sinks compute (`Recorder.lineHash` in the Java peer): one record, one number. */

/**
 * A 52-bit hash of a line, exact in a double: FNV-1a (32 bits) over its UTF-16 units, then the top 20 bits of
 * FNV-1a from another offset basis. Equal lines hash equally; two lines that collide only hide a
 * difference between them, at about one chance in 10^15 per pair.
 */
export function lineHash(line: string): number {
  let h1 = 0x811c9dc5;
  let h2 = 0x5bd1e995;
  for (let i = 0; i < line.length; i++) {
    const unit = line.charCodeAt(i);
    h1 = Math.imul(h1 ^ unit, 0x01000193);
    h2 = Math.imul(h2 ^ unit, 0x01000193);
  }
  return (h1 >>> 0) * 1048576 + ((h2 >>> 12) & 0xfffff);
}
