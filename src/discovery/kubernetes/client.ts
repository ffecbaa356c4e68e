/**
 * How kvass talks to the API server: an explicit `api_server` with the job's HTTP client config,
 * a kubeconfig file (KubeConfig.loadFromFile), or the in-cluster service account (KubeConfig.loadFromCluster).
 * Requests go through undici either way; @kubernetes/client-node supplies the kubeconfig credentials.
 */
import { existsSync, readFileSync } from 'node:fs';
import { Agent, ProxyAgent, fetch as undiciFetch, type Dispatcher, type Response } from 'undici';
import type * as K8s from '@kubernetes/client-node';
import { ConfiguredHttpClient } from '../../config/http-client.js';
import type { KubernetesSdConfig } from './config.js';

export type K8sLib = typeof K8s;

export const USER_AGENT = 'kvass';
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface KubeClient {
  /** A GET on the API server (`path` such as `/api/v1/pods`). Never throws for HTTP error statuses. */
  get(path: string, query: Record<string, string>, signal: AbortSignal): Promise<Response>;
  /** Any method, with a JSON body (`contentType` for patches). Never throws for HTTP error statuses. */
  send(method: string, path: string, body: unknown, signal: AbortSignal, contentType?: string): Promise<Response>;
  close(): Promise<void>;
}

function jsonBody(body: unknown, contentType = 'application/json'): { body?: string; headers: Record<string, string> } {
  return body === undefined ? { headers: {} } : { body: JSON.stringify(body), headers: { 'content-type': contentType } };
}

/** An API error: `statusCode` is the HTTP status (or the `code` of a watch ERROR event). */
export class ApiError extends Error {
  constructor(message: string, readonly statusCode: number, readonly reason = '') {
    super(message);
    this.name = 'ApiError';
  }
  /** client-node's ListWatch re-lists when an error carries `code` 410. */
  get code(): number {
    return this.statusCode;
  }
}

/** An ApiError from a metav1.Status object (watch ERROR events, error bodies). */
export function statusError(status: unknown, fallbackCode: number, fallbackText: string): ApiError {
  const s = (typeof status === 'object' && status !== null ? status : {}) as { message?: unknown; reason?: unknown; code?: unknown };
  const code = typeof s.code === 'number' ? s.code : fallbackCode;
  const msg = typeof s.message === 'string' && s.message ? s.message : fallbackText;
  return new ApiError(`${code}: ${msg}`, code, typeof s.reason === 'string' ? s.reason : '');
}

/** Throws an ApiError for a non-2xx response (consuming its body). */
export async function checkResponse(res: Response, what: string): Promise<void> {
  if (res.ok) return;
  const text = await res.text().catch(() => '');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const e = statusError(body, res.status, text.trim() || res.statusText);
  throw new ApiError(`${what}: server returned HTTP status ${res.status} ${res.statusText}: ${e.message}`, res.status, e.reason);
}

export async function getJson<T>(client: KubeClient, path: string, query: Record<string, string>, signal: AbortSignal): Promise<T> {
  const res = await client.get(path, query, signal);
  await checkResponse(res, `GET ${path}`);
  return (await res.json()) as T;
}

/** The server's version as Prometheus reads it (utilversion.ParseSemantic of gitVersion). */
export async function serverVersion(client: KubeClient, signal: AbortSignal): Promise<{ major: number; minor: number }> {
  const v = await getJson<{ gitVersion?: string }>(client, '/version', {}, signal);
  const m = /^\s*v?(\d+)\.(\d+)\.(\d+)([-+].*)?$/.exec(v.gitVersion ?? '');
  if (!m) throw new Error(`could not parse ${JSON.stringify(v.gitVersion ?? '')} as version`);
  return { major: Number(m[1]), minor: Number(m[2]) };
}

function withQuery(base: URL, path: string, query: Record<string, string>): string {
  const u = new URL(base.href);
  u.pathname = base.pathname.replace(/\/+$/, '') + path;
  for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v);
  return u.href;
}

/** rest.Config.Host without a scheme gets `http://` (Prometheus passes TLS in its own transport). */
function serverUrl(s: string): URL {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(s) ? new URL(s) : new URL(`http://${s}`);
}

function httpConfigClient(apiServer: string, cfg: KubernetesSdConfig): KubeClient {
  const http = new ConfiguredHttpClient(cfg.http, USER_AGENT);
  const base = serverUrl(apiServer);
  return {
    get: (path, query, signal) => http.fetch(withQuery(base, path, query), { signal, headers: { accept: 'application/json' } }),
    send: (method, path, body, signal, contentType) => {
      const b = jsonBody(body, contentType);
      return http.fetch(withQuery(base, path, {}), { method, signal, body: b.body, headers: { accept: 'application/json', ...b.headers } });
    },
    close: () => http.close(),
  };
}

