/**
 * Prometheus's HTTP client configuration (common/config.HTTPClientConfig): reading and validating it,
 * and a client that applies it (auth headers, TLS, proxy, redirects) with undici.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Agent, Headers, ProxyAgent, fetch as undiciFetch, interceptors, request as undiciRequest, type Dispatcher, type RequestInit, type Response } from 'undici';
import { ConfigError, type YamlPath } from '../prom/errors.js';
import { isPlainMap, optString, readBool, readMap, readStringList, readString, type Plain } from '../prom/decode.js';

export interface TlsConfig {
  caFile?: string; ca?: string;
  certFile?: string; cert?: string;
  keyFile?: string; key?: string;
  serverName?: string;
  insecureSkipVerify: boolean;
  minVersion?: string; maxVersion?: string;
}

export interface HttpClientConfig {
  basicAuth?: { username: string; password?: string; passwordFile?: string };
  /** `bearer_token`/`bearer_token_file` are folded into this, as Prometheus does. */
  authorization?: { type: string; credentials?: string; credentialsFile?: string };
  oauth2?: {
    clientId: string; clientSecret?: string; clientSecretFile?: string; scopes: string[]; tokenUrl: string;
    endpointParams: Record<string, string>; tls: TlsConfig; proxyUrl?: string;
  };
  tls: TlsConfig;
  proxyUrl?: string;
  /** Headers for the proxy's CONNECT (secrets). */
  proxyConnectHeader: Record<string, string[]>;
  followRedirects: boolean;
  enableHttp2: boolean;
}

/** The fields HTTPClientConfig inlines into its parent (scrape config, http_sd, kubernetes_sd, …). */
export const HTTP_CLIENT_FIELDS = [
  'basic_auth', 'authorization', 'oauth2', 'bearer_token', 'bearer_token_file', 'tls_config',
  'proxy_url', 'proxy_connect_header', 'follow_redirects', 'enable_http2',
] as const;

// Prometheus 2.42 (common v0.39) has no inline `ca`/`cert`/`key` yet: they are unknown fields there, so here too.
const TLS_FIELDS = ['ca_file', 'cert_file', 'key_file', 'server_name', 'insecure_skip_verify', 'min_version', 'max_version'];
const TLS_VERSIONS = ['TLS10', 'TLS11', 'TLS12', 'TLS13'];

function fileIn(dir: string, v: unknown, path: YamlPath, what: string): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  return resolve(dir, readString(v, path, what));
}

export function readTlsConfig(raw: unknown, path: YamlPath, dir: string): TlsConfig {
  const m = readMap(raw, path, 'tls_config', TLS_FIELDS);
  const s = (k: string) => (m[k] === undefined || m[k] === null ? undefined : readString(m[k], [...path, k], `tls_config.${k}`));
  const tls: TlsConfig = {
    caFile: fileIn(dir, m.ca_file, [...path, 'ca_file'], 'ca_file'), ca: s('ca'),
    certFile: fileIn(dir, m.cert_file, [...path, 'cert_file'], 'cert_file'), cert: s('cert'),
    keyFile: fileIn(dir, m.key_file, [...path, 'key_file'], 'key_file'), key: s('key'),
    serverName: s('server_name'),
    insecureSkipVerify: readBool(m.insecure_skip_verify, [...path, 'insecure_skip_verify'], 'insecure_skip_verify', false),
    minVersion: s('min_version'), maxVersion: s('max_version'),
  };
  for (const k of ['min_version', 'max_version'] as const) {
    const v = k === 'min_version' ? tls.minVersion : tls.maxVersion;
    if (v !== undefined && !TLS_VERSIONS.includes(v)) throw new ConfigError(`unknown TLS version: ${v}`, [...path, k]);
  }
  if (tls.ca && tls.caFile) throw new ConfigError('at most one of ca and ca_file must be configured', path);
  if (tls.cert && tls.certFile) throw new ConfigError('at most one of cert and cert_file must be configured', path);
  if (tls.key && tls.keyFile) throw new ConfigError('at most one of key and key_file must be configured', path);
  if ((tls.cert || tls.certFile) && !(tls.key || tls.keyFile)) throw new ConfigError('exactly one of key or key_file must be configured when a client certificate is configured', path);
  if ((tls.key || tls.keyFile) && !(tls.cert || tls.certFile)) throw new ConfigError('exactly one of cert or cert_file must be configured when a client key is configured', path);
  return tls;
}

