/** `kvass sidecar`: runs beside one Prometheus shard (see src/sidecar/). */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createLogger } from '../logger.js';
import { parseDuration } from '../prom/duration.js';
import { isValidLabelName, type Labels } from '../prom/labels.js';
import { createSidecarApi } from '../sidecar/api.js';
import { isLoopback } from '../http/auth.js';
import { Sidecar } from '../sidecar/sidecar.js';
import { UsageError, parseFlags, type FlagSpec } from './flags.js';
import { WEB_SECURITY_FLAGS, serverSecurity } from './web.js';
import { waitForStop } from './signals.js';

export const SIDECAR_FLAGS: readonly FlagSpec[] = [
  { name: 'config.file', help: 'The original Prometheus configuration. Without it, the coordinator pushes it (POST /api/v1/shard/config).' },
  { name: 'config.output-file', help: 'Where the injected configuration Prometheus loads is written.', default: '/etc/prometheus/config_out/prometheus.env.yaml' },
  { name: 'config.check-interval', help: 'How often --config.file is re-read for changes (SIGHUP re-reads at once).', default: '10s', kind: 'duration' },
  { name: 'store.path', help: 'Folder keeping the assignment (and a pushed configuration) across restarts.', default: '/prometheus/' },
  { name: 'web.proxy-addr', help: 'Listen address of the scrape proxy Prometheus scrapes through (beside it: loopback).', default: '127.0.0.1:8008' },
  { name: 'web.api-addr', help: 'Listen address of the API (and of the pass-through to Prometheus\'s read API).', default: ':8080' },
  ...WEB_SECURITY_FLAGS,
  { name: 'prometheus.url', help: 'URL of the shard\'s Prometheus (started with --web.enable-lifecycle).', default: 'http://127.0.0.1:9090' },
  { name: 'prometheus.reload-debounce', help: 'Quiet time after a config change before Prometheus is reloaded; a burst of changes gives one reload.', default: '1s', kind: 'duration' },
  { name: 'inject.proxy', help: 'proxy_url written into the injected config (default: the proxy address on 127.0.0.1).' },
  { name: 'inject.keep-rules', help: 'Keep rule_files and alerting in the shard config (rules over one shard\'s data are partial).', default: 'false', kind: 'bool' },
  { name: 'shard.fetch-head-series', help: 'Read head series from Prometheus for the runtime info.', default: 'true', kind: 'bool' },
  { name: 'shard.external-labels', help: 'Extra external labels for this shard, as name=value[,name=value] (e.g. a replica label).', default: '' },
  { name: 'log.level', help: 'Log level.', default: 'info', kind: 'enum', choices: ['debug', 'info', 'warn', 'error'] },
];

/** `:8008` → all interfaces, port 8008; `127.0.0.1:0` → a free port. */
export function parseListenAddress(addr: string, flag: string): { host: string | undefined; port: number } {
  const m = /^(?:\[([^\]]*)\]|([^:]*)):(\d+)$/.exec(addr);
  if (!m || Number(m[3]) > 65535) throw new UsageError(`invalid value ${JSON.stringify(addr)} for flag --${flag}: expected host:port or :port`);
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? undefined : host, port: Number(m[3]) };
}

export function parseLabelList(text: string, flag: string): Labels {
  const out: Labels = {};
  if (text.trim() === '') return out;
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    const name = eq < 0 ? '' : part.slice(0, eq).trim();
    if (!isValidLabelName(name) || eq === part.length - 1) throw new UsageError(`invalid value ${JSON.stringify(part)} for flag --${flag}: expected name=value`);
    out[name] = part.slice(eq + 1);
  }
  return out;
}

async function listen(server: Server, addr: { host: string | undefined; port: number }): Promise<AddressInfo> {
  server.listen(addr.port, addr.host);
  await once(server, 'listening');
  return server.address() as AddressInfo;
}

export async function runSidecar(argv: readonly string[]): Promise<number> {
  const flags = parseFlags(argv, SIDECAR_FLAGS);
  const log = createLogger(flags.get('log.level')!);
  const proxyAddr = parseListenAddress(flags.get('web.proxy-addr')!, 'web.proxy-addr');
  const apiAddr = parseListenAddress(flags.get('web.api-addr')!, 'web.api-addr');
  const externalLabels = parseLabelList(flags.get('shard.external-labels')!, 'shard.external-labels');
  // The proxy has no credential of its own (Prometheus beside it is its only client): it counts as unauthenticated.
  const security = await serverSecurity(flags, log, [{ flag: 'web.api-addr', host: apiAddr.host }]);
  if (!isLoopback(proxyAddr.host) && flags.get('web.allow-unauthenticated') !== 'true') {
    throw new UsageError(`--web.proxy-addr listens beyond loopback (${proxyAddr.host ?? 'every interface'}); the scrape proxy has no credential, so it serves the Prometheus beside it on loopback: give --web.allow-unauthenticated to open it`);
  }

  const sidecar = new Sidecar({
    configFile: flags.get('config.file'),
    outputFile: flags.get('config.output-file')!,
    storePath: flags.get('store.path')!,
    prometheusUrl: flags.get('prometheus.url')!,
    proxyUrl: flags.get('inject.proxy') ?? '',
    fetchHeadSeries: flags.get('shard.fetch-head-series') === 'true',
    reloadDebounceMs: parseDuration(flags.get('prometheus.reload-debounce')!),
    keepRulesAndAlerting: flags.get('inject.keep-rules') === 'true',
    externalLabels,
    log,
  });
  // The proxy listens before the config is injected, so that the config can name its real port (given as :0).
  const proxy = sidecar.createProxy();
  const proxyInfo = await listen(proxy, proxyAddr);
  if (sidecar.proxyUrl === '') sidecar.proxyUrl = `http://127.0.0.1:${proxyInfo.port}`;
  await sidecar.init();
  const apiServer = await createSidecarApi(sidecar, { ...security, log });
  const api = apiServer.server;
  const apiInfo = await listen(api, apiAddr);
  log.info({ proxy: `${proxyInfo.address}:${proxyInfo.port}`, api: `${apiInfo.address}:${apiInfo.port}`, proxyUrl: sidecar.proxyUrl, output: flags.get('config.output-file') }, 'kvass sidecar listening');

  const check = setInterval(() => {
    sidecar.reloadConfigFile().catch((e: unknown) => log.error({ err: (e as Error).message }, 'new configuration refused; the last good one stays'));
  }, parseDuration(flags.get('config.check-interval')!));
  const onHup = (): void => {
    sidecar.reloadConfigFile().catch((e: unknown) => log.error({ err: (e as Error).message }, 'new configuration refused; the last good one stays'));
  };
  process.on('SIGHUP', onHup);

  const signal = await waitForStop();
  log.info({ signal }, 'stopping');
  clearInterval(check);
  apiServer.close();
  process.off('SIGHUP', onHup);
  api.close();
  proxy.close();
  api.closeAllConnections();
  proxy.closeAllConnections();
  await sidecar.close();
  return 0;
}
