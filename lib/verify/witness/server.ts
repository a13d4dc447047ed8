/**
 * The external service of the verifier's jobs: a real HTTP server (`node:http`, 127.0.0.1, a port the
 * system picks) that answers every call with a new value, as a real service would, and logs every
 * request with its answer. The witness checks each answer a record carries against this log.
 *
 * `GET /answer?id=<record identity>` with the header `x-witness-token: <token>` answers
 * `{"id": "<record identity>", "answer": <number>, "call": <n>}`. The answer is `call * 1000 + r`, with
 * `call` the server's count of answered requests (from 1) and `r` a fresh random number below 1000: no
 * two calls get the same answer, so an answer names the one request it was given to. A request without
 * the token (or with another one) is refused with 401 and logged apart; so is any other path (404).
 *
 * Only Node built-ins: this file belongs to the witness, which shares no code with the runtime.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes, randomInt } from 'node:crypto';
import type { AddressInfo } from 'node:net';

/** The header that carries the per-run token. */
export const TOKEN_HEADER = 'x-witness-token';

/** One answered request. */
export interface ServedCall {
  /** The server's count of answered requests, from 1. */
  call: number;
  /** The record identity the request asked about. */
  id: string;
  /** The answer given. */
  answer: number;
  /** Wall-clock ms when the request arrived. */
  at: number;
}

/** One refused request. */
export interface RefusedCall {
  /** HTTP status given (401 without the token, 404 for another path, 400 without an id). */
  status: number;
  /** The request's URL. */
  url: string;
  /** Wall-clock ms when the request arrived. */
  at: number;
}

/** Where the jobs reach the server, and the token to show it. */
export interface ServiceAddress {
  /** Base URL, `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** The token requests must carry in {@link TOKEN_HEADER}. */
  readonly token: string;
}

/** A running witness server. */
export class WitnessServer implements ServiceAddress {
  private readonly served: ServedCall[] = [];
  private readonly refusals: RefusedCall[] = [];

  private constructor(
    private readonly server: Server,
    /** Base URL, `http://127.0.0.1:<port>`. */
    readonly url: string,
    /** The token requests must carry in {@link TOKEN_HEADER}. */
    readonly token: string,
  ) {}

  /** Starts a server on 127.0.0.1 with a fresh random token. */
  static async start(): Promise<WitnessServer> {
    const token = randomBytes(16).toString('hex');
    let self: WitnessServer | null = null;
    const server = createServer((request, response) => self!.handle(request, response));
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    self = new WitnessServer(server, `http://127.0.0.1:${port}`, token);
    return self;
  }

  /** Every answered request so far, in the order the server answered them. */
  log(): readonly ServedCall[] {
    return this.served;
  }

  /** Every refused request so far. */
  refused(): readonly RefusedCall[] {
    return this.refusals;
  }

  /** Stops the server, closing kept-alive connections. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const at = Date.now();
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const refuse = (status: number, message: string): void => {
      this.refusals.push({ status, url: request.url ?? '', at });
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: message }));
    };
    if (request.headers[TOKEN_HEADER] !== this.token) return refuse(401, `missing or wrong ${TOKEN_HEADER}`);
    if (request.method !== 'GET' || url.pathname !== '/answer') return refuse(404, 'only GET /answer');
    const id = url.searchParams.get('id');
    if (id === null || id.length === 0) return refuse(400, 'no id');
    const call = this.served.length + 1;
    const answer = call * 1000 + randomInt(1000);
    this.served.push({ call, id, answer, at });
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id, answer, call }));
  }
}
