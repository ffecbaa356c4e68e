/**
 * The Prometheus configuration model: load prometheus.yml, apply Prometheus 2.42's defaults, inherit global values
 * into jobs and validate as Prometheus does. The parsed YAML Document is kept so later rewrites (the sidecar's
 * injected config) can edit its structure and leave every other field, secrets included, as the user wrote it.
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import YAML, { isMap, isPair, isScalar, LineCounter, type Document, type Node as YamlNode } from 'yaml';
import { ConfigError, LocatedConfigError, type YamlPath } from '../prom/errors.js';
import { readBool, readDuration, readInt, readLabelSet, readList, readMap, readString, readStringList, isPlainMap, optString, type Plain } from '../prom/decode.js';
import { formatDuration } from '../prom/duration.js';
import { HTTP_CLIENT_FIELDS, readHttpClientConfig, type HttpClientConfig } from './http-client.js';
import { readRelabelConfigs, type RelabelConfig } from '../prom/relabel.js';
import type { Labels } from '../prom/labels.js';
import { aliasBudget, toPlain } from '../prom/yaml-plain.js';
import { ALL_SD_KEYS, SD_MECHANISMS, SUPPORTED_SD_KEYS } from '../discovery/registry.js';
import type { SdMechanism } from '../discovery/types.js';

export interface GlobalConfig {
  scrapeInterval: number; // ms
  scrapeTimeout: number;
  evaluationInterval: number;
  externalLabels: Labels;
  queryLogFile: string;
}

/** One `*_sd_configs` entry (or one `static_configs` list) of a job, with the mechanism that runs it. */
export interface SdEntry {
  key: string;
  index: number;
  mechanism: SdMechanism;
  config: unknown;
}

export interface ScrapeConfig {
  jobName: string;
  /** Where the job sits in the document: `['scrape_configs', i]`. */
  path: YamlPath;
  honorLabels: boolean;
  honorTimestamps: boolean;
  params: Record<string, string[]>;
  scrapeInterval: number; // ms
  scrapeTimeout: number;
  metricsPath: string;
  scheme: string;
  bodySizeLimit: number; // bytes, 0 = none
  sampleLimit: number;
  targetLimit: number;
  labelLimit: number;
  labelNameLengthLimit: number;
  labelValueLengthLimit: number;
  http: HttpClientConfig;
  relabelConfigs: RelabelConfig[];
  metricRelabelConfigs: RelabelConfig[];
  serviceDiscovery: SdEntry[];
}

export interface PromConfig {
  /** Absolute path of the file, or a name given for in-memory text. */
  file: string;
  /** Folder that relative paths resolve against. */
  dir: string;
  /** The parsed document, for structural rewrites. */
  document: Document.Parsed;
  global: GlobalConfig;
  scrapeConfigs: ScrapeConfig[];
  ruleFiles: string[];
  /** The source text, byte for byte. */
  text: string;
}

export const DEFAULT_GLOBAL = { scrapeInterval: 60_000, scrapeTimeout: 10_000, evaluationInterval: 60_000 } as const;

const TOP_FIELDS = ['global', 'alerting', 'rule_files', 'scrape_configs', 'storage', 'tracing', 'remote_write', 'remote_read'];
const GLOBAL_FIELDS = ['scrape_interval', 'scrape_timeout', 'evaluation_interval', 'query_log_file', 'external_labels'];
const SCRAPE_FIELDS = [
  'job_name', 'honor_labels', 'honor_timestamps', 'params', 'scrape_interval', 'scrape_timeout', 'metrics_path', 'scheme',
  'body_size_limit', 'sample_limit', 'target_limit', 'label_limit', 'label_name_length_limit', 'label_value_length_limit',
  'relabel_configs', 'metric_relabel_configs', ...HTTP_CLIENT_FIELDS, ...ALL_SD_KEYS,
];

const BYTE_UNITS: Record<string, number> = { B: 1, KB: 2 ** 10, MB: 2 ** 20, GB: 2 ** 30, TB: 2 ** 40, PB: 2 ** 50, EB: 2 ** 60, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40, PiB: 2 ** 50, EiB: 2 ** 60 };