function checkProxyUrl(v: unknown, path: YamlPath): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const s = readString(v, path, 'proxy_url');
  try {
    new URL(s);
  } catch {
    throw new ConfigError(`parse ${JSON.stringify(s)}: invalid proxy_url`, path);
  }
  return s;
}

function readHeaderMap(v: unknown, path: YamlPath): Record<string, string[]> {
  if (v === undefined || v === null) return {};
  if (!isPlainMap(v)) throw new ConfigError('proxy_connect_header: expected a mapping of header names to lists of values', path);
  const out: Record<string, string[]> = {};
  for (const [k, vals] of Object.entries(v)) out[k] = readStringList(vals, [...path, k], k);
  return out;
}

/** Reads the inlined HTTP client fields of `parent` (the caller has already checked for unknown fields). */
export function readHttpClientConfig(parent: Plain, path: YamlPath, dir: string): HttpClientConfig {
  const at = (k: string): YamlPath => [...path, k];
  const cfg: HttpClientConfig = {
    tls: readTlsConfig(parent.tls_config, at('tls_config'), dir),
    proxyUrl: checkProxyUrl(parent.proxy_url, at('proxy_url')),
    proxyConnectHeader: readHeaderMap(parent.proxy_connect_header, at('proxy_connect_header')),
    followRedirects: readBool(parent.follow_redirects, at('follow_redirects'), 'follow_redirects', true),
    enableHttp2: readBool(parent.enable_http2, at('enable_http2'), 'enable_http2', true),
  };
  if (parent.basic_auth !== undefined && parent.basic_auth !== null) {
    const p = at('basic_auth');
    const b = readMap(parent.basic_auth, p, 'basic_auth', ['username', 'password', 'password_file']);
    cfg.basicAuth = {
      username: optString(b.username, [...p, 'username'], 'username', ''),
      password: b.password === undefined || b.password === null ? undefined : readString(b.password, [...p, 'password'], 'password'),
      passwordFile: fileIn(dir, b.password_file, [...p, 'password_file'], 'password_file'),
    };
    if (cfg.basicAuth.password && cfg.basicAuth.passwordFile) throw new ConfigError('at most one of basic_auth password & password_file must be configured', p);
  }
  const bearer = optString(parent.bearer_token, at('bearer_token'), 'bearer_token', '');
  const bearerFile = fileIn(dir, parent.bearer_token_file, at('bearer_token_file'), 'bearer_token_file');
  if (bearer && bearerFile) throw new ConfigError('at most one of bearer_token & bearer_token_file must be configured', path);
  if (parent.authorization !== undefined && parent.authorization !== null) {
    const p = at('authorization');
    const a = readMap(parent.authorization, p, 'authorization', ['type', 'credentials', 'credentials_file']);
    if (bearer || bearerFile) throw new ConfigError('at most one of bearer_token, bearer_token_file & authorization must be configured', path);
    const type = optString(a.type, [...p, 'type'], 'type', '') || 'Bearer';
    if (type.toLowerCase() === 'basic') throw new ConfigError('authorization type cannot be set to "basic", use "basic_auth" instead', [...p, 'type']);
    cfg.authorization = {
      type,
      credentials: a.credentials === undefined || a.credentials === null ? undefined : readString(a.credentials, [...p, 'credentials'], 'credentials'),
      credentialsFile: fileIn(dir, a.credentials_file, [...p, 'credentials_file'], 'credentials_file'),
    };
    if (cfg.authorization.credentials && cfg.authorization.credentialsFile) throw new ConfigError('at most one of authorization credentials & credentials_file must be configured', p);
  } else if (bearer || bearerFile) {
    cfg.authorization = { type: 'Bearer', credentials: bearer || undefined, credentialsFile: bearerFile };
  }
  if (parent.oauth2 !== undefined && parent.oauth2 !== null) {
    const p = at('oauth2');
    const o = readMap(parent.oauth2, p, 'oauth2', ['client_id', 'client_secret', 'client_secret_file', 'scopes', 'token_url', 'endpoint_params', 'tls_config', 'proxy_url']);
    const params: Record<string, string> = {};
    if (isPlainMap(o.endpoint_params)) for (const [k, v] of Object.entries(o.endpoint_params)) params[k] = readString(v, [...p, 'endpoint_params', k], k);
    cfg.oauth2 = {
      clientId: optString(o.client_id, [...p, 'client_id'], 'client_id', ''),
      clientSecret: o.client_secret === undefined || o.client_secret === null ? undefined : readString(o.client_secret, [...p, 'client_secret'], 'client_secret'),
      clientSecretFile: fileIn(dir, o.client_secret_file, [...p, 'client_secret_file'], 'client_secret_file'),
      scopes: readStringList(o.scopes, [...p, 'scopes'], 'scopes'),
      tokenUrl: optString(o.token_url, [...p, 'token_url'], 'token_url', ''),
      endpointParams: params,
      tls: readTlsConfig(o.tls_config, [...p, 'tls_config'], dir),
      proxyUrl: checkProxyUrl(o.proxy_url, [...p, 'proxy_url']),
    };
    if (!cfg.oauth2.tokenUrl) throw new ConfigError('oauth2 token_url must be configured', p);
    if (!cfg.oauth2.clientSecret && !cfg.oauth2.clientSecretFile) throw new ConfigError('either oauth2 client_secret or client_secret_file must be configured', p);
    if (cfg.oauth2.clientSecret && cfg.oauth2.clientSecretFile) throw new ConfigError('at most one of oauth2 client_secret & client_secret_file must be configured', p);
  }
  const methods = [cfg.basicAuth, cfg.oauth2, cfg.authorization].filter((x) => x !== undefined).length;
  if (methods > 1) throw new ConfigError('at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured', path);
  return cfg;
}

