/**
 * `kvass query`: the global view beside a coordinator that runs elsewhere (a Deployment next to the coordinator on
 * Kubernetes): store gateway, global querier and front door, with the shards read from the coordinator's
 * GET /api/v1/shards and its /api/v1/targets and /api/v1/shards passed through. With remote stores
 * (--query.store, --query.stores-file) it reads them too, and with no coordinator it federates stores alone.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { createLogger, type Logger } from '../logger.js';
import { parseDuration } from '../prom/duration.js';
import type { ReadShard } from '../query/gateway.js';
import { UsageError, flagList, parseFlags, type FlagSpec } from './flags.js';
import { QUERY_FLAGS, createGlobalView, newSightings, readShardsOf } from './global-view.js';
import type { MoveHistory } from '../coordinator/moves.js';
import { parseListenAddress } from './sidecar.js';
import { CLIENT_FLAGS, WEB_SECURITY_FLAGS, clientFromFlags, serverSecurity } from './web.js';
import { waitForStop } from './signals.js';
import type { ApiClient } from '../http/client.js';
import { AllowList, notForwarded, passThrough } from '../http/passthrough.js';
import { sendText } from '../http/respond.js';
import { createKvassServer, type Handler } from '../http/server.js';
import { frontDoorAccess } from '../query/front-door.js';

export const QUERY_COMMAND_FLAGS: readonly FlagSpec[] = [
  { name: 'config.file', help: 'The Prometheus configuration (its rule_files, alerting, global and remote_write run in the querier); without it, no rules.' },
  { name: 'coordinator.url', help: 'Base URL of the kvass coordinator API; without it, only the stores are read (--query.store, --query.stores-file).' },
  { name: 'data-dir', help: 'Folder of the global querier (its TSDB holds recording-rule results).', required: true },
  { name: 'web.listen-address', help: 'Where the global view answers.', default: '127.0.0.1:9091' },
  { name: 'query.shards-refresh', help: 'How often the shard list is read from the coordinator.', default: '5s', kind: 'duration' },
  ...CLIENT_FLAGS,
  ...WEB_SECURITY_FLAGS,
  ...QUERY_FLAGS,
  { name: 'log.level', help: 'Log level.', default: 'info', kind: 'enum', choices: ['debug', 'info', 'warn', 'error'] },
];

/** What `kvass query` passes through to the coordinator: its read API. */
const COORDINATOR_PASS_THROUGH = new AllowList([{ methods: ['GET'], path: /^\/api\/v1\/(targets|shards|moves|events|whatif|console)$/ }]);

