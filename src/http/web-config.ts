/**
 * `--web.config.file`: the web configuration of Prometheus 2.42, i.e. prometheus/exporter-toolkit v0.8.2
 * (web/tls_config.go, web/handler.go, web/cache.go), with its semantics and error texts:
 *
 * ```yaml
 * tls_server_config:   { cert_file, key_file, client_auth_type, client_ca_file, cipher_suites,
 *                        curve_preferences, min_version, max_version, prefer_server_cipher_suites }
 * http_server_config:  { http2, headers }
 * basic_auth_users:    { user: bcrypt hash }
 * ```
 *
 * - Decoded as gopkg.in/yaml.v2 `UnmarshalStrict` does: unknown or repeated fields are refused, type errors are
 *   collected as "yaml: unmarshal errors:\n  line N: …", and the custom decoders (cipher, curve, TLS version)
 *   fail at once ("unknown cipher: X").
 * - Then as the toolkit validates: response headers (an allow-list, some with fixed values), bcrypt hashes
 *   (bcrypt.Cost), then TLS: nothing set means plain HTTP; else cert_file and key_file are needed, the key pair must
 *   load, the client CA file must be readable, client_auth_type must be known and a client CA needs an auth type.
 * - TLS is served by Node with options that make Go's `tls.ClientAuthType` happen; the two types Node cannot
 *   express in options alone are finished per connection by `clientCertProblem`.
 * - basic auth compares bcrypt hashes in a worker thread (one at a time, as the toolkit's mutex does), so the event
 *   loop never runs a bcrypt round; unknown users cost a comparison with a fixed hash; results are cached.
 * - `WebConfigSource` keeps the last good configuration of a file and follows changes of it and of its TLS files.
 */
import { readFileSync, statSync, type Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { LineCounter, parseAllDocuments } from 'yaml';

import { BasicAuthChecker, bcryptCostError } from './basic-auth.js';
import { Fatal, YamlDecoder, goFileError, goQuote } from './go-yaml.js';
import { CURVES, TLS12_SUITES, TLS13_SUITES, TLS_VERSION_RANK, readAll, readSync, tlsFiles, tlsMaterial } from './tls.js';

export { BasicAuthChecker };
export { clientCertProblem, hasVerifiedClientCert, tlsServerOptions } from './tls.js';
export type ClientAuthType =
  | 'NoClientCert'
  | 'RequestClientCert'
  | 'RequireAnyClientCert'
  | 'VerifyClientCertIfGiven'
  | 'RequireAndVerifyClientCert';

/** Go's names of the TLS versions, as the file writes them. */
export type TlsVersionName = 'TLS10' | 'TLS11' | 'TLS12' | 'TLS13';

export interface TlsServerConfig {
  /** Absolute (relative paths of the file resolved against its folder). */
  certFile: string;
  keyFile: string;
  /** "RequireClientCert" (a legacy alias) is read as RequireAnyClientCert; empty means NoClientCert. */
  clientAuthType: ClientAuthType;
  clientCaFile?: string;
  /** Default TLS12 (an explicit null: Go's zero, TLS10 for a Go server). */
  minVersion: TlsVersionName;
  /** Default TLS13. */
  maxVersion: TlsVersionName;
  /** Go names (tls.CipherSuites()); empty: Go's default suites. They only concern TLS 1.0–1.2, as in Go. */
  cipherSuites: string[];
  /** CurveP256, CurveP384, CurveP521, X25519; empty: the default. */
  curvePreferences: string[];
  /** Kept as read (default true); Go ≥ 1.17 ignores it and so do we: the server's order always wins. */
  preferServerCipherSuites: boolean;
}

export interface WebConfig {
  /** Absent: plain HTTP. */
  tls?: TlsServerConfig;
  /** user → bcrypt hash; empty: no basic auth. */
  basicAuthUsers: Map<string, string>;
  /** Extra response headers (http_server_config.headers). */
  headers: Record<string, string>;
  /** http_server_config.http2 (default true). */
  http2: boolean;
}

/** A refused web configuration: `reason` is the toolkit's error text, the message also names the file. */
export class WebConfigError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`web config file ${file}: ${reason}`);
    this.name = 'WebConfigError';
  }
}

