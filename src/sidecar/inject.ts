/**
 * The configuration a shard's Prometheus loads: the user's prometheus.yml, edited as a YAML document (never
 * re-serialised from the model, so every section kvass does not own stays as written, secrets included), with
 * each scrape job's discovery replaced by the targets assigned to this shard and every scrape sent through the
 * sidecar's proxy. The shard runs no discovery and no user relabeling: each target arrives as a static target
 * whose labels, after the few generated rules below, are exactly its final labels as kvass computed them.
 *
 * Label reproduction. Each final label (except `__address__`, the static target itself, and `__scheme__`, which
 * becomes `http` because the proxy speaks the real scheme) travels as a static label `__kvass_l_<name>`; rules
 * then run, in this order:
 * 1. `labelmap` rules for label names with characters outside `[a-zA-Z0-9_]` ("foo-bar", "ü", "a$b"). A static
 *    label cannot carry such a name, and Prometheus 2.42 accepts as labelmap `replacement` only a template of
 *    word characters and `${n}` references, so such a name is spelled from capture groups over the name of a
 *    `__param_<key>` label that the job's `params` set. This is also the only way such a name arises in 2.42
 *    (static and SD label names are validated), which is why its value is a job constant and a source exists.
 * 2. `labeldrop` of the labels Prometheus adds before relabeling (`job`, `__metrics_path__`, the `__param_*` of
 *    the job's `params`, …) when some target's final labels do not have them; the next rule restores them for
 *    the targets that do.
 * 3. `labelmap __kvass_l_(.+)` → `$1`.
 * 4. `labelmap` rules for invalid names made of word characters only (a leading digit, e.g. from a labelmap
 *    `$1`), which vary per target: the static label is `__kvass_x_<hex of the UTF-8 name>` and the leading
 *    digit is captured from its own hex digits (digit d is hex `3d`), since a template cannot start with one.
 * 5. `labeldrop __kvass_[lx]_.*`.
 * `__param_kvass_target: <hash>` on every target becomes the query parameter telling the proxy which target it is.
 */
import { isAbsolute, resolve } from 'node:path';
import YAML, { isAlias, isMap, isPair, isScalar, isSeq, Pair, Scalar, YAMLMap, YAMLSeq, type Document, type Node as YamlNode, type ScalarTag } from 'yaml';
import type { PromConfig, ScrapeConfig } from '../config/config.js';
import {
  ADDRESS_LABEL, JOB_LABEL, METRICS_PATH_LABEL, PARAM_LABEL_PREFIX, SCHEME_LABEL, SCRAPE_INTERVAL_LABEL,
  SCRAPE_TIMEOUT_LABEL, isValidLabelName, type Labels,
} from '../prom/labels.js';
import { ALL_SD_KEYS } from '../discovery/registry.js';

export interface AssignedTarget {
  hash: string;
  /** The job_name (the scrape pool), not the `job` label, which relabeling may have changed. */
  job: string;
  /** Final labels after relabeling, reserved ones included, `__meta_*` removed. */
  labels: Labels;
}

export interface InjectOptions {
  /** Every scrape goes through it, e.g. "http://127.0.0.1:8008". */
  proxyUrl: string;
  /** Default false: `rule_files` and `alerting` are removed (rules and alerts are evaluated elsewhere). */
  keepRulesAndAlerting?: boolean;
  /** Folder the output is written to; relative paths are made absolute when it is not the config's folder. */
  outputDir: string;
  /** Set in `global.external_labels`, overwriting same-named labels (e.g. a replica label). */
  extraExternalLabels?: Labels;
}

/** The URL query parameter carrying the target's hash to the proxy. */
export const TARGET_PARAM = 'kvass_target';

