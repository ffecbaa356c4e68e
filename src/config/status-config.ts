/**
 * The configuration as Prometheus 2.42 serves it at GET /api/v1/status/config (`data.yaml`).
 *
 * Prometheus loads the file into its Go `config.Config` (defaults filled in, relative paths joined to the config
 * file's folder by SetDirectory, `bearer_token` folded into `authorization` where Validate runs) and prints it with
 * gopkg.in/yaml.v2. This module does the same from the parsed YAML document: it builds the Go value tree (struct
 * field order, `omitempty`, maps with yaml.v2's key order, `config.Secret` as `<secret>`) and prints it with a port
 * of yaml.v2 2.4's encoder and emitter (quoting rules, 80-column folding, indentless sequences in mappings).
 *
 * Facts from the sources (prometheus v2.42.0 config/, discovery/, model/relabel; common v0.39.0 config/; sigv4
 * v0.1.0; yaml.v2 v2.4.0) and checked against the Debian prometheus 2.42 binary
 * (test/config/status-config.real.test.ts):
 * - YAML null gives Go's zero value, not the default (`honor_timestamps:` prints `false`; `queue_config:` is omitted);
 * - `tls_config.min_version`/`max_version` print as numbers (771 for TLS12): TLSVersion's MarshalYAML has a pointer
 *   receiver and yaml.v2 marshals the struct field by value;
 * - an empty `regex` prints `regex: null`; empty external label values are kept;
 * - `http_sd_configs` never calls Validate: `bearer_token` stays as written (masked), `authorization.type` is not
 *   defaulted; scrape configs, alertmanagers, kubernetes SD and remote read/write do call it;
 * - `storage.tsdb` prints the untagged Go field `outofordertimewindow` (milliseconds) before `out_of_order_time_window`;
 * - `remote_write`/`remote_read`/`tracing` `headers` are plain strings in 2.42 (printed as written).
 */
import type { PromConfig } from './config.js';
import type { Labels } from '../prom/labels.js';
import { parseDuration } from '../prom/duration.js';
import { aliasBudget, toPlain, YamlLiteral } from '../prom/yaml-plain.js';

import { type GoNode, S, RAW, NULL, seqOf, Struct, goMap, marshalGoYaml } from './go-yaml-emit.js';
// ---------------------------------------------------------------------------------------------------------------
// Reading the document's plain values the way yaml.v2 fills Go fields: absent keeps the default, null gives the
// zero value, unquoted numbers and booleans read into string fields as written.

type Plain = Record<string, unknown>;

function isMapValue(v: unknown): v is Plain {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof YamlLiteral) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** A Go string field. */
function gStr(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (v instanceof YamlLiteral) return v.text;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  throw new Error(`status config: expected a string, got ${Array.isArray(v) ? 'a list' : 'a mapping'}`);
}

/** A field of `m` with its default when the key is absent. */
function field<T>(m: Plain | undefined, key: string, dflt: T, read: (v: unknown) => T): T {
  if (m === undefined || !(key in m) || m[key] === undefined) return dflt;
  return read(m[key]);
}

function gBool(v: unknown): boolean {
  const x = v instanceof YamlLiteral ? v.value : v;
  return x === null || x === undefined ? false : x === true;
}

function gInt(v: unknown): number | bigint {
  if (v === null || v === undefined) return 0;
  const x = v instanceof YamlLiteral ? v.value : v;
  if (typeof x === 'bigint') return x;
  if (typeof x === 'number') {
    const t = Math.trunc(x);
    if (v instanceof YamlLiteral && !Number.isSafeInteger(t) && /^\+?[0-9]+$/.test(v.text)) return BigInt(v.text);
    return Number.isSafeInteger(t) ? t : BigInt(t);
  }
  throw new Error(`status config: expected a number, got ${JSON.stringify(gStr(v))}`);
}

function gFloat(v: unknown): number {
  if (v === null || v === undefined) return 0;
  const x = v instanceof YamlLiteral ? v.value : v;
  return Number(x);
}

function gDur(v: unknown): number {
  if (v === null || v === undefined) return 0;
  return parseDuration(gStr(v));
}

function gList(v: unknown): unknown[] | undefined {
  if (v === null || v === undefined) return undefined;
  if (!Array.isArray(v)) throw new Error('status config: expected a list');
  return v;
}

