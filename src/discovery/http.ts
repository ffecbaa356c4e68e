/**
 * `http_sd_configs` (Prometheus 2.42 discovery/http): target groups fetched as JSON from a URL every
 * `refresh_interval`. A failed fetch is reported and the last good groups stay; the first emit waits for the
 * first successful fetch.
 */
import { ConfigError, type YamlPath } from '../prom/errors.js';
import { optString, readDuration, readMap } from '../prom/decode.js';
import { ConfiguredHttpClient, HTTP_CLIENT_FIELDS, readHttpClientConfig, type HttpClientConfig } from '../config/http-client.js';
import { errorMessage, GroupTracker, parseTargetGroups, RefreshLoop } from './refresh.js';
import type { Discoverer, DiscoveryContext, SdMechanism, TargetGroup } from './types.js';

export interface HttpSdConfig {
  url: string;
  refreshInterval: number; // ms
  http: HttpClientConfig;
}

export const URL_LABEL = '__meta_url';
const USER_AGENT = 'kvass';
// What Prometheus accepts as the response's Content-Type.
const CONTENT_TYPE_RE = /^application\/json(;\s*charset=("utf-8"|utf-8))?$/i;

/** The checks of Prometheus's SDConfig.UnmarshalYAML, on the parts Go's url.Parse finds. */
function checkUrl(url: string, path: YamlPath): void {
  const parseError = (why: string) => new ConfigError(`parse ${JSON.stringify(url)}: ${why}`, path);
  if (/[\x00-\x1f\x7f]/.test(url)) throw parseError('net/url: invalid control character in URL');
  const beforeQuery = url.split('#')[0]!.split('?')[0]!;
  const esc = /%(?![0-9a-fA-F]{2})/.exec(beforeQuery);
  if (esc) throw parseError(`invalid URL escape ${JSON.stringify(beforeQuery.slice(esc.index, esc.index + 3))}`);
  if (url.startsWith(':')) throw parseError('missing protocol scheme');
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(url)?.[1]?.toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') throw new ConfigError("URL scheme must be 'http' or 'https'", path);
  const rest = url.slice(scheme.length + 1).split('#')[0]!.split('?')[0]!;
  const authority = rest.startsWith('//') ? rest.slice(2).split('/')[0]! : '';
  const host = authority.slice(authority.lastIndexOf('@') + 1);
  if (host === '') throw new ConfigError('host is missing in URL', path);
}

export class HttpDiscoverer implements Discoverer {
  constructor(readonly cfg: HttpSdConfig) {}

  /** One fetch: the complete set of groups, or an error saying what went wrong. */
  async fetchGroups(client: ConfiguredHttpClient, signal: AbortSignal): Promise<TargetGroup[]> {
    const { url, refreshInterval } = this.cfg;
    // Prometheus's client times out after one refresh interval.
    const timeout = refreshInterval > 0 ? AbortSignal.any([signal, AbortSignal.timeout(refreshInterval)]) : signal;
    const res = await client.fetch(url, {
      headers: { accept: 'application/json', 'x-prometheus-refresh-interval-seconds': String(refreshInterval / 1000) },
      signal: timeout,
    });
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => {});
      throw new Error(`server returned HTTP status ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
    }
    const contentType = res.headers.get('content-type') ?? '';
    if (!CONTENT_TYPE_RE.test(contentType.trim())) {
      await res.body?.cancel().catch(() => {});
      throw new Error(`unsupported content type ${JSON.stringify(contentType)}`);
    }
    const groups = parseTargetGroups(await res.text(), 'json');
    return groups.map((g, i) => ({ source: `${url}:${i}`, targets: g.targets, labels: { ...g.labels, [URL_LABEL]: url } }));
  }

  async run(ctx: DiscoveryContext): Promise<void> {
    const client = new ConfiguredHttpClient(this.cfg.http, USER_AGENT);
    const tracker = new GroupTracker();
    const loop = new RefreshLoop(ctx.signal, this.cfg.refreshInterval);
    try {
      await loop.run(async () => {
        try {
          const groups = await this.fetchGroups(client, ctx.signal);
          if (!ctx.signal.aborted) tracker.report(ctx, groups);
        } catch (e) {
          if (!ctx.signal.aborted) tracker.fail(ctx, new Error(`http_sd: cannot get targets from ${this.cfg.url}: ${errorMessage(e)}`));
        }
      });
    } finally {
      await client.close().catch(() => {});
    }
  }
}

export const httpSd: SdMechanism<HttpSdConfig> = {
  key: 'http_sd_configs',
  read(raw, path, ctx) {
    const m = readMap(raw, path, 'http_sd_config', ['url', 'refresh_interval', ...HTTP_CLIENT_FIELDS]);
    const refreshInterval = readDuration(m.refresh_interval, [...path, 'refresh_interval'], 'refresh_interval', 60_000);
    const url = optString(m.url, [...path, 'url'], 'url', '');
    if (url === '') throw new ConfigError('URL is missing', path);
    checkUrl(url, [...path, 'url']);
    return { url, refreshInterval, http: readHttpClientConfig(m, path, ctx.configDir) };
  },
  create(cfg) {
    return new HttpDiscoverer(cfg);
  },
};
