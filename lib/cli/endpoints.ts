/**
 * The `--metrics-port`, `--dashboard` and `--bind` options of `run` and `demo`: what they ask of the job,
 * and the lines that announce where the endpoints listen, with their token.
 */
import type { Command } from 'commander';
import type { JobOptions } from '../config.js';
import type { JobHandle } from '../api/job.js';
import { nonNegativeInteger } from './args.js';

/** The parsed endpoint options of a command. */
export interface EndpointFlags {
  metricsPort?: number;
  dashboard?: boolean | number;
  bind?: string;
}

/** Adds the endpoint options to `command`. */
export function addEndpointOptions(command: Command): Command {
  return command
    .option('--metrics-port <port>', 'serve Prometheus metrics at http://127.0.0.1:<port>/metrics (0: any free port); requests need the printed token', nonNegativeInteger)
    .option('--dashboard [port]', 'serve the live dashboard (default: any free port); prints its address with the token, opens nothing', (value: string) => nonNegativeInteger(value))
    .option('--bind <address>', 'address the metrics and dashboard endpoints bind to (default 127.0.0.1; anything else exposes them beyond this machine)')
    .option('--endpoint-token <token>', 'the token the endpoints require (default: a new random one; or set CAUSALFLOW_ENDPOINT_TOKEN)');
}

/** The run options the flags ask for (none when neither endpoint is asked for). */
export function endpointRunOptions(flags: EndpointFlags & { endpointToken?: string }, afterEnd: 'close' | 'keep' = 'close'): Pick<JobOptions, 'metrics' | 'dashboard' | 'endpointToken' | 'endpointsAfterEnd'> | undefined {
  if (flags.metricsPort === undefined && flags.dashboard === undefined) return undefined;
  const host = flags.bind ?? '127.0.0.1';
  const token = flags.endpointToken ?? process.env.CAUSALFLOW_ENDPOINT_TOKEN;
  return {
    ...(flags.metricsPort !== undefined ? { metrics: { port: flags.metricsPort, host } } : {}),
    ...(flags.dashboard !== undefined ? { dashboard: { port: typeof flags.dashboard === 'number' ? flags.dashboard : 0, host } } : {}),
    ...(token ? { endpointToken: token } : {}),
    endpointsAfterEnd: afterEnd,
  };
}

/** Lines announcing where the handle's endpoints listen. */
export function describeEndpoints(handle: JobHandle): string[] {
  const { metrics, dashboard, token } = handle.endpoints;
  const lines: string[] = [];
  if (dashboard) lines.push(`dashboard: ${dashboard}`);
  if (metrics) lines.push(`metrics:   ${metrics}  (send "Authorization: Bearer ${token}")`);
  return lines;
}
