/**
 * Where a remote store's endpoints are (stores-file.ts's URL grammar): the host itself, its A/AAAA records (`dns+`)
 * or its SRV records (`dnssrv+`), as Thanos resolves its store addresses. The resolver is injected: tests give
 * their own, the live set gives node:dns with a deadline on every lookup.
 */
import { Resolver as DnsResolver, lookup as dnsLookup } from 'node:dns/promises';
import type { HttpClientConfig } from '../config/http-client.js';
import { endpointUrl, urlHost, type StoreSpec, type StoreTarget } from './stores-file.js';

export interface Resolver {
  /** A/AAAA: the addresses of a host name. */
  lookup(host: string): Promise<string[]>;
  /** SRV: the targets (host name, port) of a service name. */
  resolveSrv(name: string): Promise<Array<{ name: string; port: number }>>;
}

/** A DNS name gives at most this many endpoints (the rest are dropped and reported). */
export const MAX_ENDPOINTS_PER_NAME = 256;

export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000}s`)), ms);
    timer.unref();
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** The system's resolver (node:dns), each lookup bounded by `timeoutMs`. */
export function systemResolver(timeoutMs: number): Resolver {
  const r = new DnsResolver({ timeout: timeoutMs, tries: 2 });
  return {
    lookup: async (host) => (await within(dnsLookup(host, { all: true, verbatim: true }), timeoutMs, `lookup ${host}`)).map((a) => a.address),
    resolveSrv: (name) => within(r.resolveSrv(name), timeoutMs, `SRV lookup ${name}`),
  };
}

export interface ResolvedEndpoint {
  url: string;
  /** host:port as in a URL, for the endpoint's name. */
  hostPort: string;
}

/** The endpoints of a store now (sorted, deduplicated, at most `max`); throws when a lookup fails or gives nothing. */
export async function resolveStore(t: StoreTarget, resolver: Resolver, max = MAX_ENDPOINTS_PER_NAME): Promise<{ endpoints: ResolvedEndpoint[]; dropped: number }> {
  let pairs: Array<[string, number]>;
  if (t.lookup === 'none') return { endpoints: [{ url: endpointUrl(t, t.host, t.port!), hostPort: `${t.host}:${t.port}` }], dropped: 0 };
  if (t.lookup === 'dns') {
    // A zoned (link-local) address cannot be written in a URL that the HTTP client takes.
    pairs = (await resolver.lookup(t.host)).filter((a) => a !== '' && !a.includes('%')).map((a) => [a, t.port!]);
  } else {
    pairs = (await resolver.resolveSrv(t.host))
      .filter((r) => Number.isInteger(r.port) && r.port > 0 && r.port < 65536 && r.name !== '')
      .map((r) => [r.name.replace(/\.$/, ''), r.port]);
  }
  const byUrl = new Map<string, ResolvedEndpoint>();
  for (const [host, port] of pairs) byUrl.set(endpointUrl(t, host, port), { url: endpointUrl(t, host, port), hostPort: `${urlHost(host)}:${port}` });
  if (byUrl.size === 0) throw new Error(`${t.lookup === 'dns' ? 'lookup' : 'SRV lookup'} ${t.host}: no ${t.lookup === 'dns' ? 'address' : 'target'}`);
  const all = [...byUrl.values()].sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0));
  return { endpoints: all.slice(0, max), dropped: Math.max(0, all.length - max) };
}

/**
 * The client config of a store: its http_config, and for an https store found by `dns+` the looked-up name as the
 * TLS server name (unless tls_config.server_name says otherwise), as its endpoints are addresses and its
 * certificate names the host.
 */
export function storeClientConfig(spec: StoreSpec): HttpClientConfig | undefined {
  if (spec.target.lookup !== 'dns' || spec.target.scheme !== 'https') return spec.http;
  const base = spec.http ?? { tls: { insecureSkipVerify: false }, proxyConnectHeader: {}, followRedirects: false, enableHttp2: false };
  return base.tls.serverName ? base : { ...base, tls: { ...base.tls, serverName: spec.target.host } };
}
