/**
 * From discovered target groups to scrape targets, as Prometheus 2.42's scrape.PopulateLabels and
 * TargetsFromGroup do: add the job's defaults, relabel, check the address, interval and timeout, add the
 * default port, remove `__meta_*`, default `instance`, and build the scrape URL.
 */
import type { ScrapeConfig } from '../config/config.js';
import { formatDuration, parseDurationMemo } from '../prom/duration.js';
import {
  ADDRESS_LABEL, INSTANCE_LABEL, JOB_LABEL, META_LABEL_PREFIX, METRICS_PATH_LABEL, PARAM_LABEL_PREFIX,
  SCHEME_LABEL, SCRAPE_INTERVAL_LABEL, SCRAPE_TIMEOUT_LABEL, isValidLabelValue, type Labels,
} from '../prom/labels.js';
import { relabelLayered } from '../prom/relabel.js';
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
  readonly discoveredLabels: Labels;
  scrapeUrl: string;
  /** From `__scrape_interval__` / `__scrape_timeout__`, in ms. */
  interval: number;
  timeout: number;
  /**
   * A small number, dense over the targets of one set, given by the one that holds that set (the coordinator's
   * population: coordinator/seats.ts); -1 while none does. Not part of the target's identity or of its JSON.
   */
  seat: number;
}

export interface DroppedTarget {
  job: string;
  readonly discoveredLabels: Labels;
}

/** A target Prometheus refuses after relabeling (no address, bad interval, …): in neither list, only logged. */
export interface FailedTarget {
  job: string;
  readonly discoveredLabels: Labels;
  error: string;
}

export type PopulateResult =
  | { kind: 'active'; labels: Labels; discoveredLabels: Labels }
  | { kind: 'dropped'; discoveredLabels: Labels }
  | { kind: 'failed'; discoveredLabels: Labels; error: string };

/**
 * The discovered labels of a target, built only when asked for (the API, the table): they are the group's and
 * the target's own objects, which discovery holds anyway, plus the job's defaults, so keeping the references
 * costs nothing while a copy per target would cost both time and memory.
 */
class Discovered {
  constructor(
    private readonly own: Labels,
    private readonly group: Labels | null,
    protected readonly jd: JobDefaults,
  ) {}

  /** The job's name, from its defaults (not a field: 8 bytes per target at a million). */
  get job(): string {
    return this.jd.cfg.jobName;
  }

  get discoveredLabels(): Labels {
    return discoveredLabelsOf(this.own, this.group, this.jd);
  }

  /** The discovered labels as parallel arrays (no object built: see discoveredLabelArrays). */
  discoveredInto(names: string[], values: string[]): void {
    discoveredArraysOf(this.own, this.group, this.jd, names, values);
  }
}

/**
 * A target's discovered labels into `names` and `values` (emptied first), in no particular order: what an
 * output writer needs, without a ≈45-key object per target (slow to build in V8, and garbage right after).
 */
export function discoveredLabelArrays(t: Target | DroppedTarget | FailedTarget, names: string[], values: string[]): void {
  if (t instanceof Discovered) {
    t.discoveredInto(names, values);
    return;
  }
  const d = t.discoveredLabels;
  names.length = 0;
  values.length = 0;
  for (const k of Object.keys(d)) (names.push(k), values.push(d[k]!));
}

/** discoveredLabelsOf as arrays: same label set (own over group, empty = absent, defaults, params). */
function discoveredArraysOf(own: Labels, group: Labels | null, jd: JobDefaults, names: string[], values: string[]): void {
  names.length = 0;
  values.length = 0;
  if (group !== null) {
    const gn = Object.keys(group);
    const gv = Object.values(group);
    for (let i = 0; i < gn.length; i++) (names.push(gn[i]!), values.push(gv[i]!));
  }
  // Own labels (usually just the address) hide the group's, even with an empty value.
  for (const k of Object.keys(own)) {
    const at = group === null ? -1 : names.indexOf(k);
    if (at >= 0) values[at] = own[k]!;
    else (names.push(k), values.push(own[k]!));
  }
  if (values.includes('')) {
    let n = 0;
    for (let i = 0; i < names.length; i++) if (values[i] !== '') (names[n] = names[i]!, values[n++] = values[i]!);
    names.length = n;
    values.length = n;
  }
  for (const [k, v] of jd.defaults) if (!names.includes(k)) (names.push(k), values.push(v));
  for (const [k, v] of jd.params) {
    const at = names.indexOf(k);
    if (v === '') {
      if (at >= 0) (names.splice(at, 1), values.splice(at, 1));
    } else if (at >= 0) values[at] = v;
    else (names.push(k), values.push(v));
  }
}

class ActiveTarget extends Discovered implements Target {
  seat = -1;

  constructor(
    own: Labels,
    group: Labels | null,
    jd: JobDefaults,
    readonly hash: string,
    readonly labels: Labels,
  ) {
    super(own, group, jd);
  }

  /**
   * The interval and timeout, read from the labels when asked (population checked that they parse; each text is
   * parsed once per process): few read them (a probe, the API), and as fields they were 16 bytes per target.
   */
  get interval(): number {
    return parseDurationMemo(this.labels[SCRAPE_INTERVAL_LABEL]!) as number;
  }

  get timeout(): number {
    return parseDurationMemo(this.labels[SCRAPE_TIMEOUT_LABEL]!) as number;
  }

  /**
   * Made from the labels and the job's params when asked, not kept: a URL per target is about 56 bytes at a million
   * targets held for the few reads that need it (a probe, a log line, the API), and making it again costs what
   * population paid once for the hash.
   */
  get scrapeUrl(): string {
    return scrapeUrlOf(this.labels, this.jd.cfg.params);
  }

