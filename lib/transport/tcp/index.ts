/**
 * The TCP transport: frames, handshake, connections, remote channels with credit, and RPC. See
 * `docs/transport.md` for the wire format and `lib/transport/README.md` for what lives where.
 */
export * from './errors.js';
export * from './log.js';
export * from './frame.js';
export * from './frame-decode.js';
export * from './frame-reader.js';
export * from './handshake.js';
export * from './connection.js';
export * from './server.js';
export * from './remote-channel.js';
export * from './rpc.js';
