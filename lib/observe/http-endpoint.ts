/**
 * A small HTTP server for the job's endpoints (metrics, dashboard): bound to 127.0.0.1 unless another
 * address is given explicitly, and every request must carry the job's token, as
 * `Authorization: Bearer <token>` or `?token=<token>` (a browser's EventSource cannot set headers).
 * Tokens are compared in constant time. Request bodies are bounded and parsed as JSON with a typed
 * error, never trusted.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../errors.js';

/** The largest request body an endpoint reads (a kill request is a few dozen bytes). */
const MAX_BODY_BYTES = 4096;

/** A request handler: returns false when it has no route for the request. */
export type Route = (request: IncomingMessage, response: ServerResponse, url: URL) => boolean | Promise<boolean>;

/** Where an endpoint listens. */
export interface EndpointOptions {
  /** Port (0: any free one). */
  port: number;
  /** Address to bind; default 127.0.0.1. Anything else must be asked for. */
  host?: string;
  /** The token every request must carry. */
  token: string;
  /** What the endpoint is, for errors (`metrics`, `dashboard`). */
  name?: string;
}

/** A new random token (32 hex characters). */
export function newToken(): string {
  return randomBytes(16).toString('hex');
}

/** Whether `request` carries `token`, in its Authorization header or its `token` query parameter. */
export function carriesToken(request: IncomingMessage, url: URL, token: string): boolean {
  const header = request.headers.authorization;
  const given = header?.startsWith('Bearer ') ? header.slice(7).trim() : url.searchParams.get('token');
  if (given === null || given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A listening endpoint. */
export class HttpEndpoint {
  private constructor(
    private readonly server: Server,
    /** The address it listens on, e.g. `http://127.0.0.1:9464`. */
    readonly origin: string,
  ) {}

  /** Starts listening; every request must carry `options.token`, then goes to the first route that takes it. */
  static async listen(options: EndpointOptions, routes: readonly Route[]): Promise<HttpEndpoint> {
    if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) throw new ConfigError('port', 'an integer from 0 to 65535', options.port);
    if (typeof options.token !== 'string' || options.token.length < 16) throw new ConfigError('token', 'a string of at least 16 characters', options.token);
    const host = options.host ?? '127.0.0.1';
    const server = createServer((request, response) => void handle(request, response));
    const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
      const url = new URL(request.url ?? '/', 'http://endpoint');
      try {
        if (!carriesToken(request, url, options.token)) {
          response.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer' });
          response.end('401: this endpoint needs the token printed with its address (Authorization: Bearer <token>, or ?token=<token>)\n');
          return;
        }
        for (const route of routes) if (await route(request, response, url)) return;
        response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
        response.end(`404: no ${request.method} ${url.pathname}\n`);
      } catch (error) {
        if (!response.headersSent) response.writeHead(error instanceof RequestError ? error.status : 500, { 'content-type': 'text/plain; charset=utf-8' });
        response.end(`${error instanceof RequestError ? error.status : 500}: ${error instanceof Error ? error.message : String(error)}\n`);
      }
    };
    const field = `${options.name ?? 'endpoint'}.port`;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => {
        // A port in use or an address this host does not have is a configuration problem, said in one line.
        if (error.code === 'EADDRINUSE') reject(new ConfigError(field, `a free port on ${host}`, options.port));
        else if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND') reject(new ConfigError(`${options.name ?? 'endpoint'}.host`, 'an address of this host', host));
        else if (error.code === 'EACCES') reject(new ConfigError(field, 'a port this user may bind', options.port));
        else reject(error);
      });
      server.listen(options.port, host, () => resolve());
    });
    const address = server.address() as AddressInfo;
    const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return new HttpEndpoint(server, `http://${shown}:${address.port}`);
  }

  /** The port it listens on. */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Stops listening and closes open connections (live-update streams included). */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

/** A request the endpoint refuses, with its HTTP status. */
export class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Reads a JSON body of at most {@link MAX_BODY_BYTES}; a longer or malformed one is a 413 or 400. */
export async function readJsonBody(request: IncomingMessage): Promise<unknown> {
  const declared = Number(request.headers['content-length'] ?? NaN);
  if (declared > MAX_BODY_BYTES) throw new RequestError(413, `a body of at most ${MAX_BODY_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of request) {
    length += (chunk as Buffer).length;
    if (length > MAX_BODY_BYTES) throw new RequestError(413, `a body of at most ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new RequestError(400, 'a JSON body');
  }
}

/** Sends `value` as JSON. */
export function sendJson(response: ServerResponse, value: unknown, status = 200): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  response.end(JSON.stringify(value));
}
