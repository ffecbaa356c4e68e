/**
 * What every kvass command that serves HTTP shares: the security flags of a server
 * (--web.config.file, --web.api-token-file, --web.allow-unauthenticated) and of kvass as a client
 * (--shard.api-token-file, --shard.client-config-file), read once, with clear errors.
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from '../logger.js';
import { Authenticator, refuseUnauthenticatedListen } from '../http/auth.js';
import { ApiClient, loadClientConfig } from '../http/client.js';
import { WebConfigSource } from '../http/web-config.js';
import { UsageError, type FlagSpec, type FlagValues } from './flags.js';

export const WEB_SECURITY_FLAGS: readonly FlagSpec[] = [
  { name: 'web.config.file', help: 'Prometheus web configuration file: TLS (mTLS with client_auth_type and client_ca_file), basic_auth_users (bcrypt), http_server_config.headers.' },
  { name: 'web.api-token-file', help: 'File holding a bearer token that authenticates control requests (assignments, config pushes, reloads).' },
  { name: 'web.allow-unauthenticated', help: 'Serve control endpoints beyond loopback with no credential configured (refused otherwise).', default: 'false', kind: 'bool' },
];

export const CLIENT_FLAGS: readonly FlagSpec[] = [
  { name: 'shard.api-token-file', help: 'Bearer token kvass sends to the sidecars (and to a coordinator).' },
  { name: 'shard.client-config-file', help: 'Client config for calls to the sidecars (and to a coordinator), in the shape of Prometheus\'s http_config: tls_config, authorization, basic_auth, proxy_url.' },
];

/** A token file's content, trimmed; refused when empty or unreadable. */
export async function readTokenFile(file: string, flag: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new UsageError(`--${flag} ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  const token = text.trim();
  if (token === '') throw new UsageError(`--${flag} ${file} is empty`);
  if (/\s/.test(token)) throw new UsageError(`--${flag} ${file}: a token is one word (no spaces or line breaks)`);
  return token;
}

export interface ServerSecurity {
  token?: string;
  webConfig?: WebConfigSource;
}

/**
 * The server side: token and web config. `listen` is checked: beyond loopback with no credential the command
 * refuses to start unless --web.allow-unauthenticated. `defaultToken` is used when no token file is given.
 */
export async function serverSecurity(f: FlagValues, log: Logger, listens: ReadonlyArray<{ flag: string; host: string | undefined }>, defaultToken?: string): Promise<ServerSecurity> {
  const tokenFile = f.get('web.api-token-file');
  const token = tokenFile ? await readTokenFile(tokenFile, 'web.api-token-file') : defaultToken;
  const webFile = f.get('web.config.file');
  let webConfig: WebConfigSource | undefined;
  if (webFile) {
    try {
      webConfig = await WebConfigSource.open(webFile, (e) => log.error({ file: webFile, err: e.message }, 'web config refused; the last good one stays'));
    } catch (e) {
      throw new UsageError(`--web.config.file: ${(e as Error).message}`);
    }
  }
  const credentials = new Authenticator({ token, webConfig }).credentialsConfigured();
  for (const l of listens) {
    try {
      refuseUnauthenticatedListen({ flag: l.flag, host: l.host, credentials, allowUnauthenticated: f.get('web.allow-unauthenticated') === 'true' });
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  return { token, webConfig };
}

/** kvass as a client of sidecars and coordinators. `defaultToken` stands in when no token file is given. */
export async function clientFromFlags(f: FlagValues, defaultToken?: string, userAgent?: string): Promise<ApiClient> {
  const tokenFile = f.get('shard.api-token-file');
  const token = tokenFile ? await readTokenFile(tokenFile, 'shard.api-token-file') : defaultToken;
  const cfgFile = f.get('shard.client-config-file');
  let http;
  if (cfgFile) {
    try {
      http = await loadClientConfig(cfgFile);
    } catch (e) {
      throw new UsageError(`--shard.client-config-file: ${(e as Error).message}`);
    }
  }
  return new ApiClient({ token, http, timeoutMs: 10_000, maxResponseBytes: 256 << 20, userAgent });
}
