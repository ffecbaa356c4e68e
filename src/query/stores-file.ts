/**
 * What the global view's remote stores are: the URLs of `--query.store` and the entries of `--query.stores-file`.
 *
 * A store answers Prometheus's HTTP API and remote read (another kvass front door, a Prometheus, an ingestor). The
 * file is a YAML list; each entry has a `url`, an optional `name` (default: the url), optional `external_labels`
 * (given: they win over what the store says of itself) and, inline, the fields of Prometheus's `http_config`, so
 * that each store has its own TLS, client certificate and credential, written as a Prometheus user already writes
 * them:
 *
 *   - url: https://dns+prom.eu.example:9090
 *     name: eu
 *     external_labels: { region: eu }
 *     tls_config: { ca_file: ca.crt, cert_file: client.crt, key_file: client.key }
 *     bearer_token_file: eu.token
 *
 * URLs follow Thanos: the host may be prefixed `dns+` (its A/AAAA records: one endpoint per address, same port) or
 * `dnssrv+` (its SRV records: one endpoint per target host:port, so no port in the url), and Thanos's spellings with
 * the prefix before the scheme (`dns+http://…`) or without a scheme (`dns+host:port`, `dnssrv+_web._tcp.name`: http)
 * are read too. Credentials in the URL, queries and fragments are refused: credentials belong in `basic_auth` or
 * `authorization`, where they are not shown in listings and logs.
 *
 * Parsing is pure (text in, specs out). Its one I/O, whether a TLS file can be read, is injected: a certificate that
 * is missing is refused with the file's line at load, not found later as a store that never answers.
 */
import { accessSync, constants } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { isIP } from 'node:net';
import { dirname, resolve } from 'node:path';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import { HTTP_CLIENT_FIELDS, readHttpClientConfig, type HttpClientConfig } from '../config/http-client.js';
import { isPlainMap, readList, readMap, readString } from '../prom/decode.js';
import { ConfigError, type YamlPath } from '../prom/errors.js';
import { RESERVED_LABEL_PREFIX, isValidLabelName } from '../prom/labels.js';
import { aliasBudget, toPlain } from '../prom/yaml-plain.js';

/** A stores file lists a few stores: 1 MiB is far beyond any real one, and bounds what a reload may cost. */
export const MAX_STORES_FILE_BYTES = 1 << 20;
export const MAX_STORES = 1000;

/** Where a store's endpoints come from. */
export interface StoreTarget {
  /** `none`: the url's host itself; `dns`: its A/AAAA records; `dnssrv`: its SRV records. */
  lookup: 'none' | 'dns' | 'dnssrv';
  scheme: 'http' | 'https';
  /** As in a URL: lower-cased, an IPv6 address bracketed. For `dns`/`dnssrv`, the name looked up. */
  host: string;
  /** Undefined for `dnssrv` (the SRV records give the ports). */
  port?: number;
  /** The path prefix without a trailing slash ('' for none). */
  path: string;
}

export interface StoreSpec {
  /** Unique among all stores; names the store in listings, warnings and logs. */
  name: string;
  /** As configured (shown while DNS has given no endpoint). */
  url: string;
  target: StoreTarget;
  /** From the file: they win over the store's own. Undefined: learned from the store. */
  externalLabels?: Record<string, string>;
  /** The entry's http_config fields; undefined for a --query.store flag (a plain client). */
  http?: HttpClientConfig;
}

export class StoresFileError extends Error {
  override name = 'StoresFileError';
}

const DEFAULT_PORT = { http: 80, https: 443 } as const;

