/**
 * `kvass receive`: the remote-write router on its own (src/receive/router.ts), beside ingestors that run elsewhere
 * (Prometheus with --web.enable-remote-write-receiver, or Thanos receivers: the placement is Thanos's).
 * The write path is served as Prometheus's receiver is: open on the address chosen (loopback by default), with
 * --web.config.file for TLS and basic auth.
 */
import { once } from 'node:events';
import { resolve } from 'node:path';
import { Agent } from 'undici';
import type { AddressInfo } from 'node:net';
import { createLogger, type Logger } from '../logger.js';
import { parseDuration } from '../prom/duration.js';
import { createKvassServer } from '../http/server.js';
import { apiError, sendText } from '../http/respond.js';
import type { Access } from '../http/auth.js';
import { Router, RouterMetrics } from '../receive/router.js';
import { RingsFile, replicationProblem } from '../receive/rings-file.js';
import { Rings, parseHashrings } from '../receive/hashring.js';
import { LocalIngestors, RECEIVE_REPLICA_LABEL, type IngestorShard } from '../receive/local-ingestors.js';
import { UsageError, parseFlags, type FlagSpec, type FlagValues } from './flags.js';
import { parseListenAddress } from './sidecar.js';
import { WEB_SECURITY_FLAGS, serverSecurity } from './web.js';
import { waitForStop } from './signals.js';

/** The router's flags, shared with `kvass up`. */
export const RECEIVE_ROUTER_FLAGS: readonly FlagSpec[] = [
  { name: 'receive.hashrings-file', help: 'Hashrings in Thanos\'s JSON format: [{"hashring": NAME, "tenants": [...], "endpoints": ["host:port", ...]}]; watched and reloaded.' },
  { name: 'receive.hashrings-file-refresh-interval', help: 'Re-read the hashrings file at least this often (it is also re-read when it changes).', default: '5m', kind: 'duration' },
  { name: 'receive.replication-factor', help: 'Ingestors each series is written to; a write succeeds once every series reached a quorum of them (rf/2 + 1; 1 for rf 2, as Thanos).', default: '1', kind: 'int' },
  { name: 'receive.tenant-header', help: 'HTTP header naming the tenant of a write.', default: 'THANOS-TENANT' },
  { name: 'receive.default-tenant-id', help: 'Tenant of writes without the header.', default: 'default-tenant' },
  { name: 'receive.tenant-label-name', help: 'Label added to every received series with its tenant.', default: 'tenant_id' },
  { name: 'receive.forward-timeout', help: 'How long an ingestor may take to answer a forwarded write.', default: '5s', kind: 'duration' },
];

export const RECEIVE_FLAGS: readonly FlagSpec[] = [
  { name: 'receive.listen-address', help: 'Where the router answers remote write (POST /api/v1/receive and /api/v1/write), /metrics and health.', default: '127.0.0.1:19291' },
  ...RECEIVE_ROUTER_FLAGS,
  ...WEB_SECURITY_FLAGS,
  { name: 'log.level', help: 'Log level.', default: 'info', kind: 'enum', choices: ['debug', 'info', 'warn', 'error'] },
];

/** A remote-write body: Prometheus sends at most a few MiB (max_samples_per_send 500 by default). */
export const MAX_WRITE_BODY_BYTES = 32 << 20;

/** A ring endpoint's remote-write URL: `host:port` (http), or a base URL. */
function remoteWriteUrl(endpoint: string): string {
  return /^https?:\/\//.test(endpoint) ? `${endpoint.replace(/\/+$/, '')}/api/v1/write` : `http://${endpoint}/api/v1/write`;
}

function receiveAccess(_method: string, path: string): Access {
  if (path === '/-/healthy' || path === '/-/ready' || path === '/metrics') return 'open';
  return 'read';
}

export function routerOptionsFromFlags(f: FlagValues): { replicationFactor: number; tenantHeader: string; defaultTenant: string; tenantLabel: string; forwardTimeoutMs: number } {
  const rf = Number(f.get('receive.replication-factor'));
  if (!Number.isInteger(rf) || rf < 1) throw new UsageError(`--receive.replication-factor: ${f.get('receive.replication-factor')} is not a whole number of at least 1`);
  const tenantLabel = f.get('receive.tenant-label-name')!;
  if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(tenantLabel)) throw new UsageError(`--receive.tenant-label-name: ${JSON.stringify(tenantLabel)} is not a valid label name`);
  const tenantHeader = f.get('receive.tenant-header')!;
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(tenantHeader)) throw new UsageError(`--receive.tenant-header: ${JSON.stringify(tenantHeader)} is not an HTTP header name`);
  return { replicationFactor: rf, tenantHeader, defaultTenant: f.get('receive.default-tenant-id')!, tenantLabel, forwardTimeoutMs: parseDuration(f.get('receive.forward-timeout')!) };
}

