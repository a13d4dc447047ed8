/**
 * `causalflow/determinants`: a stand-alone determinant log for causal logging.
 *
 * Record nondeterministic events ({@link DeterminantLog}), ship the bytes each consumer has not seen
 * ({@link DeltaShipper}), keep copies downstream ({@link ReplicaStore}), and replay them in recovery
 * ({@link ReplayReader}). {@link DeterminantStore} persists logs in lmdb. The byte format of every
 * kind is in `docs/determinants.md`. This module imports nothing from the causalflow runtime.
 *
 * @packageDocumentation
 */
export { Kind, KindRegistry, USER_KIND_MIN, USER_KIND_MAX, COMPACT_ORDER_MAX_CHANNEL, COMPACT_ORDER_MAX_COUNT, isDriverKind, kindName } from './kinds.js';
export type { BuiltinKind, KindCodec, UserKind } from './kinds.js';
export { DeterminantLog, EpochBytes } from './log.js';
export type { DeterminantLogOptions, EpochLogView, SpillTarget } from './log.js';
export { EntryDecoder, decodeEpoch, validEpochPrefix } from './codec.js';
export type { Determinant } from './codec.js';
export { EnvelopeWriter, readEnvelope, decodeEnvelope, encodeEnvelope, ENVELOPE_VERSION } from './envelope.js';
export type { EnvelopeSlice, SliceVisitor } from './envelope.js';
export { DeltaShipper } from './shipper.js';
export type { DeltaShipperOptions } from './shipper.js';
export { ReplicaStore, LogReplica, longestCopy } from './replica.js';
export type { EpochSegment, ReplicaStoreOptions } from './replica.js';
export { ReplayReader } from './replay.js';
export { DeterminantStore } from './store.js';
export type { DeterminantStoreOptions } from './store.js';
export {
  SEGMENT_VERSION,
  LOG_FILE_VERSION,
  encodeSegment,
  decodeSegment,
  encodeLogFile,
  decodeLogFile,
  isLogFile,
  joinSegments,
} from './segment.js';
export type { PersistedSegment } from './segment.js';
export { inspectLog, formatEntry, entryToJson } from './inspect.js';
export type { InspectedEntry } from './inspect.js';
export { GrowableBytes, ByteReader, writeVarint, varintSize, zigzag, unzigzag } from './bytes.js';
export { checksum64, hash32 } from './checksum.js';
export {
  CausalflowError,
  LogCorruptionError,
  UnsupportedVersionError,
  DeterminantMismatchError,
  LogDivergenceError,
  LogGapError,
  InvalidArgumentError,
} from './errors.js';
export type { ErrorContext } from './errors.js';