function gStrList(v: unknown): string[] | undefined {
  return gList(v)?.map(gStr);
}

/** A pointer to a struct: nil for null. */
function gMap(v: unknown): Plain | undefined {
  if (v === null || v === undefined) return undefined;
  if (!isMapValue(v)) throw new Error('status config: expected a mapping');
  return v;
}

/** map[string]string (and model.LabelSet). */
function gStrMap(v: unknown): Map<string, string> {
  const out = new Map<string, string>();
  const m = gMap(v);
  if (m) for (const [k, x] of Object.entries(m)) out.set(k, gStr(x));
  return out;
}

const strMapNode = (m: Map<string, string>): GoNode | undefined => (m.size === 0 ? undefined : goMap([...m].map(([k, v]) => [k, S(v)])));

/** common/config.JoinDir: relative paths joined to the config's folder (filepath.Join cleans them). */
function joinDir(dir: string, p: string): string {
  if (p === '' || p.startsWith('/')) return p;
  return goClean(dir === '' ? p : `${dir}/${p}`);
}

/** path/filepath.Clean for slash paths. */
function goClean(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(part);
  }
  const s = out.join('/');
  return rooted ? `/${s}` : s || '.';
}

/** common/config.URL's MarshalYAML: url.Redacted() (a password becomes `xxxxx`; the scheme is lower-cased). */
function goUrlRedacted(s: string): string {
  const sch = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(s);
  const scheme = sch ? sch[1]!.toLowerCase() : '';
  let rest = sch ? s.slice(sch[0].length) : s;
  const cut = rest.search(/[?#]/);
  const tail = cut >= 0 ? rest.slice(cut) : '';
  if (cut >= 0) rest = rest.slice(0, cut);
  if (rest.startsWith('//') && (scheme !== '' || !rest.startsWith('///'))) {
    const slash = rest.indexOf('/', 2);
    let authority = slash >= 0 ? rest.slice(2, slash) : rest.slice(2);
    const path = slash >= 0 ? rest.slice(slash) : '';
    const at = authority.lastIndexOf('@');
    if (at >= 0) {
      const userinfo = authority.slice(0, at);
      const colon = userinfo.indexOf(':');
      if (colon >= 0) authority = `${userinfo.slice(0, colon)}:xxxxx${authority.slice(at)}`;
    }
    rest = `//${authority}${path}`;
  }
  return (scheme ? `${scheme}:` : '') + rest + tail;
}

/** A config.URL field (omitempty): nil when absent or null. */
function urlNode(v: unknown): GoNode | undefined {
  return v === undefined || v === null ? undefined : S(goUrlRedacted(gStr(v)));
}

/** strconv.FormatFloat(f, 'g', -1, 64), as yaml.v2 prints float64 fields. */
function goFloat(f: number): string {
  if (Number.isNaN(f)) return '.nan';
  if (f === Infinity) return '.inf';
  if (f === -Infinity) return '-.inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  const [mant, expText] = Math.abs(f).toExponential().split('e') as [string, string];
  const digits = mant.replace('.', '');
  const exp = Number(expText);
  const sign = f < 0 ? '-' : '';
  if (exp < -4 || exp >= 6) {
    // %e with the shortest digits; Go writes at least two exponent digits.
    const e = Math.abs(exp);
    return `${sign}${digits[0]}${digits.length > 1 ? `.${digits.slice(1)}` : ''}e${exp < 0 ? '-' : '+'}${e < 10 ? `0${e}` : e}`;
  }
  if (exp >= 0) {
    const int = digits.length > exp + 1 ? digits.slice(0, exp + 1) : digits.padEnd(exp + 1, '0');
    const frac = digits.length > exp + 1 ? digits.slice(exp + 1) : '';
    return `${sign}${int}${frac ? `.${frac}` : ''}`;
  }
  return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
}

// ---------------------------------------------------------------------------------------------------------------
// The Go structs.

const TLS_VERSIONS: Record<string, number> = { TLS10: 0x0301, TLS11: 0x0302, TLS12: 0x0303, TLS13: 0x0304 };

/** common/config.TLSConfig (SetDirectory applied); undefined when it is the zero struct (omitempty). */
function tlsConfig(v: unknown, dir: string): GoNode | undefined {
  const m = gMap(v);
  if (!m) return undefined;
  const ver = (x: unknown): number => {
    const s = gStr(x);
    return s === '' ? 0 : TLS_VERSIONS[s] ?? 0;
  };
  const s = new Struct()
    .str('ca_file', joinDir(dir, field(m, 'ca_file', '', gStr)))
    .str('cert_file', joinDir(dir, field(m, 'cert_file', '', gStr)))
    .str('key_file', joinDir(dir, field(m, 'key_file', '', gStr)))
    .str('server_name', field(m, 'server_name', '', gStr));
  const insecure = field(m, 'insecure_skip_verify', false, gBool);
  const min = field(m, 'min_version', 0, ver);
  const max = field(m, 'max_version', 0, ver);
  if (s.empty && !insecure && min === 0 && max === 0) return undefined;
  return s.bool('insecure_skip_verify', insecure, false).int('min_version', min).int('max_version', max).done();
}

/**
 * common/config.HTTPClientConfig, inlined into its parent: defaults, Validate (when the parent's UnmarshalYAML
 * calls it: bearer_token(_file) folded into authorization, the type trimmed and defaulted) and SetDirectory.
 */
function httpClientFields(m: Plain, dir: string, validate: boolean): Array<[string, GoNode]> {
  const basic = gMap(m.basic_auth);
  let auth = m.authorization === undefined ? undefined : gMap(m.authorization);
  let authType = auth ? field(auth, 'type', '', gStr) : '';
  let authCred = auth ? field(auth, 'credentials', '', gStr) : '';
  let authFile = auth ? field(auth, 'credentials_file', '', gStr) : '';
  let bearer = field(m, 'bearer_token', '', gStr);
  let bearerFile = field(m, 'bearer_token_file', '', gStr);
  if (validate) {
    if (auth) {
      authType = authType.trim() || 'Bearer';
    } else {
      if (bearer !== '') {
        auth = {};
        [authType, authCred, authFile] = ['Bearer', bearer, ''];
        bearer = '';
      }
      if (bearerFile !== '') {
        auth = {};
        [authType, authCred, authFile] = ['Bearer', '', bearerFile];
        bearerFile = '';
      }
    }
  }
  const s = new Struct();
  if (basic) {
    s.node('basic_auth', new Struct()
      .str('username', field(basic, 'username', '', gStr), false)
      .secret('password', field(basic, 'password', '', gStr))
      .str('password_file', joinDir(dir, field(basic, 'password_file', '', gStr)))
      .done());
  }
  if (auth) {
    s.node('authorization', new Struct()
      .str('type', authType)
      .secret('credentials', authCred)
      .str('credentials_file', joinDir(dir, authFile))
      .done());
  }
  const oauth = gMap(m.oauth2);
  if (oauth) {
    s.node('oauth2', new Struct()
      .str('client_id', field(oauth, 'client_id', '', gStr), false)
      .secret('client_secret', field(oauth, 'client_secret', '', gStr), false)
      .str('client_secret_file', joinDir(dir, field(oauth, 'client_secret_file', '', gStr)), false)
      .strList('scopes', field(oauth, 'scopes', undefined, gStrList))
      .str('token_url', field(oauth, 'token_url', '', gStr), false)
      .node('endpoint_params', strMapNode(gStrMap(oauth.endpoint_params)))
      .node('proxy_url', urlNode(oauth.proxy_url))
      .node('tls_config', tlsConfig(oauth.tls_config, dir))
      .done());
  }
  s.secret('bearer_token', bearer).str('bearer_token_file', joinDir(dir, bearerFile)).node('proxy_url', urlNode(m.proxy_url));
  const pch = gMap(m.proxy_connect_header);
  if (pch && Object.keys(pch).length > 0) {
    s.node('proxy_connect_header', goMap(Object.entries(pch).map(([k, vals]) =>
      [k, seqOf((gList(vals) ?? []).map((x) => (gStr(x) === '' ? NULL : S('<secret>'))))])));
  }
  return s
    .node('tls_config', tlsConfig(m.tls_config, dir))
    .bool('follow_redirects', field(m, 'follow_redirects', true, gBool), false)
    .bool('enable_http2', field(m, 'enable_http2', true, gBool), false)
    .items;
}

const RELABEL_DEFAULT_REGEX = '(.*)';

/** model/relabel.Config. */
function relabelConfig(v: unknown): GoNode {
  const m = gMap(v);
  if (!m) throw new Error('status config: empty or null relabeling rule');
  const regex = field(m, 'regex', RELABEL_DEFAULT_REGEX, gStr);
  const s = new Struct()
    .strList('source_labels', field(m, 'source_labels', undefined, gStrList), true, true)
    .str('separator', field(m, 'separator', ';', gStr));
  // Regexp.MarshalYAML: the expression as written, null when empty.
  s.node('regex', regex === '' ? NULL : S(regex));
  return s
    .int('modulus', field(m, 'modulus', 0, gInt))
    .str('target_label', field(m, 'target_label', '', gStr))
    .str('replacement', field(m, 'replacement', '$1', gStr))
    .str('action', field(m, 'action', 'replace', gStr).toLowerCase())
    .done();
}

function relabelList(v: unknown): GoNode | undefined {
  const l = gList(v);
  return l && l.length > 0 ? seqOf(l.map(relabelConfig)) : undefined;
}

/** The service discovery mechanisms kvass supports, in the order Prometheus marshals them (registry field names). */
const SD_KEYS = ['dns_sd_configs', 'file_sd_configs', 'http_sd_configs', 'kubernetes_sd_configs', 'static_configs'] as const;
type SdKey = (typeof SD_KEYS)[number];

function sdConfig(key: SdKey, v: unknown, dir: string): GoNode {
  const m = gMap(v);
  if (!m) throw new Error(`status config: empty or null section in ${key}`);
  switch (key) {
    case 'static_configs': {
      // targetgroup.Group.MarshalYAML: targets always (an empty list as []), labels when set.
      const labels = gStrMap(m.labels);
      return new Struct()
        .strList('targets', field(m, 'targets', [], (x) => gStrList(x) ?? []), false)
        .node('labels', labels.size === 0 ? undefined : goMap([...labels].map(([k, x]) => [k, S(x)])))
        .done();
    }
    case 'file_sd_configs':
      return new Struct()
        .strList('files', (field(m, 'files', undefined, gStrList) ?? []).map((f) => joinDir(dir, f)), false)
        .dur('refresh_interval', field(m, 'refresh_interval', 300_000, gDur))
        .done();
    case 'dns_sd_configs':
      return new Struct()
        .strList('names', field(m, 'names', undefined, gStrList), false)
        .dur('refresh_interval', field(m, 'refresh_interval', 30_000, gDur))
        .str('type', field(m, 'type', 'SRV', gStr), false)
        .int('port', field(m, 'port', 0, gInt), false)
        .done();
    case 'http_sd_configs':
      // http.SDConfig.UnmarshalYAML does not call HTTPClientConfig.Validate in 2.42.
      return new Struct()
        .add(httpClientFields(m, dir, false))
        .dur('refresh_interval', field(m, 'refresh_interval', 60_000, gDur))
        .str('url', field(m, 'url', '', gStr), false)
        .done();
    case 'kubernetes_sd_configs': {
      const s = new Struct()
        .node('api_server', urlNode(m.api_server))
        .str('role', field(m, 'role', '', gStr), false)
        .str('kubeconfig_file', joinDir(dir, field(m, 'kubeconfig_file', '', gStr)), false)
        .add(httpClientFields(m, dir, true));
      const ns = gMap(m.namespaces);
      if (ns) {
        const own = field(ns, 'own_namespace', false, gBool);
        const names = field(ns, 'names', undefined, gStrList) ?? [];
        if (own || names.length > 0) s.node('namespaces', new Struct().bool('own_namespace', own, false).strList('names', names, false).done());
      }
      const sel = field(m, 'selectors', undefined, gList);
      if (sel && sel.length > 0) {
        s.node('selectors', seqOf(sel.map((x) => {
          const e = gMap(x) ?? {};
          return new Struct().str('role', field(e, 'role', '', gStr)).str('label', field(e, 'label', '', gStr)).str('field', field(e, 'field', '', gStr)).done();
        })));
      }
      const am = gMap(m.attach_metadata);
      if (am && field(am, 'node', false, gBool)) s.node('attach_metadata', new Struct().bool('node', true, false).done());
      return s.done();
    }
  }
}

/**
 * discovery.MarshalYAMLWithInlineConfigs: the `*_sd_configs` lists after the struct's own fields, in the order of
 * their registry field names; all static_configs groups of the parent in one list.
 */
function sdFields(m: Plain, dir: string, where: string): Array<[string, GoNode]> {
  for (const key of Object.keys(m)) {
    if ((key.endsWith('_sd_configs') || key === 'static_configs') && !(SD_KEYS as readonly string[]).includes(key) && (gList(m[key])?.length ?? 0) > 0) {
      throw new Error(`status config: ${where}: ${key} is not supported (supported: ${SD_KEYS.join(', ')})`);
    }
  }
  const out: Array<[string, GoNode]> = [];
  for (const key of SD_KEYS) {
    const list = gList(m[key]);
    if (list && list.length > 0) out.push([key, seqOf(list.map((e) => sdConfig(key, e, dir)))]);
  }
  return out;
}

interface GlobalValues {
  scrapeInterval: number;
  scrapeTimeout: number;
}

function globalConfig(v: unknown, dir: string, extra: Labels): { node: GoNode; values: GlobalValues } {
  let scrapeInterval = 60_000;
  let scrapeTimeout = 10_000;
  let evaluationInterval = 60_000;
  let queryLogFile = '';
  const labels = new Map<string, string>();
  const g = gMap(v);
  if (g) {
    // GlobalConfig.UnmarshalYAML starts from the zero struct and fills the defaults.
    scrapeInterval = field(g, 'scrape_interval', 0, gDur) || 60_000;
    scrapeTimeout = field(g, 'scrape_timeout', 0, gDur);
    if (scrapeTimeout === 0) scrapeTimeout = 10_000 > scrapeInterval ? scrapeInterval : 10_000;
    evaluationInterval = field(g, 'evaluation_interval', 0, gDur) || 60_000;
    queryLogFile = field(g, 'query_log_file', '', gStr);
    for (const [k, x] of gStrMap(g.external_labels)) labels.set(k, x);
  }
  for (const [k, x] of Object.entries(extra)) labels.set(k, x);
  const node = new Struct()
    .dur('scrape_interval', scrapeInterval)
    .dur('scrape_timeout', scrapeTimeout)
    .dur('evaluation_interval', evaluationInterval)
    .str('query_log_file', joinDir(dir, queryLogFile))
    .node('external_labels', strMapNode(labels))
    .done();
  return { node, values: { scrapeInterval, scrapeTimeout } };
}

const BYTE_UNITS: Record<string, bigint> = { B: 1n, KB: 1n << 10n, MB: 1n << 20n, GB: 1n << 30n, TB: 1n << 40n, PB: 1n << 50n, EB: 1n << 60n };

/** units.Base2Bytes: ParseBase2Bytes for reading, String() (`1KiB476B`) for printing. */
function base2Bytes(v: unknown): string {
  const s = gStr(v);
  if (s === '' || s === '0') return '';
  let total = 0;
  const re = /([0-9]*(?:\.[0-9]*)?)([KMGTPE]?)i?B/y;
  for (let pos = 0; pos < s.length;) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) throw new Error(`status config: invalid body_size_limit ${JSON.stringify(s)}`);
    total += Number(m[1]) * Number(BYTE_UNITS[`${m[2]}B`]!);
    pos = re.lastIndex;
  }
  let n = BigInt(Math.trunc(total));
  if (n === 0n) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  const parts: string[] = [];
  for (const u of units) {
    if (n % 1024n !== 0n) parts.unshift(`${n % 1024n}${u}`);
    n /= 1024n;
    if (n === 0n) break;
  }
  return parts.join('');
}

