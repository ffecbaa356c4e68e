/**
 * From discovered target groups to scrape targets, as Prometheus 2.42's scrape.PopulateLabels and
 * TargetsFromGroup do: add the job's defaults, relabel, check the address, interval and timeout, add the
 * default port, remove `__meta_*`, default `instance`, and build the scrape URL.
 */
import type { ScrapeConfig } from '../prom/config.js';
import { formatDuration, parseDuration } from '../prom/duration.js';
import {
  ADDRESS_LABEL, INSTANCE_LABEL, JOB_LABEL, META_LABEL_PREFIX, METRICS_PATH_LABEL, PARAM_LABEL_PREFIX,
  SCHEME_LABEL, SCRAPE_INTERVAL_LABEL, SCRAPE_TIMEOUT_LABEL, isValidLabelValue, type Labels,
} from '../prom/labels.js';
import { relabel } from '../prom/relabel.js';
import type { TargetGroup } from '../discovery/types.js';
import { encodeQuery, formatUrl } from './url.js';
import { targetHash } from './hash.js';

/** A target Prometheus would scrape. */
export interface Target {
  /** Identity: see hash.ts. */
  hash: string;
  job: string;
  /** Final labels, reserved ones (`__address__`, `__scheme__`, `__param_*`, …) included; `__meta_*` removed. */
  labels: Labels;
  /** The labels before relabeling (group and target labels plus the job's defaults). */
  discoveredLabels: Labels;
  scrapeUrl: string;
  /** From `__scrape_interval__` / `__scrape_timeout__`, in ms. */
  interval: number;
  timeout: number;
}

export interface DroppedTarget {
  job: string;
  discoveredLabels: Labels;
}

/** A target Prometheus refuses after relabeling (no address, bad interval, …): in neither list, only logged. */
export interface FailedTarget {
  job: string;
  discoveredLabels: Labels;
  error: string;
}

export type PopulateResult =
  | { kind: 'active'; labels: Labels; discoveredLabels: Labels }
  | { kind: 'dropped'; discoveredLabels: Labels }
  | { kind: 'failed'; discoveredLabels: Labels; error: string };

/** The per-job label defaults, computed once per job instead of once per target. */
export interface JobDefaults {
  cfg: ScrapeConfig;
  defaults: Array<[string, string]>;
  params: Array<[string, string]>;
}

export function jobDefaults(cfg: ScrapeConfig): JobDefaults {
  return {
    cfg,
    defaults: [
      [JOB_LABEL, cfg.jobName],
      [SCRAPE_INTERVAL_LABEL, formatDuration(cfg.scrapeInterval)],
      [SCRAPE_TIMEOUT_LABEL, formatDuration(cfg.scrapeTimeout)],
      [METRICS_PATH_LABEL, cfg.metricsPath],
      [SCHEME_LABEL, cfg.scheme],
    ],
    params: Object.entries(cfg.params).filter(([, v]) => v.length > 0).map(([k, v]) => [PARAM_LABEL_PREFIX + k, v[0]!]),
  };
}

/**
 * Go's net.SplitHostPort succeeds: `host:port`, `[v6]:port` (the port may be empty).
 * Used as Prometheus does to decide whether a default port must be added.
 */
export function hasPort(addr: string): boolean {
  if (addr.startsWith('[')) {
    const end = addr.indexOf(']');
    if (end < 0 || addr[end + 1] !== ':') return false;
    const host = addr.slice(1, end);
    const port = addr.slice(end + 2);
    return !host.includes('[') && !port.includes('[') && !port.includes(']') && !port.includes(':');
  }
  const i = addr.lastIndexOf(':');
  if (i < 0) return false;
  const host = addr.slice(0, i);
  const port = addr.slice(i + 1);
  return !host.includes(':') && !/[[\]]/.test(host) && !/[[\]]/.test(port);
}

