/**
 * Every kvass server is made here, so that all of them parse requests, authenticate and fail the same way:
 * - the request target is parsed once (request.ts: origin-form only, 400 otherwise);
 * - the route's access level is checked (auth.ts; 401 with the reason);
 * - an exception or rejection in a handler answers 500 (or cuts a response already begun) and is logged: no
 *   request can end the process; request and response stream errors are absorbed;
 * - `--web.config.file` turns on TLS (certificates reloaded when the file or they change), basic auth and extra
 *   response headers, as Prometheus's web config does.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../logger.js';
import { Authenticator, type Access, type AuthOptions } from './auth.js';
import { HttpError, parseTarget, type RequestTarget } from './request.js';
import { apiError } from './respond.js';
import { clientCertProblem, tlsServerOptions } from './web-config.js';

/** How long an idle keep-alive connection is kept: longer than Go's clients keep one idle (5 minutes). */
const KEEP_ALIVE_IDLE_MS = 310_000;

export type Handler = (req: IncomingMessage, res: ServerResponse, target: RequestTarget) => void | Promise<void>;

export interface KvassServerOptions extends AuthOptions {
  /** For logs: "sidecar API", "front door". */
  name: string;
  log: Logger;
  /** The access level of a route (auth.ts). */
  access: (method: string, path: string) => Access;
  handler: Handler;
}

export interface KvassServer {
  server: Server;
  auth: Authenticator;
  /** Stops watching the web config. */
  close(): void;
}

/** Answers an error that happened before or in a handler. */
export function answerError(res: ServerResponse, e: unknown, log: Logger, name: string, path: string): void {
  const status = e instanceof HttpError ? e.status : 500;
  if (status >= 500) log.error({ server: name, path, err: (e as Error).message }, 'request failed');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const errorType = e instanceof HttpError ? e.errorType : 'internal';
  apiError(res, status, errorType, (e as Error).message);
}

export async function createKvassServer(o: KvassServerOptions): Promise<KvassServer> {
  const auth = new Authenticator(o);
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    let path = '?';
    void (async () => {
      const target = parseTarget(req);
      path = target.path;
      for (const [k, v] of Object.entries(o.webConfig?.current().headers ?? {})) res.setHeader(k, v);
      const why = await auth.check(req, o.access(req.method ?? 'GET', target.path));
      if (why !== undefined) {
        req.resume();
        apiError(res, 401, 'unauthorized', why, auth.challenge());
        return;
      }
      await o.handler(req, res, target);
    })().catch((e: unknown) => answerError(res, e, o.log, o.name, path));
  };
  const web = o.webConfig?.current();
  let server: Server;
  let timer: NodeJS.Timeout | undefined;
  if (web?.tls) {
    const tls = web.tls;
    const https = createHttpsServer(await tlsServerOptions(tls), listener);
    // Before the HTTP parser sees the socket: a TLS 1.3 client's first request arrives with its certificate.
    https.prependListener('secureConnection', (socket: TLSSocket) => {
      const problem = clientCertProblem(socket, o.webConfig?.current().tls?.clientAuthType ?? tls.clientAuthType);
      if (problem) {
        o.log.debug({ server: o.name, problem }, 'TLS client refused');
        socket.destroy();
      }
    });
    // Certificates follow the web config (a renewed certificate needs no restart).
    let seen = web;
    timer = setInterval(() => {
      const now = o.webConfig?.current();
      if (!now?.tls || now === seen) return;
      seen = now;
      tlsServerOptions(now.tls).then((opts) => https.setSecureContext(opts), (e: Error) => o.log.error({ server: o.name, err: e.message }, 'cannot load the new TLS certificates; the old ones stay'));
    }, 5000);
    timer.unref();
    server = https as unknown as Server;
  } else {
    server = createHttpServer(listener);
  }
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (socket.writable && !socket.destroyed) socket.end(`HTTP/1.1 ${err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    else socket.destroy();
  });
  server.headersTimeout = 30_000;
  server.requestTimeout = 300_000;
  // An idle keep-alive connection is closed by its client first. Go clients (Prometheus's remote read into the
  // store gateway, Grafana) keep idle connections for up to 5 minutes and do not resend a POST that meets a closing
  // connection: with Node's 5 s default, a remote read sent as the server closed the connection was reset, and the
  // querier answered without those series (a warning, an incomplete result). Prometheus's own server keeps idle
  // connections as long as its read timeout, 5 minutes. (So a shutdown calls closeAllConnections() with close():
  // close() alone waits for connections in use to go idle and time out.)
  server.keepAliveTimeout = KEEP_ALIVE_IDLE_MS;
  return { server, auth, close: () => clearInterval(timer) };
}