/** Reads one store URL (the grammar above); throws an Error saying what is wrong. */
export function parseStoreUrl(raw: string): StoreTarget {
  let rest = raw;
  /** `dns+`/`dnssrv+` at the start of `rest`, taken off (Thanos writes it before the scheme or before the host). */
  const prefix = (): StoreTarget['lookup'] => {
    const m = /^(dnssrv|dns)\+/.exec(rest);
    if (!m) return 'none';
    rest = rest.slice(m[0].length);
    return m[1] as 'dns' | 'dnssrv';
  };
  let lookup = prefix();
  const schemeMatch = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(rest);
  let scheme: 'http' | 'https' = 'http';
  const bare = schemeMatch === null;
  if (schemeMatch) {
    const s = schemeMatch[1]!.toLowerCase();
    if (s !== 'http' && s !== 'https') throw new Error(`unsupported scheme ${JSON.stringify(s)}: expected http or https`);
    scheme = s;
    rest = rest.slice(schemeMatch[0].length);
  } else if (lookup === 'none') {
    throw new Error('no scheme: expected http://host:port[/prefix] or https://…');
  }
  const inner = prefix();
  if (inner !== 'none' && lookup !== 'none') throw new Error('dns+ or dnssrv+ given twice');
  if (inner !== 'none') lookup = inner;
  const authority = rest.split(/[/?#]/, 1)[0]!;
  const hasPort = authority.startsWith('[') ? /\]:/.test(authority) : authority.includes(':');
  let u: URL;
  try {
    u = new URL(`${scheme}://${rest}`);
  } catch {
    throw new Error('not a valid URL');
  }
  if (u.username || u.password) throw new Error('credentials in the url: use basic_auth or authorization');
  if (u.search || u.hash || rest.includes('?') || rest.includes('#')) throw new Error('a query or fragment is not allowed in a store url');
  if (u.port === '0') throw new Error('port 0 is not a port');
  const path = u.pathname.replace(/\/+$/, '');
  const host = u.hostname;
  if (lookup !== 'none' && (host.startsWith('[') || isIP(host) !== 0)) throw new Error(`${lookup}+ needs a host name to look up, not an IP address`);
  if (lookup === 'dnssrv') {
    if (hasPort) throw new Error('dnssrv+ takes the ports from the SRV records: no port in the url');
    return { lookup, scheme, host, path };
  }
  // Thanos's bare `dns+host:port` has no scheme to take a default port from.
  if (bare && !hasPort) throw new Error('missing port: dns+host:port');
  return { lookup, scheme, host, port: u.port ? Number(u.port) : DEFAULT_PORT[scheme], path };
}

/** An IP address or host name as the host of a URL (an IPv6 address bracketed). */
export function urlHost(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}

/** The base URL (no trailing slash) of one endpoint of `t` at host:port. */
export function endpointUrl(t: StoreTarget, host: string, port: number): string {
  const h = urlHost(host);
  return `${t.scheme}://${port === DEFAULT_PORT[t.scheme] ? h : `${h}:${port}`}${t.path}`;
}

/** The stores of repeated `--query.store=URL` flags: named by their URL, with a plain client. */
export function storesFromFlags(urls: string[]): StoreSpec[] {
  const seen = new Set<string>();
  return urls.map((url) => {
    let target: StoreTarget;
    try {
      target = parseStoreUrl(url);
    } catch (e) {
      throw new Error(`--query.store=${url}: ${(e as Error).message}`);
    }
    if (seen.has(url)) throw new Error(`--query.store=${url}: given twice`);
    seen.add(url);
    return { name: url, url, target };
  });
}

export interface ParseOptions {
  /** Relative file paths are resolved against this folder; default the stores file's. */
  dir?: string;
  /** Names already taken (the --query.store flags). */
  reservedNames?: ReadonlySet<string>;
  /** Why a TLS file cannot be used, or undefined when it can (the caller's I/O); unset: not checked. */
  fileProblem?: (absPath: string) => string | undefined;
}

const STORE_FIELDS = ['url', 'name', 'external_labels', ...HTTP_CLIENT_FIELDS];

function readExternalLabels(v: unknown, path: YamlPath): Record<string, string> {
  if (v === null) return {};
  if (!isPlainMap(v)) throw new ConfigError('expected a mapping of label names to values', path);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (!isValidLabelName(k)) throw new ConfigError(`${JSON.stringify(k)} is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)`, [...path, k], true);
    if (k.startsWith(RESERVED_LABEL_PREFIX)) throw new ConfigError(`${JSON.stringify(k)}: names starting with "__" are reserved`, [...path, k], true);
    if (val === null || isPlainMap(val) || Array.isArray(val)) throw new ConfigError(`label ${k}: expected a string value`, [...path, k]);
    const s = readString(val, [...path, k], `label ${k}`);
    // An empty value means "no such label" in Prometheus: it would match only queries without the label.
    if (s === '') throw new ConfigError(`label ${k}: empty value (leave the label out instead)`, [...path, k]);
    out[k] = s;
  }
  return out;
}

function readStore(item: unknown, i: number, dir: string, fileProblem: ParseOptions['fileProblem']): StoreSpec {
  if (item === null) throw new ConfigError('empty entry: expected a mapping with a url', [i]);
  const m = readMap(item, [i], 'store', STORE_FIELDS);
  if (m.url === undefined || m.url === null) throw new ConfigError('url is missing', [i]);
  const url = readString(m.url, [i, 'url'], 'url');
  let target: StoreTarget;
  try {
    target = parseStoreUrl(url);
  } catch (e) {
    throw new ConfigError((e as Error).message, [i, 'url']);
  }
  const name = m.name === undefined || m.name === null ? url : readString(m.name, [i, 'name'], 'name');
  if (name === '') throw new ConfigError('empty name', [i, 'name']);
  const http = readHttpClientConfig(m, [i], dir);
  if (fileProblem) {
    const files: Array<[string | undefined, string]> = [[http.tls.caFile, 'ca_file'], [http.tls.certFile, 'cert_file'], [http.tls.keyFile, 'key_file']];
    for (const [abs, field] of files) {
      const problem = abs === undefined ? undefined : fileProblem(abs);
      if (problem !== undefined) throw new ConfigError(`cannot read ${abs}: ${problem}`, [i, 'tls_config', field]);
    }
  }
  const spec: StoreSpec = { name, url, target, http };
  if (m.external_labels !== undefined) spec.externalLabels = readExternalLabels(m.external_labels, [i, 'external_labels']);
  return spec;
}

