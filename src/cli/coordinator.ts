/** `kvass coordinator` and `kvass up` (the coordinator with local shards on one machine). */
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { createLogger, type Logger } from '../logger.js';
import { parseDuration } from '../prom/duration.js';
import { Coordinator } from '../coordinator/coordinator.js';
import { showStartupProgress } from './progress.js';
import { consoleHandler } from '../console/serve.js';
import { CoordinatorMetrics, coordinatorAccess, coordinatorHandler, targetsData } from '../coordinator/api.js';
import { createKvassServer, type Handler } from '../http/server.js';
import type { ApiClient } from '../http/client.js';
import { frontDoorAccess } from '../query/front-door.js';
import { writeFileAtomic } from '../files.js';
import { LocalShardManager } from '../shard/local.js';
import { StaticShardManager } from '../shard/static.js';
import type { ShardManager } from '../shard/types.js';
import { UsageError, flagList, parseFlags, type FlagSpec, type FlagValues } from './flags.js';
import { QUERY_FLAGS, createGlobalView, shardReader, type GlobalView } from './global-view.js';
import { parseListenAddress } from './sidecar.js';
import { CLIENT_FLAGS, WEB_SECURITY_FLAGS, clientFromFlags, serverSecurity, type ServerSecurity } from './web.js';
import { waitForStop } from './signals.js';
import { K8S_FLAGS, k8sCoordination, type K8sCoordination } from './k8s.js';
import { RECEIVE_ROUTER_FLAGS, startLocalReceive } from './receive.js';
import type { ReadShard } from '../query/gateway.js';

const PLACEMENT_FLAGS: readonly FlagSpec[] = [
  { name: 'config.file', help: 'The Prometheus configuration file.', default: 'prometheus.yml' },
  { name: 'coordinator.interval', help: 'Time between two coordinator cycles.', default: '10s', kind: 'duration' },
  { name: 'shard.max-series', help: 'Per-shard series budget: sum over its targets of their series (plus the 5 Prometheus adds per target).', default: '1000000', kind: 'int' },
  { name: 'shard.max-head-series', help: 'Kvass 0.3 name; when set, the budget is the smallest of the set budgets (see README).', default: '0', kind: 'int' },
  { name: 'shard.max-process-series', help: 'Kvass 0.3 name; when set, the budget is the smallest of the set budgets (see README).', default: '0', kind: 'int' },
  { name: 'shard.max-shard', help: 'Most shards per replica.', default: '999999', kind: 'int' },
  { name: 'shard.min-shard', help: 'Fewest shards per replica.', default: '0', kind: 'int' },
  { name: 'shard.max-idle-time', help: 'How long an emptied shard stays before it is removed; 0 disables scale-down.', default: '0s', kind: 'duration' },
  { name: 'shard.not-ready-grace', help: 'How long a shard that stopped answering keeps its targets before they move.', default: '1m', kind: 'duration' },
  { name: 'shard.delete-pvc', help: 'Delete the data of removed shards (local: their folder; k8s: their PVCs).', default: 'true', kind: 'bool' },
  { name: 'shard.replicas', help: 'Replicas of every shard (local shards): each replica scrapes every target.', default: '1', kind: 'int' },
  { name: 'explore.concurrence', help: 'Parallel probes of new targets.', default: '200', kind: 'int' },
  { name: 'explore.default-series', help: 'Size assumed for a target whose probes keep failing (it is placed anyway).', default: '1000', kind: 'int' },
  { name: 'sd.init-timeout', help: 'How long to wait for every job\'s first discovery result before the first cycle.', default: '1m', kind: 'duration' },
  ...CLIENT_FLAGS,
  ...WEB_SECURITY_FLAGS,
  { name: 'log.level', help: 'Log level.', default: 'info', kind: 'enum', choices: ['debug', 'info', 'warn', 'error'] },
];

export const COORDINATOR_FLAGS: readonly FlagSpec[] = [
  ...PLACEMENT_FLAGS,
  { name: 'web.address', help: 'Listen address of the coordinator API.', default: ':9090' },
  { name: 'shard.type', help: 'Shard platform: local (processes on this machine), static (a file of shards), k8s.', default: 'local', kind: 'enum', choices: ['local', 'static', 'k8s'] },
  { name: 'shard.static-file', help: 'Shards file for --shard.type=static (Kvass format).', default: 'static-shards.yaml' },
  { name: 'data-dir', help: 'Folder of the local shards (--shard.type=local).', default: 'data' },
  { name: 'shard.selector', help: 'k8s: label selector of the shard StatefulSets.', default: 'app.kubernetes.io/name=prometheus' },
  { name: 'shard.namespace', help: 'k8s: namespace of the shard StatefulSets.', default: '' },
  { name: 'shard.port', help: 'k8s: port of the sidecar API in shard pods.', default: '8080', kind: 'int' },
  ...K8S_FLAGS,
];