/** alecthomas/units.Base2Bytes as Prometheus reads `body_size_limit` (`10MB`, `1GiB`, `0`). */
function readByteSize(v: unknown, path: YamlPath): number {
  if (v === undefined || v === null) return 0;
  const s = readString(v, path, 'body_size_limit');
  if (s === '0') return 0;
  let total = 0;
  const re = /(\d+(?:\.\d+)?)([KMGTPE]i?B|B)/y;
  let pos = 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m || BYTE_UNITS[m[2]!] === undefined) throw new ConfigError(`body_size_limit: invalid size ${JSON.stringify(s)}`, path);
    total += Number(m[1]) * BYTE_UNITS[m[2]!]!;
    pos = re.lastIndex;
  }
  if (s.length === 0) throw new ConfigError('body_size_limit: empty size', path);
  return Math.floor(total);
}

function readGlobal(raw: unknown): GlobalConfig {
  const path = ['global'];
  const g = readMap(raw, path, 'global config', GLOBAL_FIELDS);
  const scrapeInterval = readDuration(g.scrape_interval, [...path, 'scrape_interval'], 'scrape_interval', DEFAULT_GLOBAL.scrapeInterval);
  let scrapeTimeout = readDuration(g.scrape_timeout, [...path, 'scrape_timeout'], 'scrape_timeout', 0);
  if (scrapeInterval === 0) throw new ConfigError('scrape_interval: must be greater than 0', [...path, 'scrape_interval']);
  if (scrapeTimeout > scrapeInterval) throw new ConfigError('global scrape timeout greater than scrape interval', [...path, 'scrape_timeout']);
  if (scrapeTimeout === 0) scrapeTimeout = Math.min(DEFAULT_GLOBAL.scrapeTimeout, scrapeInterval);
  const externalLabels = readLabelSet(g.external_labels, [...path, 'external_labels'], 'external_labels');
  for (const [k, v] of Object.entries(externalLabels)) {
    if (k === '__name__') throw new ConfigError(`${JSON.stringify(k)} is not a valid label name`, [...path, 'external_labels', k], true);
    if (v === '') delete externalLabels[k]; // Prometheus drops empty external labels
  }
  return {
    scrapeInterval,
    scrapeTimeout,
    evaluationInterval: readDuration(g.evaluation_interval, [...path, 'evaluation_interval'], 'evaluation_interval', DEFAULT_GLOBAL.evaluationInterval),
    externalLabels,
    queryLogFile: optString(g.query_log_file, [...path, 'query_log_file'], 'query_log_file', ''),
  };
}

function readParams(v: unknown, path: YamlPath): Record<string, string[]> {
  if (v === undefined || v === null) return {};
  if (!isPlainMap(v)) throw new ConfigError('params: expected a mapping of names to lists of values', path);
  const out: Record<string, string[]> = {};
  for (const [k, vals] of Object.entries(v)) out[k] = readStringList(vals, [...path, k], `params.${k}`);
  return out;
}