const TARGET_PARAM_LABEL = PARAM_LABEL_PREFIX + TARGET_PARAM;
const VALID_PREFIX = '__kvass_l_';
const HEX_PREFIX = '__kvass_x_';
const SD_KEYS: ReadonlySet<string> = new Set(ALL_SD_KEYS);
/** The proxy applies the job's own proxy settings; Prometheus only talks to the proxy (`proxy_url` is replaced). */
const PROXY_FIELDS: ReadonlySet<string> = new Set(['proxy_connect_header', 'no_proxy', 'proxy_from_environment']);
/** Fields holding a file path that Prometheus resolves against the config file's folder. */
const PATH_FIELDS: ReadonlySet<string> = new Set([
  'ca_file', 'cert_file', 'key_file', 'password_file', 'bearer_token_file', 'credentials_file', 'client_secret_file',
  'kubeconfig_file', 'secret_key_file', 'query_log_file',
]);
/** Lists of paths or globs, resolved the same way. */
const PATH_LIST_FIELDS: ReadonlySet<string> = new Set(['files', 'rule_files']);
/** Maps whose keys are user data (header names, label names, …), never field names: not searched for paths. */
const FREE_FORM_FIELDS: ReadonlySet<string> = new Set([
  'headers', 'params', 'endpoint_params', 'external_labels', 'labels', 'proxy_connect_header',
  'relabel_configs', 'metric_relabel_configs', 'write_relabel_configs', 'alert_relabel_configs',
]);

/**
 * Text written to the output exactly as given. The yaml library re-prints non-string scalars from their value
 * (`1_000` → `1000`, `1e3` → `1e+3`, `+1` → `1`), but Prometheus's yaml.v2 hands a string field the source text,
 * so scalars are kept as written; and its double-quoted strings leave C1 controls, DEL and U+2028 raw, which
 * yaml.v2 refuses or folds, so strings kvass writes are quoted by yamlQuoted below.
 */
class Verbatim {
  constructor(readonly text: string) {}
}

const VERBATIM_TAG: ScalarTag = {
  tag: 'tag:kvass,2024:verbatim',
  default: true,
  identify: (v) => v instanceof Verbatim,
  resolve: (s) => s,
  stringify: (item) => ((item as Scalar).value as Verbatim).text,
};

/** A YAML 1.1 double-quoted scalar that yaml.v2 reads back as exactly `s`. */
function yamlQuoted(s: string): string {
  if (/^[\x20\x21\x23-\x5b\x5d-\x7e]*$/.test(s)) return `"${s}"`; // printable ASCII without `"` and `\`
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (c >= 0x20 && c < 0x7f) out += ch;
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x09) out += '\\t';
    else if (c < 0xa0) out += '\\x' + c.toString(16).padStart(2, '0');
    else if (c === 0x2028 || c === 0x2029 || c === 0xfeff || c === 0xfffe || c === 0xffff || (c >= 0xd800 && c <= 0xdfff)) {
      out += '\\u' + c.toString(16).padStart(4, '0');
    } else out += ch;
  }
  return out + '"';
}

function quoted(s: string): Scalar {
  return new Scalar(new Verbatim(yamlQuoted(s)));
}

/** Go's regexp.QuoteMeta. */
function quoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

function keyText(key: unknown): string {
  if (!isScalar(key)) return '';
  return key.value instanceof Verbatim ? key.value.text : key.source ?? String(key.value);
}

function setField(map: YAMLMap, key: string, value: unknown): void {
  const pair = map.items.find((p) => keyText(p.key) === key);
  if (pair) pair.value = value;
  else map.items.push(new Pair(new Scalar(key), value));
}