function scrapeConfig(v: unknown, dir: string, global: GlobalValues, index: number): GoNode {
  const m = gMap(v);
  if (!m) throw new Error('status config: empty or null scrape config section');
  let interval = field(m, 'scrape_interval', 0, gDur);
  if (interval === 0) interval = global.scrapeInterval;
  let timeout = field(m, 'scrape_timeout', 0, gDur);
  if (timeout === 0) timeout = global.scrapeTimeout > interval ? interval : global.scrapeTimeout;
  const params = gMap(m.params);
  const s = new Struct()
    .str('job_name', field(m, 'job_name', '', gStr), false)
    .bool('honor_labels', field(m, 'honor_labels', false, gBool))
    .bool('honor_timestamps', field(m, 'honor_timestamps', true, gBool), false)
    .node('params', params && Object.keys(params).length > 0
      ? goMap(Object.entries(params).map(([k, x]) => [k, seqOf((gStrList(x) ?? []).map(S))]))
      : undefined)
    .dur('scrape_interval', interval)
    .dur('scrape_timeout', timeout)
    .str('metrics_path', field(m, 'metrics_path', '/metrics', gStr))
    .str('scheme', field(m, 'scheme', 'http', gStr))
    .str('body_size_limit', field(m, 'body_size_limit', '', base2Bytes));
  for (const k of ['sample_limit', 'target_limit', 'label_limit', 'label_name_length_limit', 'label_value_length_limit']) s.int(k, field(m, k, 0, gInt));
  return s
    .add(httpClientFields(m, dir, true))
    .node('relabel_configs', relabelList(m.relabel_configs))
    .node('metric_relabel_configs', relabelList(m.metric_relabel_configs))
    .add(sdFields(m, dir, `scrape_configs[${index}]`))
    .done();
}

