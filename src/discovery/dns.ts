/**
 * `dns_sd_configs` (Prometheus 2.42 discovery/dns): SRV, A, AAAA or MX look-ups of each name every
 * `refresh_interval`. One group per name (source = the name). A name that does not exist or has no records gives
 * an empty group; a failed look-up is reported and that name's previous group stays.
 */
import { Resolver } from 'node:dns/promises';
import { ConfigError } from '../prom/errors.js';
import { optString, readDuration, readInt, readMap, readStringList } from '../prom/decode.js';
import type { Labels } from '../prom/labels.js';
import { errorMessage, GroupTracker, joinHostPort, RefreshLoop } from './refresh.js';
import type { Discoverer, DiscoveryContext, SdMechanism, TargetGroup } from './types.js';

export type DnsRecordType = 'SRV' | 'A' | 'AAAA' | 'MX';

export interface DnsSdConfig {
  names: string[];
  type: DnsRecordType;
  /** Used for A, AAAA and MX; SRV records carry their own. */
  port: number;
  refreshInterval: number; // ms
}

/** Settings that are not part of Prometheus's configuration. */
export interface DnsSdOptions {
  /** DNS servers (`host`, `host:port`, `[v6]:port`); default: $KVASS_DNS_SERVER (comma-separated), else the system's. */
  servers?: string[];
  /** Per-query timeout; Prometheus's DNS client waits 2 s. */
  timeoutMs?: number;
  /** Attempts per server; Prometheus asks each server once. */
  tries?: number;
}

export const DNS_NAME_LABEL = '__meta_dns_name';
export const DNS_SRV_TARGET_LABEL = '__meta_dns_srv_record_target';
export const DNS_SRV_PORT_LABEL = '__meta_dns_srv_record_port';
export const DNS_MX_TARGET_LABEL = '__meta_dns_mx_record_target';

const TYPES: readonly string[] = ['SRV', 'A', 'AAAA', 'MX'];
/** Answers that mean "no records": NXDOMAIN and NOERROR without answers. */
const NO_RECORDS = new Set(['ENOTFOUND', 'ENODATA']);

/** An IPv6 address as Go's net.IP.String prints it (RFC 5952; IPv4-mapped addresses in dotted form). */
export function formatIPv6(addr: string): string {
  const text = new URL(`http://[${addr}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(text);
  if (!mapped) return text;
  const hi = parseInt(mapped[1]!, 16);
  const lo = parseInt(mapped[2]!, 16);
  return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
}

function target(address: string, name: string, srvTarget = '', srvPort = '', mxTarget = ''): Labels {
  // Prometheus sets all four labels; the empty ones mean "absent" further on.
  return { __address__: address, [DNS_NAME_LABEL]: name, [DNS_SRV_TARGET_LABEL]: srvTarget, [DNS_SRV_PORT_LABEL]: srvPort, [DNS_MX_TARGET_LABEL]: mxTarget };
}

/** Node's resolver gives host names without the root dot that Go's DNS library keeps. */
const rooted = (host: string) => (host.endsWith('.') ? host : `${host}.`);
const unrooted = (host: string) => host.replace(/\.+$/, '');

function envServers(): string[] | undefined {
  const v = process.env.KVASS_DNS_SERVER?.trim();
  return v ? v.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
}

export class DnsDiscoverer implements Discoverer {
  constructor(readonly cfg: DnsSdConfig, readonly opts: DnsSdOptions = {}) {}

  private async lookup(resolver: Resolver, name: string): Promise<Labels[]> {
    const { type, port } = this.cfg;
    try {
      switch (type) {
        case 'SRV':
          return (await resolver.resolveSrv(name)).map((r) => target(joinHostPort(unrooted(r.name), r.port), name, rooted(r.name), String(r.port)));
        case 'A':
          return (await resolver.resolve4(name)).map((a) => target(joinHostPort(a, port), name));
        case 'AAAA':
          return (await resolver.resolve6(name)).map((a) => target(joinHostPort(formatIPv6(a), port), name));
        case 'MX':
          return (await resolver.resolveMx(name)).map((r) => target(joinHostPort(unrooted(r.exchange), port), name, '', '', rooted(r.exchange)));
      }
    } catch (e) {
      if (NO_RECORDS.has((e as NodeJS.ErrnoException).code ?? '')) return [];
      throw e;
    }
  }

  async run(ctx: DiscoveryContext): Promise<void> {
    const resolver = new Resolver({ timeout: this.opts.timeoutMs ?? 2000, tries: this.opts.tries ?? 1 });
    const servers = this.opts.servers ?? envServers();
    if (servers) resolver.setServers(servers);
    const cancel = () => resolver.cancel();
    ctx.signal.addEventListener('abort', cancel, { once: true });
    const tracker = new GroupTracker();
    const loop = new RefreshLoop(ctx.signal, this.cfg.refreshInterval);
    try {
      await loop.run(async () => {
        const results = await Promise.all(this.cfg.names.map(async (name): Promise<{ name: string; targets?: Labels[]; error?: unknown }> => {
          try {
            return { name, targets: await this.lookup(resolver, name) };
          } catch (e) {
            return { name, error: e };
          }
        }));
        if (ctx.signal.aborted) return;
        const groups: TargetGroup[] = [];
        const errors: Error[] = [];
        for (const r of results) {
          if (r.targets) {
            groups.push({ source: r.name, targets: r.targets, labels: {} });
          } else {
            const prev = tracker.get(r.name);
            if (prev) groups.push(prev);
            errors.push(new Error(`dns_sd: cannot resolve ${this.cfg.type} ${JSON.stringify(r.name)}: ${errorMessage(r.error)}${prev ? '; keeping its previous targets' : ''}`));
          }
        }
        tracker.report(ctx, groups, errors);
      });
    } finally {
      ctx.signal.removeEventListener('abort', cancel);
    }
  }
}

/** The mechanism with its non-configuration options (DNS servers for tests, timeouts). */
export function createDnsSd(opts: DnsSdOptions = {}): SdMechanism<DnsSdConfig> {
  return {
    key: 'dns_sd_configs',
    read(raw, path) {
      const m = readMap(raw, path, 'dns_sd_config', ['names', 'refresh_interval', 'type', 'port']);
      const refreshInterval = readDuration(m.refresh_interval, [...path, 'refresh_interval'], 'refresh_interval', 30_000);
      const port = readInt(m.port, [...path, 'port'], 'port', 0, Number.MIN_SAFE_INTEGER);
      const names = readStringList(m.names, [...path, 'names'], 'names');
      const typeText = optString(m.type, [...path, 'type'], 'type', 'SRV');
      if (names.length === 0) throw new ConfigError('DNS-SD config must contain at least one SRV record name', path);
      const type = typeText.toUpperCase();
      if (!TYPES.includes(type)) throw new ConfigError(`invalid DNS-SD records type ${typeText}`, [...path, 'type']);
      if (type !== 'SRV' && port === 0) throw new ConfigError('a port is required in DNS-SD configs for all record types except SRV', path);
      return { names, type: type as DnsRecordType, port, refreshInterval };
    },
    create(cfg) {
      return new DnsDiscoverer(cfg, opts);
    },
  };
}

export const dnsSd = createDnsSd();