/** Replaces `<<` merge keys by the pairs they bring (explicit keys win, then earlier sources, as config.ts reads them). */
function flattenMerges(map: YAMLMap): void {
  const seen = new Set(map.items.filter((p) => keyText(p.key) !== '<<').map((p) => keyText(p.key)));
  const out: Pair[] = [];
  for (const p of map.items) {
    if (keyText(p.key) !== '<<') {
      out.push(p as Pair);
      continue;
    }
    for (const source of isSeq(p.value) ? p.value.items : [p.value]) {
      if (!isMap(source)) continue;
      const merged = source.clone() as YAMLMap;
      flattenMerges(merged);
      for (const q of merged.items) {
        if (!seen.has(keyText(q.key))) {
          seen.add(keyText(q.key));
          out.push(q as Pair);
        }
      }
    }
  }
  map.items = out;
}

/**
 * Replaces aliases by copies of what they name wherever an edit could reach through them: inside the sections
 * kvass rewrites or removes, and elsewhere when the anchor lives in one of them (it would dangle or change).
 */
function expandAliases(doc: Document, volatile: ReadonlySet<string>): void {
  const top = doc.contents;
  if (!isMap(top)) return;
  const volatileNodes = new Set<unknown>();
  for (const p of top.items) {
    if (volatile.has(keyText(p.key)) && p.value) YAML.visit(p.value as never, (_k, n) => void volatileNodes.add(n));
  }
  YAML.visit(doc, {
    Alias(_key, alias, path) {
      const topPair = path[2];
      const target = alias.resolve(doc);
      if (!target) return undefined;
      if (!(isPair(topPair) && volatile.has(keyText(topPair.key))) && !volatileNodes.has(target)) return undefined;
      const copy = target.clone() as YamlNode;
      YAML.visit(copy, (_k, n) => {
        if (n && typeof n === 'object' && 'anchor' in n) (n as { anchor?: string }).anchor = undefined;
      });
      return copy; // visited next, so aliases inside it are expanded too
    },
  });
}

function relocate(node: unknown, dir: string, doc: Document): void {
  const n = isAlias(node) ? node.resolve(doc) : node;
  if (!isScalar(n) || n.value instanceof Verbatim || n.value === null || n.value === undefined) return;
  const text = typeof n.value === 'string' ? n.value : n.source ?? String(n.value);
  if (text === '' || isAbsolute(text)) return;
  n.value = new Verbatim(yamlQuoted(resolve(dir, text))); // filepath.Join(dir, path) in Prometheus
}

/** Makes every relative path field absolute against `dir`. Shared (aliased) nodes are rewritten once, in place. */
function relocatePaths(node: unknown, dir: string, doc: Document, depth = 0): void {
  if (depth > 200) return;
  const n = isAlias(node) ? node.resolve(doc) : node;
  if (isSeq(n)) {
    for (const item of n.items) relocatePaths(item, dir, doc, depth + 1);
  } else if (isMap(n)) {
    for (const p of n.items) {
      const k = keyText(p.key);
      if (FREE_FORM_FIELDS.has(k)) continue;
      if (PATH_FIELDS.has(k)) relocate(p.value, dir, doc);
      else if (PATH_LIST_FIELDS.has(k)) {
        const list = isAlias(p.value) ? p.value.resolve(doc) : p.value;
        if (isSeq(list)) for (const item of list.items) relocate(item, dir, doc);
      } else relocatePaths(p.value, dir, doc, depth + 1);
    }
  }
}

const NEEDS_ESCAPE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]/;

/**
 * See Verbatim: non-string scalars print their source text; strings yaml.v2 would misread are re-quoted.
 * `generated` (kvass's own, already quoted) subtrees are skipped: they hold nearly every node of a big shard.
 */
function keepScalarsAsWritten(doc: Document, generated: ReadonlySet<unknown>): void {
  YAML.visit(doc, {
    Seq: (_key, n) => (generated.has(n) ? YAML.visit.SKIP : undefined),
    Scalar(_key, n) {
      if (n.value instanceof Verbatim) return;
      if (typeof n.value === 'string') {
        if (NEEDS_ESCAPE.test(n.value) || (n.type === 'QUOTE_DOUBLE' && n.value.includes('\n'))) n.value = new Verbatim(yamlQuoted(n.value));
      } else if (n.tag === undefined && n.source !== undefined && (n.type === 'PLAIN' || n.type === undefined)) {
        n.value = new Verbatim(n.source);
      }
    },
  });
}

