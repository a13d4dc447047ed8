/**
 * Starts a job's endpoints: the Prometheus metrics endpoint and the live dashboard, both over one
 * {@link JobObserver}, both token-protected and bound to loopback unless told otherwise.
 */
import type { ResolvedEndpoints } from '../config.js';
import { dashboardRoutes, metricsRoute, type DashboardControls } from './dashboard-server.js';
import { HttpEndpoint, newToken } from './http-endpoint.js';
import { JobObserver, type ObservedJob } from './job-observer.js';
import { jobRegistry } from './prometheus.js';

/** Where a job's endpoints listen, and the token each request must carry. */
export interface JobEndpoints {
  /** The metrics address, e.g. `http://127.0.0.1:9464/metrics`, or null. */
  readonly metrics: string | null;
  /** The dashboard's address with its token, e.g. `http://127.0.0.1:8080/?token=…`, or null. */
  readonly dashboard: string | null;
  /** The token (send it as `Authorization: Bearer <token>` or `?token=`), or null without endpoints. */
  readonly token: string | null;
}

/** Running endpoints of a job. */
export class Observability {
  private constructor(
    /** The addresses. */
    readonly endpoints: JobEndpoints,
    /** What they read. */
    readonly observer: JobObserver,
    private readonly servers: HttpEndpoint[],
  ) {}

  /** Starts what `config` asks for over `job`; null when it asks for nothing. */
  static async start(job: ObservedJob & DashboardControls, config: ResolvedEndpoints): Promise<Observability | null> {
    if (!config.metrics && !config.dashboard) return null;
    const token = config.token ?? newToken();
    const observer = new JobObserver(job);
    const registry = jobRegistry(observer);
    const servers: HttpEndpoint[] = [];
    let metrics: string | null = null;
    let dashboard: string | null = null;
    try {
      if (config.metrics) {
        const server = await HttpEndpoint.listen({ ...config.metrics, token, name: 'metrics' }, [metricsRoute(registry)]);
        servers.push(server);
        metrics = `${server.origin}/metrics`;
      }
      if (config.dashboard) {
        const server = await HttpEndpoint.listen({ ...config.dashboard, token, name: 'dashboard' }, dashboardRoutes(observer, registry, job, token));
        servers.push(server);
        dashboard = `${server.origin}/?token=${token}`;
      }
    } catch (error) {
      for (const server of servers) await server.close();
      throw error;
    }
    observer.start();
    return new Observability({ metrics, dashboard, token }, observer, servers);
  }

  /** Stops sampling and closes the endpoints. */
  async close(): Promise<void> {
    this.observer.stop();
    for (const server of this.servers) await server.close();
    this.servers.length = 0;
  }
}
