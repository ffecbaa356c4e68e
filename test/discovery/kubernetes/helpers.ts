/** Shared test harness: read a config entry, run the discoverer against the fake server, wait for groups. */
import { silentLogger } from '../../../src/logger.js';
import type { Labels } from '../../../src/prom/labels.js';
import type { TargetGroup } from '../../../src/discovery/types.js';
import { readKubernetesSdConfig, type KubernetesSdConfig } from '../../../src/discovery/kubernetes/config.js';
import { KubernetesDiscovery, type KubernetesDiscoveryOptions } from '../../../src/discovery/kubernetes/discovery.js';

export const SD_PATH = ['scrape_configs', 0, 'kubernetes_sd_configs', 0] as const;

export function readCfg(raw: unknown, dir = '/etc/prometheus'): KubernetesSdConfig {
  return readKubernetesSdConfig(raw, SD_PATH, dir);
}

export interface Run {
  /** Current groups by source (empty groups removed), as the discovery manager would hold them. */
  groups: Map<string, TargetGroup>;
  emits: TargetGroup[][];
  fails: Error[];
  waitFor(pred: () => boolean, what?: string, timeoutMs?: number): Promise<void>;
  waitGroup(source: string, pred?: (g: TargetGroup) => boolean, timeoutMs?: number): Promise<TargetGroup>;
  stop(): Promise<void>;
}

export const FAST: KubernetesDiscoveryOptions = { backoff: { initialMs: 20, maxMs: 200 } };

export function run(cfg: KubernetesSdConfig, opts: KubernetesDiscoveryOptions = FAST): Run {
  const ac = new AbortController();
  const groups = new Map<string, TargetGroup>();
  const emits: TargetGroup[][] = [];
  const fails: Error[] = [];
  const d = new KubernetesDiscovery(cfg, opts);
  // A run that throws is a failure, as the discovery manager takes it (ctx.fail), not an unhandled rejection.
  const done = d.run({
    signal: ac.signal,
    logger: silentLogger(),
    emit(gs) {
      emits.push(structuredClone(gs));
      for (const g of gs) {
        if (g.targets.length === 0) groups.delete(g.source);
        else groups.set(g.source, structuredClone(g));
      }
    },
    fail(err) {
      fails.push(err);
    },
  }).catch((err: Error) => {
    fails.push(err);
  });
  const waitFor = async (pred: () => boolean, what = 'condition', timeoutMs = 20_000) => {
    const end = Date.now() + timeoutMs;
    while (!pred()) {
      if (Date.now() > end) {
        throw new Error(`timed out waiting for ${what}; groups: ${JSON.stringify([...groups.keys()])}, emits: ${emits.length}, fails: ${fails.map((f) => f.message).join(' | ')}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return {
    groups,
    emits,
    fails,
    waitFor,
    async waitGroup(source, pred = () => true, timeoutMs = 20_000) {
      await waitFor(() => groups.has(source) && pred(groups.get(source)!), `group ${source}`, timeoutMs);
      return groups.get(source)!;
    },
    async stop() {
      ac.abort();
      await done;
    },
  };
}

function sortKeys(l: Labels): Labels {
  return Object.fromEntries(Object.entries(l).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Targets in a canonical order with sorted keys, for order-insensitive comparison. */
export function canon(targets: Labels[]): Labels[] {
  return targets.map(sortKeys).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
}