/** A client using a KubeConfig's current cluster and user (token, basic auth, client certs, exec/auth providers). */
export function kubeConfigClient(k8s: K8sLib, kc: K8s.KubeConfig, userAgent = USER_AGENT): KubeClient {
  const cluster = kc.getCurrentCluster();
  if (!cluster || !cluster.server) throw new Error('invalid configuration: no configuration has been provided');
  const user = kc.getCurrentUser() ?? { name: 'user' };
  // client-node refuses plain http unless TLS verification is off; client-go allows it.
  const applier = new k8s.KubeConfig();
  applier.loadFromClusterAndUser({ ...cluster, skipTLSVerify: cluster.skipTLSVerify || cluster.server.startsWith('http:') }, user);
  const base = serverUrl(cluster.server);
  let dispatcher: Dispatcher | undefined;
  const call = async (method: string, path: string, query: Record<string, string>, body: unknown, signal: AbortSignal, contentType?: string): Promise<Response> => {
    const opts: { headers?: Record<string, unknown>; auth?: string; ca?: unknown; cert?: unknown; key?: unknown; rejectUnauthorized?: boolean; servername?: string } = {};
    await applier.applyToHTTPSOptions(opts as never);
    if (!dispatcher) {
      const connect = { ca: opts.ca, cert: opts.cert, key: opts.key, rejectUnauthorized: opts.rejectUnauthorized ?? true, servername: opts.servername };
      dispatcher = cluster.proxyUrl ? new ProxyAgent({ uri: cluster.proxyUrl, requestTls: connect as never }) : new Agent({ connect: connect as never });
    }
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': userAgent };
    for (const [k, v] of Object.entries(opts.headers ?? {})) if (v !== undefined) headers[k.toLowerCase()] = String(v);
    if (opts.auth) headers.authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
    const b = jsonBody(body, contentType);
    return undiciFetch(withQuery(base, path, query), { method, signal, body: b.body, headers: { ...headers, ...b.headers }, dispatcher });
  };
  return {
    get: (path, query, signal) => call('GET', path, query, undefined, signal),
    send: (method, path, body, signal, contentType) => call(method, path, {}, body, signal, contentType),
    async close() {
      await dispatcher?.close();
    },
  };
}

export interface ClientSetup {
  client: KubeClient;
  /** The pod's own namespace, when `namespaces.own_namespace` is set (in-cluster only). */
  ownNamespace: string;
}

export interface ClientOptions {
  /** Prefix for the service account directory (tests); '' in production. */
  inClusterPathPrefix?: string;
  env?: NodeJS.ProcessEnv;
}

/** Builds the client the way Prometheus's kubernetes.New picks its rest.Config. Throws on unusable settings. */
export function createClient(k8s: K8sLib, cfg: KubernetesSdConfig, opts: ClientOptions = {}): ClientSetup {
  if (cfg.kubeconfigFile !== undefined) {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(cfg.kubeconfigFile);
    return { client: kubeConfigClient(k8s, kc), ownNamespace: '' };
  }
  if (cfg.apiServer !== undefined) return { client: httpConfigClient(cfg.apiServer, cfg), ownNamespace: '' };

  const kc = inClusterKubeConfig(k8s, opts);
  const saDir = (opts.inClusterPathPrefix ?? '') + SERVICE_ACCOUNT_DIR;
  let ownNamespace = '';
  if (cfg.namespaces.ownNamespace) {
    let contents: string;
    try {
      contents = readFileSync(`${saDir}/namespace`, 'utf8');
    } catch (e) {
      throw new Error(`could not determine the pod's namespace: ${(e as Error).message}`);
    }
    if (contents.length === 0) throw new Error('could not read own namespace name (empty file)');
    ownNamespace = contents;
  }
  return { client: kubeConfigClient(k8s, kc), ownNamespace };
}

/** rest.InClusterConfig: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT, token and CA from the service account. */
export function inClusterKubeConfig(k8s: K8sLib, opts: ClientOptions = {}): K8s.KubeConfig {
  const env = opts.env ?? process.env;
  const prefix = opts.inClusterPathPrefix ?? '';
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const port = env.KUBERNETES_SERVICE_PORT ?? '';
  if (!host || !port) throw new Error('unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined');
  readFileSync(`${prefix + SERVICE_ACCOUNT_DIR}/token`); // must be readable, as client-go requires
  const kc = new k8s.KubeConfig();
  kc.loadFromCluster(prefix);
  const c = kc.getCurrentCluster()!;
  const u = kc.getCurrentUser()!;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  kc.loadFromClusterAndUser({ ...c, server: `https://${hostPart}:${port}`, caFile: existsSync(c.caFile ?? '') ? c.caFile : undefined }, u);
  return kc;
}

/**
 * kvass's own client (the k8s shard manager, leader election): a kubeconfig file when given, else in-cluster. The
 * namespace is the kubeconfig context's, else the pod's own (service account, then $POD_NAMESPACE), else "default".
 */
export function kubeClientFor(k8s: K8sLib, kubeconfigFile: string | undefined, userAgent: string, opts: ClientOptions = {}): { client: KubeClient; namespace: string } {
  const env = opts.env ?? process.env;
  if (kubeconfigFile) {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(kubeconfigFile);
    const ctx = kc.getContextObject(kc.getCurrentContext());
    return { client: kubeConfigClient(k8s, kc, userAgent), namespace: ctx?.namespace || env.POD_NAMESPACE || 'default' };
  }
  const kc = inClusterKubeConfig(k8s, opts);
  let namespace = env.POD_NAMESPACE || 'default';
  try {
    namespace = readFileSync(`${(opts.inClusterPathPrefix ?? '') + SERVICE_ACCOUNT_DIR}/namespace`, 'utf8').trim() || namespace;
  } catch {
    // no namespace file: $POD_NAMESPACE or default
  }
  return { client: kubeConfigClient(k8s, kc, userAgent), namespace };
}