function readScrapeConfig(raw: unknown, path: YamlPath, global: GlobalConfig, dir: string): ScrapeConfig {
  const at = (k: string): YamlPath => [...path, k];
  const s = readMap(raw, path, 'scrape config', SCRAPE_FIELDS);
  const jobName = optString(s.job_name, at('job_name'), 'job_name', '');
  if (jobName === '') throw new ConfigError('job_name is empty', path);
  const scrapeInterval = readDuration(s.scrape_interval, at('scrape_interval'), 'scrape_interval', 0) || global.scrapeInterval;
  let scrapeTimeout = readDuration(s.scrape_timeout, at('scrape_timeout'), 'scrape_timeout', 0);
  if (scrapeTimeout > scrapeInterval) {
    throw new ConfigError(`scrape timeout greater than scrape interval for scrape config with job name ${JSON.stringify(jobName)}`, at('scrape_timeout'));
  }
  if (scrapeTimeout === 0) scrapeTimeout = Math.min(global.scrapeTimeout, scrapeInterval);
  const relabelConfigs = readRelabelConfigs(s.relabel_configs, at('relabel_configs'), 'target relabeling rule');
  const metricRelabelConfigs = readRelabelConfigs(s.metric_relabel_configs, at('metric_relabel_configs'), 'metric relabeling rule');
  const ctx = { configDir: dir, jobName };
  const serviceDiscovery: SdEntry[] = [];
  for (const key of ALL_SD_KEYS) {
    if (s[key] === undefined || s[key] === null) continue;
    const list = readList(s[key], at(key), key);
    const mechanism = SD_MECHANISMS.get(key);
    if (!mechanism) {
      if (list.length === 0) continue;
      throw new ConfigError(
        `${key} is not supported by kvass (supported: ${SUPPORTED_SD_KEYS.join(', ')}); the job's targets cannot be discovered`,
        at(key), true);
    }
    list.forEach((entry, index) => {
      serviceDiscovery.push({ key, index, mechanism, config: mechanism.read(entry, [...at(key), index], ctx) });
    });
  }
  const scheme = optString(s.scheme, at('scheme'), 'scheme', 'http');
  if (scheme !== 'http' && scheme !== 'https') throw new ConfigError(`scheme: invalid scheme ${JSON.stringify(scheme)}, must be http or https`, at('scheme'));
  const cfg: ScrapeConfig = {
    jobName,
    path,
    honorLabels: readBool(s.honor_labels, at('honor_labels'), 'honor_labels', false),
    honorTimestamps: readBool(s.honor_timestamps, at('honor_timestamps'), 'honor_timestamps', true),
    params: readParams(s.params, at('params')),
    scrapeInterval,
    scrapeTimeout,
    metricsPath: optString(s.metrics_path, at('metrics_path'), 'metrics_path', '/metrics'),
    scheme,
    bodySizeLimit: readByteSize(s.body_size_limit, at('body_size_limit')),
    sampleLimit: readInt(s.sample_limit, at('sample_limit'), 'sample_limit', 0),
    targetLimit: readInt(s.target_limit, at('target_limit'), 'target_limit', 0),
    labelLimit: readInt(s.label_limit, at('label_limit'), 'label_limit', 0),
    labelNameLengthLimit: readInt(s.label_name_length_limit, at('label_name_length_limit'), 'label_name_length_limit', 0),
    labelValueLengthLimit: readInt(s.label_value_length_limit, at('label_value_length_limit'), 'label_value_length_limit', 0),
    http: readHttpClientConfig(s, path, dir),
    relabelConfigs,
    metricRelabelConfigs,
    serviceDiscovery,
  };
  // Prometheus checks static targets for URLs only when no relabeling could rewrite them.
  if (relabelConfigs.length === 0) {
    for (const e of serviceDiscovery) {
      if (e.key !== 'static_configs') continue;
      const groups = e.config as { targets: Labels[] };
      groups.targets.forEach((t, i) => {
        const addr = t.__address__ ?? '';
        if (addr.includes('/')) throw new ConfigError(`${JSON.stringify(addr)} is not a valid hostname`, [...at('static_configs'), e.index, 'targets', i]);
      });
    }
  }
  return cfg;
}

/** The place of `path` in the document as 1-based line and column. */
function locate(doc: Document.Parsed, lines: LineCounter, path: YamlPath, atKey: boolean): { line: number; col: number } {
  let node: unknown = doc.contents;
  let best: YamlNode | null = (doc.contents as YamlNode | null) ?? null;
  for (let i = 0; i < path.length; i++) {
    const key = path[i]!;
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(key));
      if (!pair) break;
      if (last && atKey) { best = pair.key as YamlNode; break; }
      node = pair.value;
      best = (pair.value as YamlNode | null) ?? (pair.key as YamlNode);
    } else if (node && typeof node === 'object' && 'items' in node && Array.isArray((node as { items: unknown[] }).items) && typeof key === 'number') {
      const item = (node as { items: unknown[] }).items[key];
      if (item === undefined) break;
      node = item;
      best = item as YamlNode;
    } else break;
  }
  const offset = best?.range?.[0] ?? 0;
  return lines.linePos(offset);
}