/** Headers that may be configured (handler.go extraHTTPHeaders): the allowed values, or none for any value. */
const EXTRA_HTTP_HEADERS: Record<string, string[] | undefined> = {
  'Strict-Transport-Security': undefined,
  'X-Content-Type-Options': ['nosniff'],
  'X-Frame-Options': ['deny', 'sameorigin'],
  'X-XSS-Protection': undefined,
  'Content-Security-Policy': undefined,
};
/* ------------------------------------------------------------------------------------------------------------ */
/* Parsing and validation.                                                                                      */

interface RawTls {
  cert: string;
  key: string;
  clientAuth: string;
  clientCAs: string;
  ciphers: string[];
  curves: string[];
  min: TlsVersionName;
  max: TlsVersionName;
  preferServer: boolean;
}

function tlsVersion(s: string | null, ifNull: TlsVersionName): TlsVersionName {
  if (s === null) return ifNull;
  if (Object.hasOwn(TLS_VERSION_RANK, s)) return s as TlsVersionName;
  throw new Fatal('unknown TLS version: ' + s);
}

function decode(text: string): { tls: RawTls; http2: boolean; headers: Map<string, string>; users: Map<string, string> } {
  // getConfig's defaults.
  const defaults = (): RawTls => ({ cert: '', key: '', clientAuth: '', clientCAs: '', ciphers: [], curves: [], min: 'TLS12', max: 'TLS13', preferServer: true });
  const out = { tls: defaults(), http2: true, headers: new Map<string, string>(), users: new Map<string, string>() };
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { version: '1.1', lineCounter: lc, uniqueKeys: false });
  const doc = Array.isArray(docs) ? docs[0] : undefined;
  if (!doc) return out;
  const syntax = doc.errors[0];
  if (syntax) {
    const line = syntax.linePos?.[0].line;
    const message = syntax.message.replace(/ at line \d+, column \d+:[\s\S]*$/, '');
    throw new Fatal(`yaml: ${line !== undefined ? `line ${line}: ` : ''}${message}`);
  }
  const d = new YamlDecoder(doc, lc);
  const zeroTls = (): void => {
    // A null struct is Go's zero value: no defaults (min 0 is TLS 1.0 for a Go server, max 0 is TLS 1.3).
    out.tls = { ...defaults(), min: 'TLS10', max: 'TLS13', preferServer: false };
  };
  const str = (set: (s: string) => void) => (v: unknown) => {
    const s = d.string(v);
    if (s !== undefined) set(s);
  };
  const bool = (set: (b: boolean) => void) => (v: unknown) => {
    const b = d.bool(v);
    if (b !== undefined) set(b);
  };
  d.struct(
    doc.contents,
    'web.Config',
    {
      tls_server_config: (v) =>
        d.struct(
          v,
          'web.TLSConfig',
          {
            cert_file: str((s) => (out.tls.cert = s)),
            key_file: str((s) => (out.tls.key = s)),
            client_auth_type: str((s) => (out.tls.clientAuth = s)),
            client_ca_file: str((s) => (out.tls.clientCAs = s)),
            cipher_suites: (x) =>
              d.list(
                x,
                '[]web.Cipher',
                (s) => {
                  if (!Object.hasOwn(TLS12_SUITES, s) && !TLS13_SUITES.includes(s)) throw new Fatal('unknown cipher: ' + s);
                  out.tls.ciphers.push(s);
                },
                () => (out.tls.ciphers = []),
              ),
            curve_preferences: (x) =>
              d.list(
                x,
                '[]web.Curve',
                (s) => {
                  if (!Object.hasOwn(CURVES, s)) throw new Fatal('unknown curve: ' + s);
                  out.tls.curves.push(s);
                },
                () => (out.tls.curves = []),
              ),
            min_version: (x) => {
              const s = d.custom(x);
              if (s !== undefined) out.tls.min = tlsVersion(s, 'TLS10');
            },
            max_version: (x) => {
              const s = d.custom(x);
              if (s !== undefined) out.tls.max = tlsVersion(s, 'TLS13');
            },
            prefer_server_cipher_suites: bool((b) => (out.tls.preferServer = b)),
          },
          zeroTls,
        ),
      http_server_config: (v) =>
        d.struct(
          v,
          'web.HTTPConfig',
          {
            http2: bool((b) => (out.http2 = b)),
            headers: (x) => d.stringMap(x, 'map[string]string', 'string', out.headers),
          },
          () => {
            out.http2 = false;
            out.headers.clear();
          },
        ),
      basic_auth_users: (v) => d.stringMap(v, 'map[string]config.Secret', 'config.plain', out.users),
    },
    () => {
      zeroTls();
      out.http2 = false;
      out.headers.clear();
      out.users.clear();
    },
  );
  if (d.terrors.length > 0) throw new Fatal('yaml: unmarshal errors:\n  ' + d.terrors.join('\n  '));
  return out;
}

