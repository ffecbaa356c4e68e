/** Local scrape targets for tests: plain or https (self-signed, made with openssl), with optional basic auth and faults. */
import { execFileSync } from 'node:child_process';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { tempDirSync } from './tmp.js';

/** A body of `series` series of one metric (plus HELP/TYPE), each a distinct label value. */
export function metricsBody(series: number, name = 'demo_metric'): string {
  const lines = [`# HELP ${name} A demo metric.`, `# TYPE ${name} gauge`];
  for (let i = 0; i < series; i++) lines.push(`${name}{series_id="${i}"} ${i % 97}`);
  return lines.join('\n') + '\n';
}

export interface TestTarget {
  address: string;
  port: number;
  hits: number;
  server: Server;
  close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export async function startTarget(handler: Handler | string, tls?: { cert: string; key: string }): Promise<TestTarget> {
  const h: Handler = typeof handler === 'string'
    ? (_req, res) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(handler)
    : handler;
  const t = { hits: 0 } as TestTarget;
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    t.hits++;
    h(req, res);
  };
  const server = tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, listener) : createHttpServer(listener);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.server = server;
  t.port = (server.address() as { port: number }).port;
  t.address = `127.0.0.1:${t.port}`;
  t.close = async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  };
  return t;
}

/** A self-signed certificate for 127.0.0.1 / localhost; caFile is the certificate itself. */
export function selfSignedCert(): { cert: string; key: string; caFile: string; dir: string } {
  const dir = tempDirSync('kvass-tls-');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
  ], { stdio: 'ignore' });
  return { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8'), caFile: join(dir, 'cert.pem'), dir };
}