/** PopulateLabels: one target's labels from its merged group/target labels. */
export function populateLabels(lset: Labels, jd: JobDefaults): PopulateResult {
  const pre: Labels = { ...lset };
  for (const [k, v] of jd.defaults) if (!pre[k]) pre[k] = v;
  // Config params win over labels of the same name from discovery (2.42 sets them unconditionally).
  for (const [k, v] of jd.params) pre[k] = v;

  const out = relabel(pre, jd.cfg.relabelConfigs);
  if (out === null) return { kind: 'dropped', discoveredLabels: pre };
  const fail = (error: string): PopulateResult => ({ kind: 'failed', discoveredLabels: pre, error });

  let addr = out[ADDRESS_LABEL] ?? '';
  if (addr === '') return fail('no address');
  if (!hasPort(addr) && hasPort(addr + ':1234')) {
    const scheme = out[SCHEME_LABEL] ?? '';
    if (scheme === 'http' || scheme === '') addr += ':80';
    else if (scheme === 'https') addr += ':443';
    else return fail(`invalid scheme: ${JSON.stringify(jd.cfg.scheme)}`);
    out[ADDRESS_LABEL] = addr;
  }
  if (addr.includes('/')) return fail(`${JSON.stringify(addr)} is not a valid hostname`);

  let interval: number;
  let timeout: number;
  try {
    interval = parseDuration(out[SCRAPE_INTERVAL_LABEL] ?? '');
  } catch (e) {
    return fail(`error parsing scrape interval: ${(e as Error).message}`);
  }
  if (interval === 0) return fail('scrape interval cannot be 0');
  try {
    timeout = parseDuration(out[SCRAPE_TIMEOUT_LABEL] ?? '');
  } catch (e) {
    return fail(`error parsing scrape timeout: ${(e as Error).message}`);
  }
  if (timeout === 0) return fail('scrape timeout cannot be 0');
  if (timeout > interval) {
    return fail(`scrape timeout cannot be greater than scrape interval (${JSON.stringify(out[SCRAPE_TIMEOUT_LABEL])} > ${JSON.stringify(out[SCRAPE_INTERVAL_LABEL])})`);
  }

  for (const k of Object.keys(out)) if (k.startsWith(META_LABEL_PREFIX)) delete out[k];
  if (!out[INSTANCE_LABEL]) out[INSTANCE_LABEL] = addr;
  for (const k in out) {
    if (!isValidLabelValue(out[k]!)) return fail(`invalid label value for ${JSON.stringify(k)}: ${JSON.stringify(out[k])}`);
  }
  return { kind: 'active', labels: out, discoveredLabels: pre };
}

/** Target.URL(): scheme, address and path from the labels; config params, overridden by `__param_*` labels. */
export function scrapeUrlOf(labels: Labels, params: Record<string, string[]>): string {
  const q = new Map<string, string[]>();
  for (const [k, v] of Object.entries(params)) q.set(k, [...v]);
  for (const name in labels) {
    if (!name.startsWith(PARAM_LABEL_PREFIX)) continue;
    const key = name.slice(PARAM_LABEL_PREFIX.length);
    const existing = q.get(key);
    if (existing && existing.length > 0) existing[0] = labels[name]!;
    else q.set(key, [labels[name]!]);
  }
  return formatUrl(labels[SCHEME_LABEL] ?? '', labels[ADDRESS_LABEL] ?? '', labels[METRICS_PATH_LABEL] ?? '', encodeQuery(q));
}

export interface GroupTargets {
  active: Target[];
  dropped: DroppedTarget[];
  failed: FailedTarget[];
}

/** TargetsFromGroup: target labels win over group labels. Appends to `into` (so a job's groups share arrays). */
export function targetsFromGroup(group: TargetGroup, jd: JobDefaults, into: GroupTargets): void {
  const job = jd.cfg.jobName;
  for (const t of group.targets) {
    // An empty value means "no label" (labels.Builder deletes it), yet a target's empty label still hides the
    // group's label of the same name, as in TargetsFromGroup.
    const lset: Labels = {};
    for (const k in group.labels) if (!(k in t) && group.labels[k] !== '') lset[k] = group.labels[k]!;
    for (const k in t) if (t[k] !== '') lset[k] = t[k]!;
    const r = populateLabels(lset, jd);
    if (r.kind === 'dropped') {
      into.dropped.push({ job, discoveredLabels: r.discoveredLabels });
    } else if (r.kind === 'failed') {
      into.failed.push({ job, discoveredLabels: r.discoveredLabels, error: r.error });
    } else {
      const scrapeUrl = scrapeUrlOf(r.labels, jd.cfg.params);
      into.active.push({
        hash: targetHash(r.labels, scrapeUrl),
        job,
        labels: r.labels,
        discoveredLabels: r.discoveredLabels,
        scrapeUrl,
        interval: parseDuration(r.labels[SCRAPE_INTERVAL_LABEL]!),
        timeout: parseDuration(r.labels[SCRAPE_TIMEOUT_LABEL]!),
      });
    }
  }
}

/**
 * All targets of a job from its current groups. Active targets with the same identity collapse into one, as in
 * Prometheus's scrape pool; every dropped target is kept (2.42 lists them all).
 */
export function jobTargets(groups: Iterable<TargetGroup>, jd: JobDefaults): GroupTargets {
  const acc: GroupTargets = { active: [], dropped: [], failed: [] };
  for (const g of groups) targetsFromGroup(g, jd, acc);
  const seen = new Set<string>();
  acc.active = acc.active.filter((t) => (seen.has(t.hash) ? false : (seen.add(t.hash), true)));
  return acc;
}
