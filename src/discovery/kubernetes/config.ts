/** `kubernetes_sd_configs` entries: reading and validation with Prometheus 2.42's rules and messages. */
import { resolve } from 'node:path';
import { ConfigError, type YamlPath } from '../../prom/errors.js';
import { readBool, readList, readMap, readString, readStringList } from '../../prom/decode.js';
import { HTTP_CLIENT_FIELDS, readHttpClientConfig, type HttpClientConfig } from '../../config/http-client.js';
import { fieldSelectorError, labelSelectorError } from './selectors.js';

export const ROLES = ['node', 'pod', 'service', 'endpoints', 'endpointslice', 'ingress'] as const;
export type Role = (typeof ROLES)[number];

export interface SelectorConfig {
  /** '' when the entry gives no role (Prometheus then rejects it as not allowed for the discovery role). */
  role: Role | '';
  label: string;
  field: string;
}

export interface KubernetesSdConfig {
  role: Role;
  /** Explicit API server URL (absent: kubeconfig file or in-cluster configuration). */
  apiServer?: string;
  /** Absolute path of the kubeconfig file. */
  kubeconfigFile?: string;
  http: HttpClientConfig;
  namespaces: { ownNamespace: boolean; names: string[] };
  selectors: SelectorConfig[];
  attachMetadata: { node: boolean };
}

const FIELDS = ['api_server', 'role', 'kubeconfig_file', 'namespaces', 'selectors', 'attach_metadata', ...HTTP_CLIENT_FIELDS];

/** Which selector roles each discovery role accepts (Prometheus's allowedSelectors). */
export const ALLOWED_SELECTORS: Record<Role, Role[]> = {
  pod: ['pod'],
  service: ['service'],
  endpointslice: ['pod', 'service', 'endpointslice'],
  endpoints: ['pod', 'service', 'endpoints'],
  node: ['node'],
  ingress: ['ingress'],
};

function readRole(v: unknown, path: YamlPath): Role {
  const s = readString(v, path, 'role');
  if (!(ROLES as readonly string[]).includes(s)) throw new ConfigError(`unknown Kubernetes SD role ${JSON.stringify(s)}`, path);
  return s as Role;
}

function readApiServer(v: unknown, path: YamlPath): string | undefined {
  if (v === undefined || v === null) return undefined;
  const s = readString(v, path, 'api_server');
  const hasScheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(s);
  if (!hasScheme && (s.split('/')[0] ?? '').includes(':')) {
    throw new ConfigError(`parse ${JSON.stringify(s)}: first path segment in URL cannot contain colon`, path);
  }
  try {
    new URL(hasScheme ? s : `http://${s}`);
    return s;
  } catch {
    throw new ConfigError(`parse ${JSON.stringify(s)}: invalid URL`, path);
  }
}

/** True when the HTTP client config differs from common/config.DefaultHTTPClientConfig. */
export function isCustomHttpConfig(c: HttpClientConfig): boolean {
  const t = c.tls;
  const tlsSet = !!(t.caFile || t.ca || t.certFile || t.cert || t.keyFile || t.key || t.serverName || t.insecureSkipVerify || t.minVersion || t.maxVersion);
  return !!(c.basicAuth || c.authorization || c.oauth2 || c.proxyUrl || tlsSet || !c.followRedirects || !c.enableHttp2);
}

export function readKubernetesSdConfig(raw: unknown, path: YamlPath, configDir: string): KubernetesSdConfig {
  const m = readMap(raw, path, 'kubernetes_sd_config', FIELDS);
  const at = (k: string): YamlPath => [...path, k];

  const roleRaw = m.role === undefined || m.role === null ? undefined : readRole(m.role, at('role'));
  const apiServer = readApiServer(m.api_server, at('api_server'));
  const kcRaw = m.kubeconfig_file === undefined || m.kubeconfig_file === null ? '' : readString(m.kubeconfig_file, at('kubeconfig_file'), 'kubeconfig_file');
  const kubeconfigFile = kcRaw === '' ? undefined : resolve(configDir, kcRaw);

  const nsMap = readMap(m.namespaces, at('namespaces'), 'namespaces', ['own_namespace', 'names']);
  const namespaces = {
    ownNamespace: readBool(nsMap.own_namespace, [...at('namespaces'), 'own_namespace'], 'own_namespace', false),
    names: readStringList(nsMap.names, [...at('namespaces'), 'names'], 'names'),
  };

  const selectors: SelectorConfig[] = readList(m.selectors, at('selectors'), 'selectors').map((s, i) => {
    const p: YamlPath = [...at('selectors'), i];
    const sm = readMap(s, p, 'selector', ['role', 'label', 'field']);
    return {
      role: sm.role === undefined || sm.role === null ? '' : readRole(sm.role, [...p, 'role']),
      label: sm.label === undefined || sm.label === null ? '' : readString(sm.label, [...p, 'label'], 'label'),
      field: sm.field === undefined || sm.field === null ? '' : readString(sm.field, [...p, 'field'], 'field'),
    };
  });

  const amMap = readMap(m.attach_metadata, at('attach_metadata'), 'attach_metadata', ['node']);
  const attachMetadata = { node: readBool(amMap.node, [...at('attach_metadata'), 'node'], 'node', false) };

  if (roleRaw === undefined) throw new ConfigError('role missing (one of: pod, service, endpoints, endpointslice, node, ingress)', path);
  const role = roleRaw;
  const http = readHttpClientConfig(m, path, configDir);

  if (apiServer !== undefined && kubeconfigFile !== undefined) {
    throw new ConfigError("cannot use 'kubeconfig_file' and 'api_server' simultaneously", at('kubeconfig_file'));
  }
  const custom = isCustomHttpConfig(http);
  if (kubeconfigFile !== undefined && custom) {
    throw new ConfigError("cannot use a custom HTTP client configuration together with 'kubeconfig_file'", at('kubeconfig_file'));
  }
  if (apiServer === undefined && custom) {
    throw new ConfigError("to use custom HTTP client configuration please provide the 'api_server' URL explicitly", path);
  }
  if (apiServer !== undefined && namespaces.ownNamespace) {
    throw new ConfigError("cannot use 'api_server' and 'namespaces.own_namespace' simultaneously", [...at('namespaces'), 'own_namespace']);
  }
  if (kubeconfigFile !== undefined && namespaces.ownNamespace) {
    throw new ConfigError("cannot use 'kubeconfig_file' and 'namespaces.own_namespace' simultaneously", [...at('namespaces'), 'own_namespace']);
  }

  const seen = new Set<string>();
  selectors.forEach((s, i) => {
    const p: YamlPath = [...at('selectors'), i];
    if (seen.has(s.role)) throw new ConfigError(`duplicated selector role: ${s.role}`, p);
    seen.add(s.role);
    const allowed = ALLOWED_SELECTORS[role];
    if (s.role === '' || !allowed.includes(s.role)) throw new ConfigError(`${role} role supports only ${allowed.join(', ')} selectors`, p);
    const fe = fieldSelectorError(s.field);
    if (fe) throw new ConfigError(fe, [...p, 'field']);
    const le = labelSelectorError(s.label);
    if (le) throw new ConfigError(le, [...p, 'label']);
  });

  return { role, apiServer, kubeconfigFile, http, namespaces, selectors, attachMetadata };
}
