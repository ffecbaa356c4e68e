/**
 * kvass's own outbound calls (coordinator → sidecars, gateway → sidecars, front door → querier and shards,
 * `kvass query` → coordinator): every call has a timeout and a cap on the answer's size, and carries the
 * credential kvass is configured with: the bearer token (--shard.api-token-file, or the one `kvass up` makes) and/or
 * a Prometheus `http_config`-shaped client config (--shard.client-config-file: tls_config, authorization,
 * basic_auth, proxy_url). JSON answers in Prometheus's envelope are unwrapped; a malformed one is an error of that
 * call, never of the caller's cycle.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import YAML from 'yaml';
import { request, type Dispatcher } from 'undici';
import { ConfiguredHttpClient, HTTP_CLIENT_FIELDS, readHttpClientConfig, type HttpClientConfig } from '../config/http-client.js';
import { ConfigError } from '../prom/errors.js';
import { readMap } from '../prom/decode.js';
import { readAll } from './passthrough.js';

/** Reads a client config file (the fields of Prometheus's http_config); errors name the file. */
export async function loadClientConfig(file: string): Promise<HttpClientConfig> {
  const abs = resolve(file);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (e) {
    throw new Error(`cannot read the client config ${file}: ${(e as Error).message}`);
  }
  if (text.length > 1 << 20) throw new Error(`client config ${file}: larger than 1 MiB`);
  try {
    const raw = YAML.parse(text, { maxAliasCount: 100 }) as unknown;
    const plain = readMap(raw ?? {}, [], 'client config', [...HTTP_CLIENT_FIELDS]);
    return readHttpClientConfig(plain, [], dirname(abs));
  } catch (e) {
    const where = e instanceof ConfigError && e.path.length > 0 ? ` (at ${e.path.join('.')})` : '';
    throw new Error(`client config ${file}: ${(e as Error).message}${where}`);
  }
}

export interface ApiClientOptions {
  /** Bearer token sent with every call (wins over the client config's own authorization). */
  token?: string;
  http?: HttpClientConfig;
  /** Default per-call deadline and answer cap. */
  timeoutMs: number;
  maxResponseBytes: number;
  userAgent?: string;
}

export interface CallOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  timeoutMs?: number;
  maxResponseBytes?: number;
}

export interface CallResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A failed call: what and why, safe to log and to show (no credential in it). */
export class CallError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
    this.name = 'CallError';
  }
}

export class ApiClient {
  private readonly configured: ConfiguredHttpClient;

  constructor(readonly opts: ApiClientOptions) {
    this.configured = new ConfiguredHttpClient(opts.http ?? { tls: { insecureSkipVerify: false }, proxyConnectHeader: {}, followRedirects: false, enableHttp2: false }, opts.userAgent ?? 'kvass');
  }

  /** The dispatcher with the client config's TLS and proxy (for streaming callers such as a pass-through). */
  dispatcher(): Promise<Dispatcher> {
    return this.configured.dispatcher();
  }

  /** The Authorization header kvass sends, if any. */
  async authorization(): Promise<string | undefined> {
    if (this.opts.token !== undefined) return `Bearer ${this.opts.token}`;
    return this.configured.authorizationHeader();
  }

  async call(url: string, o: CallOptions = {}): Promise<CallResult> {
    const timeoutMs = o.timeoutMs ?? this.opts.timeoutMs;
    const max = o.maxResponseBytes ?? this.opts.maxResponseBytes;
    const headers: Record<string, string> = { 'user-agent': this.opts.userAgent ?? 'kvass', ...o.headers };
    const auth = await this.authorization();
    if (auth !== undefined) headers.authorization = auth;
    const signal = AbortSignal.timeout(timeoutMs);
    const method = (o.method ?? 'GET') as Dispatcher.HttpMethod;
    try {
      const res = await request(url, { method, headers, body: o.body, signal, dispatcher: await this.dispatcher() });
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > max) {
        res.body.destroy();
        throw new CallError(`${method} ${url}: answer of ${declared} bytes is over the limit of ${max}`, res.statusCode);
      }
      const body = await readAll(res.body, max, `${method} ${url}`, signal).catch((e: Error) => {
        throw new CallError(e.message, res.statusCode);
      });
      return { status: res.statusCode, headers: res.headers, body };
    } catch (e) {
      if (e instanceof CallError) throw e;
      if (signal.aborted) throw new CallError(`${method} ${url}: no answer within ${timeoutMs / 1000}s`);
      const err = e as Error & { cause?: Error };
      throw new CallError(`${method} ${url}: ${err.cause?.message ?? err.message}`);
    }
  }

  /** A call answered in Prometheus's envelope: its `data`, else a CallError with the status and error text. */
  async data(url: string, o: CallOptions = {}): Promise<{ data: unknown; warnings: string[] }> {
    const r = await this.call(url, o);
    const text = r.body.toString('utf8');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new CallError(`${o.method ?? 'GET'} ${url}: HTTP ${r.status}, not JSON: ${text.slice(0, 200).replace(/\s+/g, ' ')}`, r.status);
    }
    const env = parsed as { status?: unknown; data?: unknown; error?: unknown; warnings?: unknown };
    if (r.status < 200 || r.status > 299 || env?.status !== 'success') {
      const why = typeof env?.error === 'string' ? env.error : text.slice(0, 200);
      throw new CallError(`${o.method ?? 'GET'} ${url}: HTTP ${r.status}: ${why}`, r.status);
    }
    const warnings = Array.isArray(env.warnings) ? env.warnings.filter((w): w is string => typeof w === 'string') : [];
    return { data: env.data, warnings };
  }

  async close(): Promise<void> {
    await this.configured.close();
  }
}
