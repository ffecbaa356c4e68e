/**
 * `kvass query`: the global view beside a coordinator that runs elsewhere (a Deployment next to the coordinator on
 * Kubernetes): store gateway, global querier and front door, with the shards read from the coordinator's
 * GET /api/v1/shards and its /api/v1/targets and /api/v1/shards passed through.
 */
import { once } from 'node:events';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { createLogger, type Logger } from '../logger.js';
import { parseDuration } from '../prom/duration.js';
import type { ReadShard } from '../query/gateway.js';
import { UsageError, parseFlags, type FlagSpec } from './flags.js';
import { QUERY_FLAGS, createGlobalView, readShardsOf } from './global-view.js';
import { parseListenAddress } from './sidecar.js';

export const QUERY_COMMAND_FLAGS: readonly FlagSpec[] = [
  { name: 'config.file', help: 'The Prometheus configuration (its rule_files, alerting, global and remote_write run in the querier).', required: true },
  { name: 'coordinator.url', help: 'Base URL of the kvass coordinator API.', required: true },
  { name: 'data-dir', help: 'Folder of the global querier (its TSDB holds recording-rule results).', required: true },
  { name: 'web.listen-address', help: 'Where the global view answers.', default: '127.0.0.1:9091' },
  { name: 'query.shards-refresh', help: 'How often the shard list is read from the coordinator.', default: '5s', kind: 'duration' },
  { name: 'shard.api-token-file', help: 'Bearer token for the sidecars\' API (and the coordinator\'s, when it has one).' },
  ...QUERY_FLAGS,
  { name: 'log.level', help: 'Log level.', default: 'info', kind: 'enum', choices: ['debug', 'info', 'warn', 'error'] },
];

interface ShardsBody {
  data?: { replicas?: Array<{ shards?: Array<{ id: string; url: string; ready: boolean }> }> };
}

/** Polls the coordinator's shard list; keeps the last good one when the coordinator does not answer. */
class CoordinatorShards {
  private list: ReadShard[] = [];
  private readonly seenReady = new Set<string>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly base: string, private readonly everyMs: number, private readonly log: Logger, private readonly token?: string) {}

  private refreshing = false;

  async refresh(): Promise<void> {
    if (this.refreshing) return; // a slow coordinator: no overlapping reads (an older list could land last)
    this.refreshing = true;
    try {
      const res = await fetch(`${this.base}/api/v1/shards`, { headers: this.token ? { authorization: `Bearer ${this.token}` } : {}, signal: AbortSignal.timeout(10_000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const body = (await res.json()) as ShardsBody;
      const reps = body.data?.replicas;
      if (!Array.isArray(reps)) throw new Error('no data.replicas in the answer');
      this.list = readShardsOf(reps.map((rep) => rep.shards ?? []), this.seenReady);
    } catch (e) {
      this.log.warn({ coordinator: this.base, err: (e as Error).message }, 'cannot read the shard list; keeping the last one');
    } finally {
      this.refreshing = false;
    }
  }

  start(): void {
    this.timer = setInterval(() => void this.refresh(), this.everyMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  get current(): ReadShard[] {
    return this.list;
  }
}

export async function runQuery(argv: readonly string[]): Promise<number> {
  const f = parseFlags(argv, QUERY_COMMAND_FLAGS);
  const log = createLogger(f.get('log.level')!);
  let coordinator: URL;
  try {
    coordinator = new URL(f.get('coordinator.url')!);
  } catch {
    throw new UsageError(`invalid --coordinator.url ${JSON.stringify(f.get('coordinator.url'))}: expected a URL such as http://kvass-coordinator:9090`);
  }
  const tokenFile = f.get('shard.api-token-file');
  const token = tokenFile ? (await readFile(tokenFile, 'utf8')).trim() : undefined;
  const base = coordinator.toString().replace(/\/+$/, '');
  const shards = new CoordinatorShards(base, parseDuration(f.get('query.shards-refresh')!), log, token);
  await shards.refresh();
  shards.start();
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'kvass_query_' });

  // The coordinator's paths go to the coordinator; /metrics, /-/ready, /-/healthy and /-/reload are this process's.
  let onReload: () => void = () => undefined;
  const coordinatorHandler = (req: IncomingMessage, res: ServerResponse): void => {
    const path = new URL(req.url ?? '/', 'http://x').pathname.replace(/\/+$/, '');
    if (path === '/metrics') {
      void registry.metrics().then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text));
      return;
    }
    if (path === '/-/ready' || path === '/-/healthy') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('kvass query is ready.\n');
      return;
    }
    if (path === '/-/reload' && (req.method === 'POST' || req.method === 'PUT')) {
      onReload();
      res.writeHead(200, { 'content-type': 'text/plain' }).end('reloading the global querier\n');
      return;
    }
    const out = httpRequest(new URL(req.url ?? '/', `${base}/`), { method: req.method, headers: { ...req.headers, host: coordinator.host } }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.on('error', () => res.destroy());
      up.pipe(res);
    });
    out.on('error', (e) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'error', errorType: 'unavailable', error: `coordinator: ${e.message}` }));
      else res.destroy();
    });
    req.pipe(out);
  };

  let where = '';
  const view = await createGlobalView(f, { shards: () => shards.current, coordinatorHandler, configFile: resolve(f.get('config.file')!), dataDir: resolve(f.get('data-dir')!), frontDoorUrl: () => where, token, registry, log });
  const server = createServer(view.handler);
  const addr = parseListenAddress(f.get('web.listen-address')!, 'web.listen-address');
  server.listen(addr.port, addr.host);
  await once(server, 'listening');
  const a = server.address() as AddressInfo;
  where = `http://${a.address.includes(':') ? `[${a.address}]` : a.address === '0.0.0.0' ? '127.0.0.1' : a.address}:${a.port}`;
  await view.querier.start();
  const reload = (): void => {
    view.querier.reload().catch((e: Error) => log.error({ err: e.message }, 'global querier reload failed; it keeps its configuration'));
  };
  onReload = reload;
  process.on('SIGHUP', reload);
  log.info({ listen: where, coordinator: base, shards: shards.current.length }, 'kvass query running');
  const signal = await new Promise<string>((r) => {
    process.once('SIGINT', () => r('SIGINT'));
    process.once('SIGTERM', () => r('SIGTERM'));
  });
  log.info({ signal }, 'stopping');
  shards.stop();
  await view.querier.stop();
  server.closeAllConnections();
  server.close();
  return 0;
}