async function readSecretFile(file: string): Promise<string> {
  return (await readFile(file, 'utf8')).trim();
}

async function tlsConnectOptions(tls: TlsConfig): Promise<Record<string, unknown>> {
  const opts: Record<string, unknown> = { rejectUnauthorized: !tls.insecureSkipVerify };
  const ca = tls.ca ?? (tls.caFile ? await readFile(tls.caFile, 'utf8') : undefined);
  if (ca) opts.ca = ca;
  const cert = tls.cert ?? (tls.certFile ? await readFile(tls.certFile, 'utf8') : undefined);
  const key = tls.key ?? (tls.keyFile ? await readFile(tls.keyFile, 'utf8') : undefined);
  if (cert) opts.cert = cert;
  if (key) opts.key = key;
  if (tls.serverName) opts.servername = tls.serverName;
  const versions: Record<string, string> = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' };
  opts.minVersion = versions[tls.minVersion ?? 'TLS12'];
  if (tls.maxVersion) opts.maxVersion = versions[tls.maxVersion];
  return opts;
}

const OAUTH2_TIMEOUT_MS = 30_000;
const OAUTH2_MAX_BYTES = 1 << 20;

async function boundedText(res: Response, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res.body ?? []) {
    n += (c as Uint8Array).length;
    if (n > max) {
      await res.body?.cancel().catch(() => undefined);
      throw new Error(`answer over ${max} bytes`);
    }
    chunks.push(Buffer.from(c as Uint8Array));
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** An HTTP client applying one HttpClientConfig. Credential files are read per request, as Prometheus re-reads them. */
export class ConfiguredHttpClient {
  private dispatcherPromise?: Promise<Dispatcher>;
  private oauthToken?: { value: string; expires: number };

  constructor(readonly cfg: HttpClientConfig, readonly userAgent = 'kvass') {}

  /** The dispatcher applying this config's TLS and proxy settings (one per client, kept). */
  dispatcher(): Promise<Dispatcher> {
    this.dispatcherPromise ??= (async () => {
      const connect = await tlsConnectOptions(this.cfg.tls);
      if (!this.cfg.proxyUrl) return new Agent({ connect, allowH2: this.cfg.enableHttp2 });
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(this.cfg.proxyConnectHeader)) headers[k] = v.join(', ');
      return new ProxyAgent({ uri: this.cfg.proxyUrl, requestTls: connect, headers });
    })();
    return this.dispatcherPromise;
  }

  /** The Authorization header value this config calls for, if any. */
  async authorizationHeader(): Promise<string | undefined> {
    const c = this.cfg;
    if (c.basicAuth) {
      const user = c.basicAuth.username;
      const pass = c.basicAuth.passwordFile ? await readSecretFile(c.basicAuth.passwordFile) : c.basicAuth.password ?? '';
      return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    }
    if (c.authorization) {
      const cred = c.authorization.credentialsFile ? await readSecretFile(c.authorization.credentialsFile) : c.authorization.credentials ?? '';
      return `${c.authorization.type} ${cred}`;
    }
    if (c.oauth2) return `Bearer ${await this.oauth2Token()}`;
    return undefined;
  }

  private async oauth2Token(): Promise<string> {
    const o = this.cfg.oauth2!;
    if (this.oauthToken && this.oauthToken.expires > Date.now()) return this.oauthToken.value;
    const secret = o.clientSecretFile ? await readSecretFile(o.clientSecretFile) : o.clientSecret ?? '';
    const body = new URLSearchParams({ grant_type: 'client_credentials', ...o.endpointParams });
    if (o.scopes.length) body.set('scope', o.scopes.join(' '));
    const connect = await tlsConnectOptions(o.tls);
    const dispatcher = o.proxyUrl ? new ProxyAgent({ uri: o.proxyUrl, requestTls: connect }) : new Agent({ connect });
    // Bounded in time and size: a token endpoint that hangs or floods must not hold a scrape or the process.
    const res = await undiciFetch(o.tokenUrl, {
      method: 'POST', body, dispatcher, signal: AbortSignal.timeout(OAUTH2_TIMEOUT_MS),
      headers: { authorization: `Basic ${Buffer.from(`${encodeURIComponent(o.clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    });
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`oauth2 token request to ${o.tokenUrl} failed: ${res.status} ${res.statusText}`);
    }
    const text = await boundedText(res, OAUTH2_MAX_BYTES);
    let tok: { access_token?: string; expires_in?: number };
    try {
      tok = JSON.parse(text) as typeof tok;
    } catch {
      throw new Error(`oauth2 token response from ${o.tokenUrl} is not JSON`);
    }
    if (!tok.access_token) throw new Error(`oauth2 token response from ${o.tokenUrl} has no access_token`);
    this.oauthToken = { value: tok.access_token, expires: Date.now() + Math.max(0, (tok.expires_in ?? 3600) - 10) * 1000 };
    return tok.access_token;
  }

  /** fetch with this config's auth, TLS, proxy and redirect policy applied. */
  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (!headers.has('user-agent')) headers.set('user-agent', this.userAgent);
    const auth = await this.authorizationHeader();
    if (auth && !headers.has('authorization')) headers.set('authorization', auth);
    return undiciFetch(url, {
      ...init,
      headers: Object.fromEntries(headers.entries()),
      dispatcher: await this.dispatcher(),
      redirect: this.cfg.followRedirects ? 'follow' : 'manual',
    });
  }

  /**
   * A GET whose body is NOT decoded (a gzip body stays gzip, for a proxy that passes it on), with this
   * config's auth (replacing any given Authorization), TLS, proxy, and redirects (at most 10, as Go's client).
   */
  async request(url: string, headers: Record<string, string>, signal: AbortSignal): Promise<Dispatcher.ResponseData> {
    const h: Record<string, string> = { 'user-agent': this.userAgent, ...headers };
    const auth = await this.authorizationHeader();
    if (auth) h.authorization = auth;
    let dispatcher: Dispatcher = await this.dispatcher();
    if (this.cfg.followRedirects) {
      this.redirecting ??= dispatcher.compose(interceptors.redirect({ maxRedirections: 10 }));
      dispatcher = this.redirecting;
    }
    return undiciRequest(url, { method: 'GET', headers: h, signal, dispatcher });
  }

  private redirecting?: Dispatcher;

  async close(): Promise<void> {
    if (this.dispatcherPromise) await (await this.dispatcherPromise).close();
  }
}