/** Where the second occurrence of a key in one mapping is (the yaml library reports the mapping's start). */
function duplicateKeyPosition(text: string): { line: number; col: number } | undefined {
  const lines = new LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter: lines, uniqueKeys: false, version: '1.1' });
  let found: number | undefined;
  YAML.visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const p of map.items) {
        const k = isScalar(p.key) ? String(p.key.value) : JSON.stringify(p.key);
        if (seen.has(k) && found === undefined) {
          found = (p.key as YamlNode).range?.[0];
          return YAML.visit.BREAK;
        }
        seen.add(k);
      }
      return undefined;
    },
  });
  return found === undefined ? undefined : lines.linePos(found);
}

/** The largest configuration read or pushed (a big cluster's prometheus.yml is a few MiB). */
export const MAX_CONFIG_BYTES = 16 << 20;

/** Parses configuration text; throws LocatedConfigError (file:line:col, job) on the first problem. */
export function parseConfig(text: string, file: string, dir = dirname(resolve(file))): PromConfig {
  if (text.length > MAX_CONFIG_BYTES) throw new LocatedConfigError(`configuration larger than ${MAX_CONFIG_BYTES} bytes`, file, 1, 1);
  const lines = new LineCounter();
  const document = YAML.parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, version: '1.1' });
  const yamlErr = document.errors[0];
  if (yamlErr) {
    const pos = (yamlErr.code === 'DUPLICATE_KEY' ? duplicateKeyPosition(text) : undefined) ?? yamlErr.linePos?.[0] ?? { line: 1, col: 1 };
    throw new LocatedConfigError(`invalid YAML: ${yamlErr.message.split('\n')[0]}`, file, pos.line, pos.col);
  }
  let raw: unknown;
  try {
    raw = toPlain(document.contents, document, 0, { viaAlias: 0, limit: aliasBudget(text.length) });
  } catch (e) {
    throw new LocatedConfigError(`invalid YAML: ${(e as Error).message}`, file, 1, 1);
  }
  let job: string | undefined;
  try {
    const top = readMap(raw ?? {}, [], 'configuration file', TOP_FIELDS) as Plain;
    const global = readGlobal(top.global);
    const ruleFiles = readStringList(top.rule_files, ['rule_files'], 'rule_files');
    const jobs = readList(top.scrape_configs, ['scrape_configs'], 'scrape_configs');
    const seen = new Set<string>();
    const scrapeConfigs: ScrapeConfig[] = [];
    jobs.forEach((j, i) => {
      const path = ['scrape_configs', i];
      job = isPlainMap(j) && typeof j.job_name === 'string' ? j.job_name : undefined;
      if (j === null || j === undefined) throw new ConfigError('empty or null scrape config section', path);
      const sc = readScrapeConfig(j, path, global, dir);
      if (seen.has(sc.jobName)) throw new ConfigError(`found multiple scrape configs with job name ${JSON.stringify(sc.jobName)}`, [...path, 'job_name']);
      seen.add(sc.jobName);
      scrapeConfigs.push(sc);
    });
    job = undefined;
    for (const k of ['alerting', 'storage', 'tracing'] as const) readMap(top[k], [k], k, Object.keys(isPlainMap(top[k]) ? top[k] : {}));
    for (const k of ['remote_write', 'remote_read'] as const) readList(top[k], [k], k);
    return { file, dir, document, global, scrapeConfigs, ruleFiles, text };
  } catch (e) {
    if (e instanceof ConfigError) {
      const { line, col } = locate(document, lines, e.path, e.atKey);
      throw new LocatedConfigError(e.message, file, line, col, job);
    }
    throw e;
  }
}

/** A configuration file's text, refused unread when it is larger than MAX_CONFIG_BYTES. */
export async function readConfigText(file: string): Promise<string> {
  const size = (await stat(file)).size;
  if (size > MAX_CONFIG_BYTES) throw new Error(`configuration file ${file} is larger than ${MAX_CONFIG_BYTES} bytes`);
  return readFile(file, 'utf8');
}

/** Reads and parses a configuration file. */
export async function loadConfigFile(file: string): Promise<PromConfig> {
  const abs = resolve(file);
  let text: string;
  try {
    text = await readConfigText(abs);
  } catch (e) {
    throw new Error(`cannot read configuration file ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  return parseConfig(text, file, dirname(abs));
}

/** A job's interval as Prometheus prints it (`__scrape_interval__`). */
export function intervalString(ms: number): string {
  return formatDuration(ms);
}