export async function runReceive(argv: readonly string[]): Promise<number> {
  const f = parseFlags(argv, RECEIVE_FLAGS);
  const log = createLogger(f.get('log.level')!);
  const file = f.get('receive.hashrings-file');
  if (!file) throw new UsageError('--receive.hashrings-file is required: the rings name the ingestors');
  const opts = routerOptionsFromFlags(f);
  const metrics = new RouterMetrics();
  let rings: RingsFile;
  try {
    rings = await RingsFile.open(resolve(file), opts.replicationFactor, log, parseDuration(f.get('receive.hashrings-file-refresh-interval')!), (r) => metrics.setRings(r));
  } catch (e) {
    throw new UsageError(`--receive.hashrings-file: ${(e as Error).message}`);
  }
  const listen = f.get('receive.listen-address')!;
  const server = await startRouterServer(f, log, metrics, () => rings.current(), opts, remoteWriteUrl);
  log.info({ address: listen, hashrings: rings.current().configs.length, replicationFactor: opts.replicationFactor }, 'kvass receive running');
  const signal = await waitForStop();
  log.info({ signal }, 'stopping');
  rings.close();
  await server.stop();
  return 0;
}

type RouterFlags = ReturnType<typeof routerOptionsFromFlags>;

/** The router's server on --receive.listen-address: remote write, /metrics, health. */
async function startRouterServer(f: FlagValues, log: Logger, metrics: RouterMetrics, rings: () => Rings, opts: RouterFlags, endpointUrl: (ep: string) => string): Promise<{ url: string; stop(): Promise<void> }> {
  const dispatcher = new Agent({ keepAliveTimeout: 30_000, connections: 64 });
  const router = new Router({ ...opts, rings, endpointUrl, maxBodyBytes: MAX_WRITE_BODY_BYTES, dispatcher, metrics, log });
  const listen = f.get('receive.listen-address')!;
  const addr = parseListenAddress(listen, 'receive.listen-address');
  const security = await serverSecurity(f, log, [{ flag: 'receive.listen-address', host: addr.host }]);
  const api = await createKvassServer({
    name: 'receive router', log, ...security, access: receiveAccess,
    handler: async (req, res, target) => {
      if (router.handles(target)) return router.handle(req, res);
      if (target.path === '/-/healthy' || target.path === '/-/ready') return sendText(res, 200, 'kvass receive is ready.\n');
      if (target.path === '/metrics') {
        res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(await metrics.registry.metrics());
        return;
      }
      apiError(res, 404, 'not_found', `no such endpoint: ${req.method} ${target.path}`);
    },
  });
  api.server.listen(addr.port, addr.host);
  await once(api.server, 'listening');
  const a = api.server.address() as AddressInfo;
  const scheme = security.webConfig?.current().tls ? 'https' : 'http';
  return {
    url: `${scheme}://${a.address.includes(':') ? `[${a.address}]` : a.address === '0.0.0.0' ? '127.0.0.1' : a.address}:${a.port}`,
    async stop() {
      api.close();
      api.server.closeAllConnections();
      api.server.close();
      await dispatcher.close();
    },
  };
}

/**
 * `kvass up --receive.listen-address`: local ingestors, their rings (the hashrings file, whose endpoints may be
 * `ingestor-<i>`, or one soft ring over all of them) and the router; the global view reads the ingestors.
 */
export async function startLocalReceive(f: FlagValues, dataDir: string, log: Logger): Promise<{ url: string; ingestors: number; replicaLabel: string; shards(): IngestorShard[]; stop(): Promise<void> }> {
  const opts = routerOptionsFromFlags(f);
  const count = Number(f.get('receive.ingestors'));
  if (!Number.isInteger(count) || count < 1) throw new UsageError(`--receive.ingestors: ${f.get('receive.ingestors')} is not a whole number of at least 1`);
  const names = Array.from({ length: count }, (_, i) => `ingestor-${i}`);
  const metrics = new RouterMetrics();
  const file = f.get('receive.hashrings-file');
  let rings: () => Rings;
  let ringsFile: RingsFile | undefined;
  const onRings = (r: Rings): void => metrics.setRings(r);
  if (file) {
    try {
      ringsFile = await RingsFile.open(resolve(file), opts.replicationFactor, log, parseDuration(f.get('receive.hashrings-file-refresh-interval')!), onRings);
    } catch (e) {
      throw new UsageError(`--receive.hashrings-file: ${(e as Error).message}`);
    }
    rings = () => ringsFile!.current();
  } else {
    const soft = new Rings(parseHashrings(JSON.stringify([{ hashring: 'default', endpoints: names }]), '(all local ingestors)'));
    const problem = replicationProblem(soft, opts.replicationFactor);
    if (problem) throw new UsageError(`--receive.replication-factor: ${problem} (--receive.ingestors=${count})`);
    onRings(soft);
    rings = () => soft;
  }
  const ingestors = await LocalIngestors.start({ dataDir, count, log });
  let server: { url: string; stop(): Promise<void> };
  try {
    server = await startRouterServer(f, log, metrics, rings, opts, (ep) => ingestors.writeUrl(ep) ?? remoteWriteUrl(ep));
  } catch (e) {
    await ingestors.stop();
    throw e;
  }
  log.info({ address: server.url, ingestors: count, replicationFactor: opts.replicationFactor }, 'remote-write router running');
  return {
    url: server.url, ingestors: count, replicaLabel: RECEIVE_REPLICA_LABEL, shards: () => ingestors.readShards(opts.replicationFactor),
    async stop() {
      ringsFile?.close();
      await server.stop();
      await ingestors.stop();
    },
  };
}