/** The offset in the text of the value (or key) at `path`, or of the nearest enclosing node found. */
function offsetOf(doc: Document.Parsed, path: YamlPath, atKey: boolean): number {
  let node: unknown = doc.contents;
  let best = (doc.contents as YamlNode | null)?.range?.[0] ?? 0;
  for (let k = 0; k < path.length; k++) {
    const key = path[k]!;
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(key));
      if (!pair) break;
      const keyAt = (pair.key as YamlNode).range?.[0] ?? best;
      if (k === path.length - 1 && atKey) return keyAt;
      node = pair.value;
      best = (pair.value as YamlNode | null)?.range?.[0] ?? keyAt;
    } else if (isSeq(node) && typeof key === 'number' && node.items[key] !== undefined) {
      node = node.items[key];
      best = (node as YamlNode | null)?.range?.[0] ?? best;
    } else break;
  }
  return best;
}

/**
 * Parses a stores file's text; throws a StoresFileError naming the file, line and column, the entry (index and
 * name) and the field.
 */
export function parseStoresFile(text: string, file: string, opts: ParseOptions = {}): StoreSpec[] {
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_STORES_FILE_BYTES) throw new StoresFileError(`${file}: ${bytes} bytes is over the limit of ${MAX_STORES_FILE_BYTES} (1 MiB)`);
  const dir = opts.dir ?? dirname(resolve(file));
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, version: '1.1' });
  const at = (offset: number): string => {
    const p = lines.linePos(offset);
    return `${file}:${p.line}:${p.col}`;
  };
  const yamlErr = doc.errors[0];
  if (yamlErr) throw new StoresFileError(`${at(yamlErr.pos[0])}: invalid YAML: ${yamlErr.message.split('\n')[0]}`);
  let raw: unknown;
  try {
    raw = toPlain(doc.contents, doc, 0, { viaAlias: 0, limit: aliasBudget(text.length) });
  } catch (e) {
    throw new StoresFileError(`${file}: invalid YAML: ${(e as Error).message}`);
  }
  // A half-written file reads as empty: refusing it keeps the last good set (`[]` says "no stores" on purpose).
  if (raw === null) throw new StoresFileError(`${file}: the file is empty: expected a list of stores ("[]" for none)`);
  let entry: { index: number; name?: string } | undefined;
  try {
    const list = readList(raw, [], 'stores file');
    if (list.length > MAX_STORES) throw new ConfigError(`${list.length} stores: at most ${MAX_STORES} are allowed`, []);
    const taken = new Map<string, number>();
    return list.map((item, i) => {
      const named = isPlainMap(item) ? (typeof item.name === 'string' ? item.name : typeof item.url === 'string' ? item.url : undefined) : undefined;
      entry = { index: i, name: named };
      const spec = readStore(item, i, dir, opts.fileProblem);
      const namePath = [i, isPlainMap(item) && item.name !== undefined && item.name !== null ? 'name' : 'url'];
      const first = taken.get(spec.name);
      if (first !== undefined) throw new ConfigError(`name ${JSON.stringify(spec.name)} is already used by store ${first}`, namePath);
      if (opts.reservedNames?.has(spec.name)) throw new ConfigError(`name ${JSON.stringify(spec.name)} is already used by a --query.store flag`, namePath);
      taken.set(spec.name, i);
      return spec;
    });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const where = entry === undefined ? '' : `store ${entry.index}${entry.name !== undefined ? ` (${JSON.stringify(entry.name)})` : ''}: `;
    // The field the error is about: an unknown field's message names it, so its parent section is given instead.
    const fieldPath = (e.atKey ? e.path.slice(1, -1) : e.path.slice(1)).join('.');
    throw new StoresFileError(`${at(offsetOf(doc, e.path, e.atKey))}: ${where}${fieldPath ? `${fieldPath}: ` : ''}${e.message}`);
  }
}

/** Why a file cannot be read, checked now (the TLS files of a stores file are read when a store's client is made). */
function unreadable(abs: string): string | undefined {
  try {
    accessSync(abs, constants.R_OK);
    return undefined;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  }
}

/** Reads and parses a stores file (over 1 MiB: refused unread). Every error is a StoresFileError naming the file. */
export async function loadStoresFile(file: string, reservedNames?: ReadonlySet<string>): Promise<StoreSpec[]> {
  const st = await stat(file).catch((e: Error) => {
    throw new StoresFileError(`${file}: ${e.message}`);
  });
  if (st.size > MAX_STORES_FILE_BYTES) throw new StoresFileError(`${file}: ${st.size} bytes is over the limit of ${MAX_STORES_FILE_BYTES} (1 MiB)`);
  const text = await readFile(file, 'utf8').catch((e: Error) => {
    throw new StoresFileError(`${file}: ${e.message}`);
  });
  return parseStoresFile(text, file, { reservedNames, fileProblem: unreadable });
}