function relabelRule(action: string, regex: string, replacement?: string): YAMLMap {
  const m = new YAMLMap();
  m.items.push(new Pair(new Scalar('action'), new Scalar(action)));
  m.items.push(new Pair(new Scalar('regex'), quoted(regex)));
  if (replacement !== undefined) m.items.push(new Pair(new Scalar('replacement'), quoted(replacement)));
  return m;
}

/** Step 4: the rule recreating a word-character name that is not a valid label name (empty, or a leading digit). */
function hexNameRule(name: string, hex: string): YAMLMap {
  if (name === '') return relabelRule('labelmap', `${HEX_PREFIX}()`, '${1}');
  return relabelRule('labelmap', `${HEX_PREFIX}${hex.slice(0, 1)}(${name[0]})${hex.slice(2)}`, '${1}' + name.slice(1));
}

/**
 * Step 1: a labelmap from one of `sources` (the job's `__param_<key>` labels and their values) whose value is
 * `value` to `name`; null when `name` is that source itself, present anyway.
 */
function paramNameRule(job: string, name: string, value: string, sources: ReadonlyArray<readonly [string, string]>): { source: string; rule: YAMLMap } | null {
  const chars = Array.from(name);
  const literal = (c: string, i: number) => (i === 0 ? /^[A-Za-z_]$/ : /^\w$/).test(c);
  const needed = new Set(chars.filter((c, i) => !literal(c, i)));
  for (const [source, sourceValue] of sources) {
    if (sourceValue !== value) continue;
    if (source === name) return null;
    const sourceChars = Array.from(source);
    if (![...needed].every((c) => sourceChars.includes(c))) continue;
    const group = new Map<string, number>();
    let regex = '';
    for (const c of sourceChars) {
      if (needed.has(c) && !group.has(c)) {
        group.set(c, group.size + 1);
        regex += `(${quoteMeta(c)})`;
      } else regex += quoteMeta(c);
    }
    return { source, rule: relabelRule('labelmap', regex, chars.map((c, i) => (literal(c, i) ? c : `\${${group.get(c)}}`)).join('')) };
  }
  throw new Error(`job ${JSON.stringify(job)}: label ${JSON.stringify(name)}=${JSON.stringify(value)} cannot be reproduced: ` +
    'no params label of the job has its value and the characters of its name');
}