function alertingConfig(v: unknown, dir: string): GoNode | undefined {
  const a = gMap(v);
  if (!a) return undefined;
  const ams = gList(a.alertmanagers) ?? [];
  const s = new Struct()
    .node('alert_relabel_configs', relabelList(a.alert_relabel_configs))
    .node('alertmanagers', ams.length === 0 ? undefined : seqOf(ams.map((x, i) => {
      const m = gMap(x);
      if (!m) throw new Error('status config: empty or null alertmanager config');
      return new Struct()
        .add(httpClientFields(m, dir, true))
        .str('scheme', field(m, 'scheme', 'http', gStr))
        .str('path_prefix', field(m, 'path_prefix', '', gStr))
        .dur('timeout', field(m, 'timeout', 10_000, gDur))
        .str('api_version', field(m, 'api_version', 'v2', gStr), false)
        .node('relabel_configs', relabelList(m.relabel_configs))
        .add(sdFields(m, dir, `alerting.alertmanagers[${i}]`))
        .done();
    })));
  return s.empty ? undefined : s.done();
}

/** QueueConfig / MetadataConfig: the defaults, overridden field by field; null is the zero struct. */
function remoteWriteConfig(v: unknown, dir: string): GoNode {
  const m = gMap(v);
  if (!m) throw new Error('status config: empty or null remote write config section');
  const s = new Struct()
    .node('url', m.url === undefined || m.url === null ? NULL : S(goUrlRedacted(gStr(m.url))))
    .dur('remote_timeout', field(m, 'remote_timeout', 30_000, gDur))
    .node('headers', strMapNode(gStrMap(m.headers)))
    .node('write_relabel_configs', relabelList(m.write_relabel_configs))
    .str('name', field(m, 'name', '', gStr))
    .bool('send_exemplars', field(m, 'send_exemplars', false, gBool))
    .bool('send_native_histograms', field(m, 'send_native_histograms', false, gBool))
    .add(httpClientFields(m, dir, true));
  const hasQ = 'queue_config' in m;
  const q = gMap(m.queue_config);
  if (!hasQ || q) {
    const qs = new Struct()
      .int('capacity', field(q, 'capacity', 2500, gInt))
      .int('max_shards', field(q, 'max_shards', 200, gInt))
      .int('min_shards', field(q, 'min_shards', 1, gInt))
      .int('max_samples_per_send', field(q, 'max_samples_per_send', 500, gInt))
      .dur('batch_send_deadline', field(q, 'batch_send_deadline', 5000, gDur))
      .dur('min_backoff', field(q, 'min_backoff', 30, gDur))
      .dur('max_backoff', field(q, 'max_backoff', 5000, gDur))
      .bool('retry_on_http_429', field(q, 'retry_on_http_429', false, gBool));
    if (!qs.empty) s.node('queue_config', qs.done());
  }
  const hasMd = 'metadata_config' in m;
  const md = gMap(m.metadata_config);
  if (!hasMd || md) {
    const send = field(md, 'send', true, gBool);
    const interval = field(md, 'send_interval', 60_000, gDur);
    const max = field(md, 'max_samples_per_send', 500, gInt);
    if (send || interval !== 0 || (max !== 0 && max !== 0n)) {
      s.node('metadata_config', new Struct().bool('send', send, false).dur('send_interval', interval, false).int('max_samples_per_send', max).done());
    }
  }
  const sig = gMap(m.sigv4);
  if (sig) {
    s.node('sigv4', new Struct()
      .str('region', field(sig, 'region', '', gStr))
      .str('access_key', field(sig, 'access_key', '', gStr))
      .secret('secret_key', field(sig, 'secret_key', '', gStr))
      .str('profile', field(sig, 'profile', '', gStr))
      .str('role_arn', field(sig, 'role_arn', '', gStr))
      .done());
  }
  return s.done();
}

