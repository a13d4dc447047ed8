/**
 * A peer process for the cross-process tests: connects to the port in argv[2] with the secret in argv[3],
 * sends heartbeats every 50 ms, and runs until killed or disconnected. It serves two RPC methods:
 * `echo` (returns its params) and `received` (what arrived on channel 0: batches, records, the sum of
 * the records' `key` fields, and the last sequence number end).
 */
import { ChannelMux, RpcPeer, connect } from '../../lib/transport/tcp/index.js';

const connection = await connect({ id: 'peer-process', secret: process.argv[3]!, port: Number(process.argv[2]), heartbeatIntervalMs: 50 });
const rpc = new RpcPeer(connection);
const mux = new ChannelMux(connection);
const input = mux.input({ index: 0, from: 0, to: 1 }, 1, { capacity: 8, batchSize: 256 });
const received = { batches: 0, records: 0, keySum: 0, seqEnd: 0 };
input.onReadable = () => {
  for (let batch = input.poll(); batch !== undefined; batch = input.poll()) {
    received.batches++;
    received.records += batch.count;
    for (let i = 0; i < batch.count; i++) received.keySum += (batch.records[i] as { key: number }).key;
    received.seqEnd = batch.seqEnd;
    input.release(batch);
  }
};
rpc.handle('echo', (params) => params);
rpc.handle('received', () => received);
connection.on('close', () => process.exit(0));
connection.start();
setInterval(() => {}, 1000);
