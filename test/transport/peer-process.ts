/**
 * A peer process for the SIGSTOP test: connects to the port in argv[2] with the secret in argv[3], sends
 * heartbeats every 50 ms, and runs until killed.
 */
import { connect } from '../../lib/transport/tcp/index.js';

const connection = await connect({ id: 'stoppable', secret: process.argv[3]!, port: Number(process.argv[2]), heartbeatIntervalMs: 50 });
connection.start();
connection.on('close', () => process.exit(0));
setInterval(() => {}, 1000);