/** The static target groups and the relabel rules reproducing each target's final labels (see the file comment). */
function staticTargetsAndRules(sc: ScrapeConfig, targets: readonly AssignedTarget[]): { groups: YAMLSeq; rules: YAMLSeq } {
  const job = sc.jobName;
  const paramSources: Array<[string, string]> = Object.entries(sc.params)
    .filter(([, v]) => v.length > 0 && v[0] !== '')
    .map(([k, v]) => [PARAM_LABEL_PREFIX + k, v[0]!]);
  if (Object.hasOwn(sc.params, TARGET_PARAM)) throw new Error(`job ${JSON.stringify(job)}: params must not set ${TARGET_PARAM}, kvass uses it`);
  // Labels PopulateLabels sets before relabeling, which relabeling may have removed.
  const presets = [JOB_LABEL, METRICS_PATH_LABEL, SCRAPE_INTERVAL_LABEL, SCRAPE_TIMEOUT_LABEL, ...paramSources.map(([n]) => n)];
  const absentPresets = new Set<string>();
  const hexNames = new Map<string, string>();
  let paramNamed: Map<string, string> | undefined;
  const groups = new YAMLSeq();
  groups.flow = targets.length === 0;
  for (const t of targets) {
    const address = t.labels[ADDRESS_LABEL];
    if (!address) throw new Error(`job ${JSON.stringify(job)}: target ${t.hash} has no ${ADDRESS_LABEL}`);
    const labels: Array<[string, string]> = [];
    const own = new Map<string, string>();
    for (const name of Object.keys(t.labels).sort()) {
      const value = t.labels[name]!;
      if (name === ADDRESS_LABEL || name === SCHEME_LABEL || value === '') continue;
      if (name.startsWith('__kvass_') || name === TARGET_PARAM_LABEL) {
        throw new Error(`job ${JSON.stringify(job)}: target ${t.hash} has label ${JSON.stringify(name)}, a name kvass reserves`);
      }
      if (isValidLabelName(name)) labels.push([VALID_PREFIX + name, value]);
      else if (/^\w*$/.test(name)) {
        const hex = Buffer.from(name, 'utf8').toString('hex');
        hexNames.set(hex, name);
        labels.push([HEX_PREFIX + hex, value]);
      } else own.set(name, value);
    }
    for (const name of presets) if (!Object.hasOwn(t.labels, name) || t.labels[name] === '') absentPresets.add(name);
    // Names from step 1 come from job-wide params by unconditional rules: every target must have the same ones.
    if (paramNamed === undefined) paramNamed = own;
    else if (own.size !== paramNamed.size || [...own].some(([n, v]) => paramNamed!.get(n) !== v)) {
      throw new Error(`job ${JSON.stringify(job)}: targets differ in labels whose names are not valid label names, which cannot be reproduced`);
    }
    // One flow mapping per target, written as text: a shard holds thousands of targets, and as YAML nodes
    // (≈20 per target) the library's printing took most of the time. Label names are valid: plain YAML.
    const pairs = [[TARGET_PARAM_LABEL, t.hash], ...labels].map(([n, v]) => `${n}: ${yamlQuoted(v!)}`);
    groups.items.push(new Scalar(new Verbatim(`{targets: [${yamlQuoted(address)}], labels: {${pairs.join(', ')}}}`)));
  }

  const rules = new YAMLSeq();
  const written = new Set<string>();
  const read = new Set<string>();
  for (const [name, value] of paramNamed ?? []) {
    const made = paramNameRule(job, name, value, paramSources);
    if (!made) continue;
    rules.items.push(made.rule);
    written.add(name);
    read.add(made.source);
  }
  // Each step-1 rule must read its source's value as the params set it, not as another step-1 rule wrote it.
  for (const name of written) {
    if (read.has(name)) throw new Error(`job ${JSON.stringify(job)}: label ${JSON.stringify(name)} is both written and read by the generated rules; cannot be reproduced`);
  }
  // An invalid preset name absent somewhere is absent everywhere (checked above), so dropping it for all is exact.
  const drop = presets.filter((n) => absentPresets.has(n));
  if (drop.length > 0) rules.items.push(relabelRule('labeldrop', drop.map(quoteMeta).join('|')));
  rules.items.push(relabelRule('labelmap', `${VALID_PREFIX}(.+)`, '$1'));
  for (const [hex, name] of [...hexNames].sort()) rules.items.push(hexNameRule(name, hex));
  rules.items.push(relabelRule('labeldrop', '__kvass_[lx]_.*'));
  return { groups, rules };
}

/** Rule 3 of the design: discovery → the static groups, relabeling → the generated rules, scrapes → the proxy. */
function rewriteJob(job: YAMLMap, groups: YAMLSeq, rules: YAMLSeq, proxyUrl: string): void {
  flattenMerges(job);
  const staticPair = new Pair(new Scalar('static_configs'), groups);
  const firstSd = job.items.findIndex((p) => SD_KEYS.has(keyText(p.key)));
  if (firstSd >= 0) job.items[firstSd] = staticPair;
  else job.items.push(staticPair);
  job.items = job.items.filter((p) => p === staticPair || !(SD_KEYS.has(keyText(p.key)) || PROXY_FIELDS.has(keyText(p.key))));
  setField(job, 'relabel_configs', rules);
  setField(job, 'scheme', new Scalar('http'));
  setField(job, 'proxy_url', quoted(proxyUrl));
}