export const UP_FLAGS: readonly FlagSpec[] = [
  ...PLACEMENT_FLAGS.map((f) => (f.name === 'config.file' ? { ...f, default: undefined, required: true } : f)),
  { name: 'receive.listen-address', help: 'Where the remote-write router answers (POST /api/v1/receive and /api/v1/write); off when empty.', default: '' },
  { name: 'receive.ingestors', help: 'Local ingestors (Prometheus with the remote-write receiver) when the router is on; rings name them ingestor-<i>.', default: '3', kind: 'int' },
  ...RECEIVE_ROUTER_FLAGS,
  { name: 'data-dir', help: 'Folder for the shards\' data (created if missing).', required: true },
  { name: 'web.listen-address', help: 'Where kvass answers: the global view (Prometheus\'s HTTP API over all shards) and the coordinator\'s API.', default: '127.0.0.1:9090' },
  ...QUERY_FLAGS,
];

const int = (f: FlagValues, name: string): number => Number(f.get(name));

function budget(f: FlagValues): number {
  const set = ['shard.max-series', 'shard.max-head-series', 'shard.max-process-series'].map((n) => int(f, n)).filter((v) => v > 0);
  if (set.length === 0) throw new UsageError('a series budget is needed: --shard.max-series must be above 0');
  return Math.min(...set);
}