  /**
   * Plain data for JSON.stringify, which reads own fields only: the job, URL, interval and timeout are getters. The
   * seat is the holder's bookkeeping, not the target's.
   */
  toJSON(): Omit<Target, 'seat'> {
    const { hash, job, labels, discoveredLabels, scrapeUrl, interval, timeout } = this;
    return { hash, job, labels, discoveredLabels, scrapeUrl, interval, timeout };
  }
}

class FailedOne extends Discovered implements FailedTarget {
  constructor(own: Labels, group: Labels | null, jd: JobDefaults, readonly error: string) {
    super(own, group, jd);
  }
}

/** PopulateLabels's pre-relabel label set: own labels over group labels (empty = absent), then the job's defaults. */
export function discoveredLabelsOf(own: Labels, group: Labels | null, jd: JobDefaults): Labels {
  const pre: Labels = {};
  if (group !== null) for (const k of Object.keys(group)) if (!Object.hasOwn(own, k) && group[k] !== '') putLabel(pre, k, group[k]!);
  for (const k of Object.keys(own)) if (own[k] !== '') putLabel(pre, k, own[k]!);
  for (const [k, v] of jd.defaults) if (!Object.hasOwn(pre, k)) pre[k] = v;
  for (const [k, v] of jd.params) {
    if (v === '') delete pre[k];
    else pre[k] = v;
  }
  return pre;
}

/** Sets a label even when it is named `__proto__` (a valid Prometheus label name). */
function putLabel(out: Labels, name: string, value: string): void {
  if (name === '__proto__') Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
  else out[name] = value;
}

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

type Checked = { ok: true; labels: Labels; interval: number; timeout: number } | { ok: false; error: string } | null;

/**
 * PopulateLabels over a target's own labels and its group's (null: dropped by relabeling). The result has the
 * final labels with `__meta_*` removed, or why Prometheus refuses the target.
 */
function populate(own: Labels, group: Labels | null, jd: JobDefaults): Checked {
  // Room for `instance`, set below when the rules left none (see relabelLayered).
  const out = relabelLayered(own, group, jd.defaults, jd.params, jd.cfg.relabelConfigs, META_LABEL_PREFIX, true, INSTANCE_LABEL);
  if (out === null) return null;
  const fail = (error: string): Checked => ({ ok: false, error });

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

  const interval = parseDurationMemo(out[SCRAPE_INTERVAL_LABEL] ?? '');
  if (typeof interval === 'string') return fail(`error parsing scrape interval: ${interval}`);
  if (interval === 0) return fail('scrape interval cannot be 0');
  const timeout = parseDurationMemo(out[SCRAPE_TIMEOUT_LABEL] ?? '');
  if (typeof timeout === 'string') return fail(`error parsing scrape timeout: ${timeout}`);
  if (timeout === 0) return fail('scrape timeout cannot be 0');
  if (timeout > interval) {
    return fail(`scrape timeout cannot be greater than scrape interval (${JSON.stringify(out[SCRAPE_TIMEOUT_LABEL])} > ${JSON.stringify(out[SCRAPE_INTERVAL_LABEL])})`);
  }

  if (!out[INSTANCE_LABEL]) out[INSTANCE_LABEL] = addr;
  for (const k in out) {
    if (!isValidLabelValue(out[k]!)) return fail(`invalid label value for ${JSON.stringify(k)}: ${JSON.stringify(out[k])}`);
  }
  return { ok: true, labels: out, interval, timeout };
}

/** PopulateLabels: one target's labels from its merged group/target labels. */
export function populateLabels(lset: Labels, jd: JobDefaults): PopulateResult {
  const r = populate(lset, null, jd);
  const discoveredLabels = discoveredLabelsOf(lset, null, jd);
  if (r === null) return { kind: 'dropped', discoveredLabels };
  if (!r.ok) return { kind: 'failed', discoveredLabels, error: r.error };
  return { kind: 'active', labels: r.labels, discoveredLabels };
}

/** Target.URL(): scheme, address and path from the labels; config params, overridden by `__param_*` labels. */
export function scrapeUrlOf(labels: Labels, params: Record<string, string[]>): string {
  let anyParam = false;
  for (const _ in params) {
    anyParam = true;
    break;
  }
  if (!anyParam) {
    for (const name in labels) {
      if (name.startsWith(PARAM_LABEL_PREFIX)) {
        anyParam = true;
        break;
      }
    }
  }
  if (!anyParam) return formatUrl(labels[SCHEME_LABEL] ?? '', labels[ADDRESS_LABEL] ?? '', labels[METRICS_PATH_LABEL] ?? '', '');
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
  // Group label objects are never mutated once emitted (discovery replaces whole groups), so relabeling may
  // cache their entries per object.
  const groupLabels: Labels | null = isEmpty(group.labels) ? null : group.labels;
  for (const t of group.targets) {
    const r = populate(t, groupLabels, jd);
    if (r === null) {
      into.dropped.push(new Discovered(t, groupLabels, jd));
    } else if (!r.ok) {
      into.failed.push(new FailedOne(t, groupLabels, jd, r.error));
    } else {
      const scrapeUrl = scrapeUrlOf(r.labels, jd.cfg.params);
      into.active.push(new ActiveTarget(t, groupLabels, jd, targetHash(r.labels, scrapeUrl), r.labels));
    }
  }
}

function isEmpty(o: object): boolean {
  for (const _ in o) return false;
  return true;
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