function addExternalLabels(top: YAMLMap, extra: Labels): void {
  let global = top.items.find((p) => keyText(p.key) === 'global');
  if (!global) {
    global = new Pair(new Scalar('global'), new YAMLMap());
    top.items.unshift(global);
  }
  if (!isMap(global.value)) global.value = new YAMLMap();
  const g = global.value as YAMLMap;
  flattenMerges(g);
  let labels = g.items.find((p) => keyText(p.key) === 'external_labels');
  if (!labels) {
    labels = new Pair(new Scalar('external_labels'), new YAMLMap());
    g.items.push(labels);
  }
  if (!isMap(labels.value)) labels.value = new YAMLMap();
  const m = labels.value as YAMLMap;
  flattenMerges(m);
  for (const [name, value] of Object.entries(extra)) {
    const pair = m.items.find((p) => keyText(p.key) === name);
    if (pair) pair.value = quoted(value);
    else m.items.push(new Pair(new Scalar(name), quoted(value)));
  }
}

/** The YAML text of the configuration the shard's Prometheus loads. Throws when a target cannot be reproduced. */
export function injectConfig(cfg: PromConfig, targets: readonly AssignedTarget[], opts: InjectOptions): string {
  const doc = cfg.document.clone();
  doc.schema.tags = [VERBATIM_TAG, ...doc.schema.tags];
  const keep = opts.keepRulesAndAlerting ?? false;
  const extra = opts.extraExternalLabels ?? {};
  const volatile = new Set(['scrape_configs']);
  if (!keep) ['rule_files', 'alerting'].forEach((k) => volatile.add(k));
  if (Object.keys(extra).length > 0) volatile.add('global');
  expandAliases(doc, volatile);

  if (!isMap(doc.contents)) doc.contents = new YAMLMap() as never;
  const top = doc.contents as unknown as YAMLMap;
  if (!keep) top.items = top.items.filter((p) => !['rule_files', 'alerting'].includes(keyText(p.key)));

  const byJob = new Map<string, AssignedTarget[]>(cfg.scrapeConfigs.map((sc) => [sc.jobName, []]));
  for (const t of targets) {
    const list = byJob.get(t.job);
    if (!list) throw new Error(`target ${t.hash} belongs to job ${JSON.stringify(t.job)}, which the configuration does not have`);
    list.push(t);
  }
  const jobs = top.items.find((p) => keyText(p.key) === 'scrape_configs')?.value;
  const generated = new Set<unknown>();
  for (const sc of cfg.scrapeConfigs) {
    const job = isSeq(jobs) ? jobs.items[sc.path[1] as number] : undefined;
    if (!isMap(job)) throw new Error(`job ${JSON.stringify(sc.jobName)}: not found at scrape_configs[${String(sc.path[1])}] of the document`);
    const { groups, rules } = staticTargetsAndRules(sc, byJob.get(sc.jobName)!);
    rewriteJob(job, groups, rules, opts.proxyUrl);
    generated.add(groups).add(rules);
  }
  if (Object.keys(extra).length > 0) addExternalLabels(top, extra);
  if (resolve(opts.outputDir) !== resolve(cfg.dir)) relocatePaths(top, cfg.dir, doc);
  keepScalarsAsWritten(doc, generated);
  // Without %YAML/%TAG directives to keep, skip the library's search of every node for tags to declare.
  const d = doc.directives;
  const plainDirectives = !d || (!d.yaml.explicit && Object.entries(d.tags).every(([h, p]) => (h === '!' && p === '!') || (h === '!!' && p === 'tag:yaml.org,2002:')));
  return doc.toString({ lineWidth: 0, ...(plainDirectives ? { directives: false } : {}) });
}