/** config_util.JoinDir, to an absolute path. */
function joinDir(dir: string, path: string): string {
  if (path === '') return '';
  return isAbsolute(path) ? path : join(dir, path);
}

function parseOrThrow(text: string, file: string): WebConfig {
  const { tls: t, http2, headers, users } = decode(text);
  // validateHeaderConfig (document order; Go walks its map in random order).
  for (const [k, v] of headers) {
    if (!Object.hasOwn(EXTRA_HTTP_HEADERS, k)) throw new Fatal(`HTTP header ${goQuote(k)} can not be configured`);
    const allowed = EXTRA_HTTP_HEADERS[k];
    if (allowed && !allowed.includes(v)) throw new Fatal(`invalid value for ${k}. Expected one of: [${allowed.map(goQuote).join(' ')}], but got: ${goQuote(v)}`);
  }
  // validateUsers.
  for (const hash of users.values()) {
    const err = bcryptCostError(hash);
    if (err) throw new Fatal(err);
  }
  const config: WebConfig = { basicAuthUsers: users, headers: Object.fromEntries(headers), http2 };
  // ConfigToTLSConfig.
  if (t.cert === '' && t.key === '' && t.clientAuth === '' && t.clientCAs === '') return config;
  if (t.cert === '') throw new Fatal('missing cert_file');
  if (t.key === '') throw new Fatal('missing key_file');
  let clientAuthType: ClientAuthType;
  switch (t.clientAuth) {
    case 'RequestClientCert':
    case 'VerifyClientCertIfGiven':
    case 'RequireAndVerifyClientCert':
      clientAuthType = t.clientAuth;
      break;
    case 'RequireAnyClientCert':
    case 'RequireClientCert':
      clientAuthType = 'RequireAnyClientCert';
      break;
    case '':
    case 'NoClientCert':
      clientAuthType = 'NoClientCert';
      break;
    default:
      throw new Fatal('Invalid ClientAuth: ' + t.clientAuth);
  }
  if (t.clientCAs !== '' && clientAuthType === 'NoClientCert') throw new Fatal("Client CA's have been configured without a Client Auth Policy");
  // net/http refuses to serve HTTP/2 with a TLS 1.2 suite list lacking its mandatory suite.
  const tls12 = t.ciphers.filter((c) => !TLS13_SUITES.includes(c));
  if (http2 && t.ciphers.length > 0 && TLS_VERSION_RANK[t.min] < TLS_VERSION_RANK.TLS13 && !tls12.some((c) => c === 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256' || c === 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256')) {
    throw new Fatal('http2: TLSConfig.CipherSuites is missing an HTTP/2-required AES_128_GCM_SHA256 cipher (need at least one of TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 or TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)');
  }
  const dir = dirname(resolve(file));
  const clientCaFile = joinDir(dir, t.clientCAs);
  config.tls = {
    certFile: joinDir(dir, t.cert),
    keyFile: joinDir(dir, t.key),
    clientAuthType,
    ...(clientCaFile ? { clientCaFile } : {}),
    minVersion: t.min,
    maxVersion: t.max,
    cipherSuites: t.ciphers,
    curvePreferences: t.curves,
    preferServerCipherSuites: t.preferServer,
  };
  return config;
}

/**
 * Parses and validates as exporter-toolkit does (unknown fields refused, its error texts), naming `file` in errors.
 * Relative paths resolve against the file's folder. The TLS files are not read here (loadWebConfig does).
 */
export function parseWebConfig(text: string, file: string): WebConfig {
  try {
    return parseOrThrow(text, file);
  } catch (e) {
    if (e instanceof Fatal) throw new WebConfigError(file, e.message);
    throw e;
  }
}