function remoteReadConfig(v: unknown, dir: string): GoNode {
  const m = gMap(v);
  if (!m) throw new Error('status config: empty or null remote read config section');
  return new Struct()
    .node('url', m.url === undefined || m.url === null ? NULL : S(goUrlRedacted(gStr(m.url))))
    .dur('remote_timeout', field(m, 'remote_timeout', 60_000, gDur))
    .node('headers', strMapNode(gStrMap(m.headers)))
    .bool('read_recent', field(m, 'read_recent', false, gBool))
    .str('name', field(m, 'name', '', gStr))
    .add(httpClientFields(m, dir, true))
    .node('required_matchers', strMapNode(gStrMap(m.required_matchers)))
    .bool('filter_external_labels', field(m, 'filter_external_labels', true, gBool))
    .done();
}

function storageConfig(v: unknown): GoNode | undefined {
  const m = gMap(v);
  if (!m) return undefined;
  const s = new Struct();
  const tsdb = gMap(m.tsdb);
  if (tsdb) {
    // TSDBConfig has an untagged field (OutOfOrderTimeWindow, milliseconds): yaml.v2 names it in lower case.
    const w = field(tsdb, 'out_of_order_time_window', 0, gDur);
    s.node('tsdb', new Struct().int('outofordertimewindow', w, false).dur('out_of_order_time_window', w).done());
  }
  const ex = gMap(m.exemplars);
  if (ex) s.node('exemplars', new Struct().int('max_exemplars', field(ex, 'max_exemplars', 0, gInt)).done());
  return s.empty ? undefined : s.done();
}