/** Checks the coordinator's `data` of GET /api/v1/shards. */
function readShardList(data: unknown): Array<Array<{ id: string; url: string; ready: boolean }>> {
  const reps = (data as { replicas?: unknown } | null)?.replicas;
  if (!Array.isArray(reps)) throw new Error('no data.replicas in the answer');
  return reps.map((rep, r) => {
    const shards = (rep as { shards?: unknown } | null)?.shards ?? [];
    if (!Array.isArray(shards)) throw new Error(`replicas[${r}].shards is not a list`);
    return shards.map((s, i) => {
      const o = s as { id?: unknown; url?: unknown; ready?: unknown } | null;
      if (typeof o?.id !== 'string' || typeof o.url !== 'string' || typeof o.ready !== 'boolean') throw new Error(`replicas[${r}].shards[${i}]: needs string id and url and boolean ready`);
      if (!/^https?:\/\//.test(o.url)) throw new Error(`replicas[${r}].shards[${i}]: url ${JSON.stringify(o.url.slice(0, 100))} is not http(s)`);
      return { id: o.id, url: o.url, ready: o.ready };
    });
  });
}

/** Checks the coordinator's `data` of GET /api/v1/moves (a standby's unknown history, null, is history from never). */
function readMoveHistory(data: unknown): MoveHistory {
  const d = data as { sinceMs?: unknown; marginMs?: unknown; moves?: unknown } | null;
  if (!d || (d.sinceMs !== null && typeof d.sinceMs !== 'number') || typeof d.marginMs !== 'number' || !Array.isArray(d.moves)) throw new Error('expected sinceMs, marginMs and moves');
  const moves = d.moves.map((m, i) => {
    const o = m as Record<string, unknown> | null;
    if (typeof o?.startMs !== 'number' || (o.endMs !== null && typeof o.endMs !== 'number') || typeof o.from !== 'number' || typeof o.to !== 'number') throw new Error(`moves[${i}]: needs numbers startMs, from, to and endMs (or null)`);
    return { hash: String(o.hash ?? ''), job: String(o.job ?? ''), from: o.from, to: o.to, startMs: o.startMs, endMs: o.endMs as number | null };
  });
  return { sinceMs: d.sinceMs ?? Number.POSITIVE_INFINITY, marginMs: d.marginMs, moves };
}

/** Polls the coordinator's shard list; keeps the last good one when the coordinator does not answer. */
class CoordinatorShards {
  private list: ReadShard[] = [];
  private readonly seen = newSightings();
  /** The coordinator's move log (moves.ts), for pushdown; null until read. */
  moves: MoveHistory | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly base: string, private readonly everyMs: number, private readonly log: Logger, private readonly client: ApiClient) {}

  private refreshing = false;

  async refresh(): Promise<void> {
    if (this.refreshing) return; // a slow coordinator: no overlapping reads (an older list could land last)
    this.refreshing = true;
    try {
      const { data } = await this.client.data(`${this.base}/api/v1/shards`, { timeoutMs: 10_000, maxResponseBytes: 64 << 20 });
      this.list = readShardsOf(readShardList(data), this.seen);
    } catch (e) {
      this.log.warn({ coordinator: this.base, err: (e as Error).message }, 'cannot read the shard list; keeping the last one');
    }
    try {
      // Read after the shards: a move the list already shows is in the log read here.
      const { data } = await this.client.data(`${this.base}/api/v1/moves`, { timeoutMs: 10_000, maxResponseBytes: 256 << 20 });
      this.moves = readMoveHistory(data);
    } catch (e) {
      // Not knowing the moves, no window is known to be safe: queries take the remote-read path.
      this.moves = null;
      this.log.warn({ coordinator: this.base, err: (e as Error).message }, 'cannot read the move log; queries are not pushed down until it is read');
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

/** --coordinator.url checked, without its trailing slashes; undefined when not given. */
function coordinatorBase(url: string | undefined): string | undefined {
  if (url === undefined || url === '') return undefined;
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http');
    return u.toString().replace(/\/+$/, '');
  } catch {
    throw new UsageError(`invalid --coordinator.url ${JSON.stringify(url)}: expected a URL such as http://kvass-coordinator:9090`);
  }
}

export async function runQuery(argv: readonly string[]): Promise<number> {
  const f = parseFlags(argv, QUERY_COMMAND_FLAGS);
  const log = createLogger(f.get('log.level')!);
  const addr = parseListenAddress(f.get('web.listen-address')!, 'web.listen-address');
  const client = await clientFromFlags(f);
  const security = await serverSecurity(f, log, [{ flag: 'web.listen-address', host: addr.host }], client.opts.token);
  const base = coordinatorBase(f.get('coordinator.url'));
  if (!base && flagList(f, 'query.store').length === 0 && !f.get('query.stores-file')) {
    throw new UsageError('nothing to read: give --coordinator.url, --query.store or --query.stores-file');
  }
  const shards = base ? new CoordinatorShards(base, parseDuration(f.get('query.shards-refresh')!), log, client) : undefined;
  await shards?.refresh();
  shards?.start();
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'kvass_query_' });

  // The coordinator's read paths go to the coordinator; /metrics, /-/ready, /-/healthy and /-/reload are this process's.
  let onReload: () => void = () => undefined;
  const coordinatorHandler: Handler = async (req, res, target) => {
    const { path } = target;
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics());
      return;
    }
    if (path === '/-/ready' || path === '/-/healthy') return sendText(res, 200, 'kvass query is ready.\n');
    if (path === '/-/reload' && (req.method === 'POST' || req.method === 'PUT')) {
      onReload();
      return sendText(res, 200, 'reloading the global querier\n');
    }
    if (!COORDINATOR_PASS_THROUGH.allows(req.method ?? 'GET', path) || !base) return notForwarded(res, req.method ?? 'GET', path);
    const auth = await client.authorization();
    await passThrough(req, res, target, {
      upstream: base, name: 'coordinator', timeoutMs: 30_000, maxRequestBytes: 1 << 20, maxResponseBytes: 512 << 20,
      dropRequestHeaders: ['authorization', 'cookie'], setRequestHeaders: auth ? { authorization: auth } : {}, dispatcher: await client.dispatcher(),
      // The console's settings: the view's Prometheus UI is this process's, which the coordinator cannot know.
      onJson: path === '/api/v1/console' ? (status, json) => {
        if (json.data && typeof json.data === 'object') (json.data as Record<string, unknown>).queryUrl = '/classic/graph';
        return { status, json };
      } : undefined,
    });
  };

  let where = '';
  const configFile = f.get('config.file');
  const targets = async (): Promise<unknown[]> => (base ? (((await client.data(`${base}/api/v1/targets?state=active`, { timeoutMs: 30_000, maxResponseBytes: 512 << 20 })).data as { activeTargets?: unknown[] }).activeTargets ?? []) : []);
  const view = await createGlobalView(f, { shards: () => shards?.current ?? [], moves: () => (shards ? shards.moves : { sinceMs: 0, marginMs: 0, moves: [] }), coordinatorHandler, targets, configFile: configFile ? resolve(configFile) : undefined, dataDir: resolve(f.get('data-dir')!), frontDoorUrl: () => where, client, registry, log });
  const api = await createKvassServer({ name: 'front door', log, ...security, access: frontDoorAccess, handler: view.handler });
  api.server.listen(addr.port, addr.host);
  await once(api.server, 'listening');
  const a = api.server.address() as AddressInfo;
  const scheme = security.webConfig?.current().tls ? 'https' : 'http';
  where = `${scheme}://${a.address.includes(':') ? `[${a.address}]` : a.address === '0.0.0.0' ? '127.0.0.1' : a.address}:${a.port}`;
  await view.querier.start();
  const reload = (): void => {
    view.querier.reload().catch((e: Error) => log.error({ err: e.message }, 'global querier reload failed; it keeps its configuration'));
  };
  onReload = reload;
  process.on('SIGHUP', reload);
  log.info({ listen: where, coordinator: base ?? null, shards: shards?.current.length ?? 0, stores: view.stores?.current().length ?? 0 }, 'kvass query running');
  const signal = await waitForStop();
  log.info({ signal }, 'stopping');
  shards?.stop();
  await view.querier.stop();
  view.close();
  api.close();
  api.server.closeAllConnections();
  api.server.close();
  await client.close();
  return 0;
}