/**
 * Reads, parses and validates a web config file, its TLS files included (as the toolkit's Validate does).
 * `beforeTlsFiles` is told their paths before they are read (the reloader stamps them).
 */
export async function loadWebConfig(file: string, beforeTlsFiles?: (paths: string[]) => Promise<void>): Promise<WebConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new WebConfigError(file, goFileError(e, file));
  }
  const config = parseWebConfig(text, file);
  if (config.tls) {
    const paths = tlsFiles(config.tls);
    await beforeTlsFiles?.(paths);
    const files = await readAll(paths);
    try {
      tlsMaterial(config.tls, (p) => files.get(p)!);
    } catch (e) {
      if (e instanceof Fatal) throw new WebConfigError(file, e.message);
      throw e;
    }
  }
  return config;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Reloading.                                                                                                   */

function stampOf(s: Stats | undefined): string {
  return s ? `${s.ino}:${s.size}:${s.mtimeMs}` : 'missing';
}

interface Loaded {
  config?: WebConfig;
  error?: WebConfigError;
  /** Stamps (inode, size, mtime) of the file and of its TLS files, taken before reading them. */
  stamps: Map<string, string>;
}

function statSyncOrUndefined(p: string): Stats | undefined {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
}

function loadSync(file: string): Loaded {
  const stamps = new Map<string, string>([[file, stampOf(statSyncOrUndefined(file))]]);
  try {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new WebConfigError(file, goFileError(e, file));
    }
    const config = parseWebConfig(text, file);
    if (config.tls) {
      for (const p of tlsFiles(config.tls)) stamps.set(p, stampOf(statSyncOrUndefined(p)));
      try {
        tlsMaterial(config.tls, readSync);
      } catch (e) {
        if (e instanceof Fatal) throw new WebConfigError(file, e.message);
        throw e;
      }
    }
    return { config, stamps };
  } catch (e) {
    return { error: e instanceof WebConfigError ? e : new WebConfigError(file, (e as Error).message), stamps };
  }
}

async function loadAsync(file: string): Promise<Loaded> {
  const statOrUndefined = (p: string): Promise<Stats | undefined> => stat(p).catch(() => undefined);
  const stamps = new Map<string, string>([[file, stampOf(await statOrUndefined(file))]]);
  try {
    const config = await loadWebConfig(file, async (paths) => {
      for (const p of paths) stamps.set(p, stampOf(await statOrUndefined(p)));
    });
    return { config, stamps };
  } catch (e) {
    return { error: e instanceof WebConfigError ? e : new WebConfigError(file, (e as Error).message), stamps };
  }
}

/**
 * Keeps the last good config of a file: re-read when it or one of its TLS files changed (inode, size or mtime;
 * checked at most once a second, when `current()` is called); an invalid new file is logged via `onError` (once
 * per change) and the last good one stays. The first load must succeed (it throws otherwise).
 */
export class WebConfigSource {
  private config: WebConfig;
  private stamps: Map<string, string>;
  private lastCheck = Date.now();

  /** Loads the file synchronously (throws a WebConfigError when it is invalid); `open` is the async way. */
  constructor(
    readonly file: string,
    private readonly onError: (e: Error) => void,
    /** @internal what `open` loaded */
    loaded?: Loaded,
  ) {
    const first = loaded ?? loadSync(file);
    if (!first.config) throw first.error!;
    this.config = first.config;
    this.stamps = first.stamps;
  }

  static async open(file: string, onError: (e: Error) => void): Promise<WebConfigSource> {
    return new WebConfigSource(file, onError, await loadAsync(file));
  }

  current(): WebConfig {
    const now = Date.now();
    if (now - this.lastCheck >= 1000) {
      this.lastCheck = now;
      this.refresh();
    }
    return this.config;
  }

  private refresh(): void {
    let changed = false;
    for (const [p, stamp] of this.stamps) {
      if (stampOf(statSyncOrUndefined(p)) !== stamp) {
        changed = true;
        break;
      }
    }
    if (!changed) return;
    const next = loadSync(this.file);
    // Watch what was tried, so that a bad file is reported once and retried only when something changes again.
    this.stamps = next.stamps;
    if (next.config) this.config = next.config;
    else this.onError(next.error!);
  }
}