/** `kvass up`'s token: `<data-dir>/token`, made at first start (32 random bytes as hex), mode 0600. */
export async function dataDirToken(dataDir: string): Promise<{ file: string; token: string }> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, 'token');
  try {
    const token = (await readFile(file, 'utf8')).trim();
    if (/^[0-9a-f]{64}$/.test(token)) {
      await chmod(file, 0o600);
      return { file, token };
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const token = randomBytes(32).toString('hex');
  await writeFileAtomic(file, `${token}\n`);
  return { file, token };
}

interface Security {
  /** The coordinator's (or front door's) own server: token and web config. */
  server: ServerSecurity;
  /** kvass as a client of the sidecars. */
  client: ApiClient;
}

/** What `kvass up --receive.listen-address` adds to the global view: its ingestors. */
interface ReceiveSide {
  shards(): ReadShard[];
  replicaLabel: string;
  stop(): Promise<void>;
}

async function runCoordinatorWith(f: FlagValues, manager: ShardManager, listen: string, flagName: string, log: Logger, security: Security, banner?: (addr: string, c: Coordinator) => void, withGlobalView = false, k8s?: K8sCoordination, receive?: ReceiveSide): Promise<number> {
  const coordinator = new Coordinator({
    mayWrite: k8s?.mayWrite,
    configFile: resolve(f.get('config.file')!),
    intervalMs: parseDuration(f.get('coordinator.interval')!),
    maxSeries: budget(f),
    minShards: int(f, 'shard.min-shard'),
    maxShards: int(f, 'shard.max-shard'),
    maxIdleTimeMs: parseDuration(f.get('shard.max-idle-time')!),
    notReadyGraceMs: parseDuration(f.get('shard.not-ready-grace')!),
    exploreConcurrency: Math.max(1, int(f, 'explore.concurrence')),
    sdInitTimeoutMs: parseDuration(f.get('sd.init-timeout')!),
    defaultSeries: int(f, 'explore.default-series'),
    hysteresis: 0.1,
    manager,
    client: security.client,
    log,
    moveLogFile: f.get('shard.type') === 'k8s' || f.get('shard.type') === 'static' ? undefined : join(resolve(f.get('data-dir')!), 'moves.json'),
  });
  const metrics = new CoordinatorMetrics();
  const coordinatorApi = coordinatorHandler(coordinator, metrics, log, withGlobalView ? '/classic/graph' : null);
  const addr = parseListenAddress(listen, flagName);
  let view: GlobalView | null = null;
  let where = '';
  if (withGlobalView) {
    const shards = shardReader(coordinator);
    view = await createGlobalView(f, { shards: receive ? () => [...shards(), ...receive.shards()] : shards, extraReplicaLabels: receive ? [receive.replicaLabel] : [], coordinatorHandler: coordinatorApi, moves: () => (coordinator.acting ? coordinator.moves.history() : null), targets: async () => targetsData(coordinator, 'active').activeTargets, configFile: resolve(f.get('config.file')!), dataDir: resolve(f.get('data-dir')!), frontDoorUrl: () => where, client: security.client, registry: metrics.registry, log });
  }
  const api = await createKvassServer({
    name: view ? 'front door' : 'coordinator API', log, ...security.server,
    access: view ? frontDoorAccess : coordinatorAccess,
    handler: view ? view.handler : withConsole(coordinatorApi),
  });
  api.server.listen(addr.port, addr.host);
  await once(api.server, 'listening');
  const a = api.server.address() as AddressInfo;
  const scheme = security.server.webConfig?.current().tls ? 'https' : 'http';
  where = `${scheme}://${a.address.includes(':') ? `[${a.address}]` : a.address === '0.0.0.0' ? '127.0.0.1' : a.address}:${a.port}`;
  // Bad rule files or alerting fail here, before any shard starts (exit 1 with promtool's reason).
  if (view) await view.querier.check();
  await coordinator.start(); // a bad config throws here: exit 1 with its position
  if (view) await view.querier.start();
  log.info({ api: where }, 'kvass coordinator running');
  banner?.(where, coordinator);
  const reloadQuerier = (): void => {
    view?.querier.reload().catch((e: Error) => log.error({ err: e.message }, 'global querier reload failed; it keeps its configuration'));
  };
  view?.onReload(reloadQuerier);
  const onHup = (): void => {
    reloadQuerier();
    coordinator.reload().then(
      () => metrics.reloads.inc({ result: 'success' }),
      (e: unknown) => {
        metrics.reloads.inc({ result: 'failure' });
        log.error({ err: (e as Error).message }, 'reload refused; the old configuration stays in force');
      },
    );
  };
  process.on('SIGHUP', onHup);
  k8s?.startElection(metrics, () => coordinator.runSoon());
  const signal = await waitForStop();
  log.info({ signal }, 'stopping');
  process.off('SIGHUP', onHup);
  await coordinator.stop();
  await k8s?.stop();
  await view?.querier.stop();
  view?.close();
  api.close();
  api.server.closeAllConnections();
  api.server.close();
  await manager.close();
  await receive?.stop();
  await security.client.close();
  return 0;
}

/** The coordinator's API with the web console beside it (/kvass/): `kvass coordinator` with no global view. */
function withConsole(api: Handler): Handler {
  const files = consoleHandler();
  return async (req, res, target) => {
    if (await files(req, res, target)) return;
    return api(req, res, target);
  };
}

export async function runCoordinator(argv: readonly string[]): Promise<number> {
  const f = parseFlags(argv, COORDINATOR_FLAGS);
  const log = createLogger(f.get('log.level')!);
  const type = f.get('shard.type')!;
  const addr = parseListenAddress(f.get('web.address')!, 'web.address');
  const k8s = type === 'k8s' ? await k8sCoordination(f, log) : undefined;
  const security: Security = { server: await serverSecurity(f, log, [{ flag: 'web.address', host: addr.host }]), client: await clientFromFlags(f, undefined, k8s ? `kvass-coordinator/${k8s.identity}` : undefined) };
  let manager: ShardManager;
  if (k8s) manager = await k8s.manager(security.client);
  else if (type === 'static') manager = new StaticShardManager({ file: resolve(f.get('shard.static-file')!), client: security.client, log });
  else {
    const tokenFile = f.get('shard.api-token-file');
    manager = new LocalShardManager({ dataDir: resolve(f.get('data-dir')!), replicas: Math.max(1, int(f, 'shard.replicas')), configFile: resolve(f.get('config.file')!), deleteData: f.get('shard.delete-pvc') === 'true', tokenFile: tokenFile ? resolve(tokenFile) : undefined, sidecarLogLevel: f.get('log.level'), log });
  }
  return runCoordinatorWith(f, manager, f.get('web.address')!, 'web.address', log, security, undefined, false, k8s);
}

export async function runUp(argv: readonly string[]): Promise<number> {
  const f = parseFlags(argv, UP_FLAGS);
  const log = createLogger(f.get('log.level')!);
  const dataDir = resolve(f.get('data-dir')!);
  const replicaLabel = flagList(f, 'query.replica-label')[0] ?? 'replica';
  // Secure by default: one token for every internal call (sidecars, gateway) and the front door's control paths.
  const given = f.get('shard.api-token-file');
  const generated = given ? undefined : await dataDirToken(dataDir);
  const tokenFile = given ? resolve(given) : generated!.file;
  const addr = parseListenAddress(f.get('web.listen-address')!, 'web.listen-address');
  const client = await clientFromFlags(f, generated?.token);
  const server = await serverSecurity(f, log, [{ flag: 'web.listen-address', host: addr.host }], client.opts.token);
  const receive = f.get('receive.listen-address') ? await startLocalReceive(f, dataDir, log) : undefined;
  const manager = new LocalShardManager({ dataDir, replicas: Math.max(1, int(f, 'shard.replicas')), replicaLabel, configFile: resolve(f.get('config.file')!), deleteData: f.get('shard.delete-pvc') === 'true', tokenFile, sidecarLogLevel: f.get('log.level'), log });
  return runCoordinatorWith(f, manager, f.get('web.listen-address')!, 'web.listen-address', log, { server, client }, (where, coordinator) => {
    process.stdout.write([
      `kvass is up. Config: ${resolve(f.get('config.file')!)}; shards' data: ${dataDir}`,
      `  query all shards as one Prometheus (Grafana data source, web UI): ${where}`,
      `  targets and their shards: ${where}/api/v1/targets`,
      `  shards and their load:    ${where}/api/v1/shards`,
      `  coordinator metrics:      ${where}/metrics`,
      `  POST ${where}/-/reload needs the bearer token in ${tokenFile}`,
      ...(receive ? [`  remote write (agents push here): ${receive.url}/api/v1/receive, ingestors ${receive.ingestors}`] : []),
      `  the console (shards, targets, activity, what-if): ${where}/kvass/`,
      'Shards start as the coordinator needs them (see the shards endpoint). Ctrl-C stops everything.',
      '',
    ].join('\n'));
    showStartupProgress(coordinator, process.stdout);
  }, true, undefined, receive);
}