function tracingConfig(v: unknown, dir: string): GoNode | undefined {
  const m = gMap(v);
  if (!m) return undefined;
  const frac = field(m, 'sampling_fraction', 0, gFloat);
  return new Struct()
    .str('client_type', field(m, 'client_type', 'grpc', gStr))
    .str('endpoint', field(m, 'endpoint', '', gStr))
    .node('sampling_fraction', frac === 0 ? undefined : RAW(goFloat(frac)))
    .bool('insecure', field(m, 'insecure', false, gBool))
    .node('tls_config', tlsConfig(m.tls_config, dir))
    .node('headers', strMapNode(gStrMap(m.headers)))
    .str('compression', field(m, 'compression', '', gStr))
    .dur('timeout', field(m, 'timeout', 0, gDur))
    .done();
}

/** The configuration as Prometheus 2.42 serves it at GET /api/v1/status/config (its `data.yaml`), secrets as <secret>. */
export function statusConfigYaml(cfg: PromConfig, extraExternalLabels: Labels = {}): string {
  const raw = toPlain(cfg.document.contents, cfg.document, 0, { viaAlias: 0, limit: aliasBudget(cfg.text.length) });
  const top = gMap(raw) ?? {};
  const dir = cfg.dir;
  const global = globalConfig(top.global, dir, extraExternalLabels);
  const listOf = (v: unknown, f: (x: unknown, i: number) => GoNode): GoNode | undefined => {
    const l = gList(v);
    return l && l.length > 0 ? seqOf(l.map(f)) : undefined;
  };
  const root = new Struct()
    .node('global', global.node)
    .node('alerting', alertingConfig(top.alerting, dir))
    .strList('rule_files', gStrList(top.rule_files)?.map((f) => joinDir(dir, f)))
    .node('scrape_configs', listOf(top.scrape_configs, (x, i) => scrapeConfig(x, dir, global.values, i)))
    .node('storage', storageConfig(top.storage))
    .node('tracing', tracingConfig(top.tracing, dir))
    .node('remote_write', listOf(top.remote_write, (x) => remoteWriteConfig(x, dir)))
    .node('remote_read', listOf(top.remote_read, (x) => remoteReadConfig(x, dir)));
  return marshalGoYaml(root.done());
}
