/**
 * Who may do what on a kvass server. Every route has an access level:
 * - `open`: anyone (health, readiness, /metrics: probes and scrapers carry no credentials);
 * - `read`: open, as Prometheus's read API is, unless the web config has `basic_auth_users` (then, as in
 *   Prometheus, a credential is needed);
 * - `control`: anything that changes state (assignments, config pushes, reloads) or that only kvass itself
 *   calls; it needs a credential whenever one is configured: the bearer token (--web.api-token-file), a
 *   basic_auth user of the web config, or a client certificate verified against the web config's client CA.
 *   With none configured, the server listens on loopback only (refuseUnauthenticatedListen), unless told
 *   --web.allow-unauthenticated.
 * The table of every endpoint is docs/security.md.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { BasicAuthChecker, hasVerifiedClientCert, type WebConfig, type WebConfigSource } from './web-config.js';

export type Access = 'open' | 'read' | 'control';

export interface AuthOptions {
  /** Bearer token accepted as a credential. */
  token?: string;
  /** The web config (basic_auth_users, TLS client certificates). */
  webConfig?: WebConfigSource;
}

/** Compares a presented bearer token with the expected one in constant time. */
export function bearerMatches(authorization: string | undefined, token: string): boolean {
  const given = /^Bearer (.+)$/i.exec(authorization ?? '')?.[1] ?? '';
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export class Authenticator {
  private checker?: { config: WebConfig; basic: BasicAuthChecker };

  constructor(private readonly opts: AuthOptions) {}

  private basic(): BasicAuthChecker | undefined {
    const cfg = this.opts.webConfig?.current();
    if (!cfg || cfg.basicAuthUsers.size === 0) return undefined;
    if (this.checker?.config !== cfg) this.checker = { config: cfg, basic: new BasicAuthChecker(cfg.basicAuthUsers) };
    return this.checker.basic;
  }

  /** Whether any credential is configured (token, users, or a client CA that verifies certificates). */
  credentialsConfigured(): boolean {
    const cfg = this.opts.webConfig?.current();
    const verifies = cfg?.tls?.clientCaFile !== undefined && cfg.tls.clientAuthType !== 'NoClientCert' && cfg.tls.clientAuthType !== 'RequestClientCert' && cfg.tls.clientAuthType !== 'RequireAnyClientCert';
    return this.opts.token !== undefined || (cfg?.basicAuthUsers.size ?? 0) > 0 || verifies;
  }

  /** undefined when the request may go on; else why not (answered 401). */
  async check(req: IncomingMessage, access: Access): Promise<string | undefined> {
    if (access === 'open') return undefined;
    const authorization = req.headers.authorization;
    if (this.opts.token !== undefined && bearerMatches(authorization, this.opts.token)) return undefined;
    const basic = this.basic();
    if (basic && /^Basic /i.test(authorization ?? '') && (await basic.check(authorization))) return undefined;
    if (hasVerifiedClientCert(req)) return undefined;
    if (access === 'read' && !basic) return undefined;
    if (access === 'control' && !this.credentialsConfigured()) return undefined;
    return authorization ? 'wrong credentials' : 'credentials required (a bearer token, basic auth or a client certificate)';
  }

  /** WWW-Authenticate for a 401, when basic auth users are configured. */
  challenge(): Record<string, string> {
    return this.basic() ? { 'www-authenticate': 'Basic' } : {};
  }
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost|\[::1\])$/i;

/** The listen host is loopback only (an empty host means every interface). */
export function isLoopback(host: string | undefined): boolean {
  return host !== undefined && LOOPBACK.test(host);
}

/**
 * Refuses (throws) to serve control endpoints beyond loopback with no credential configured, unless allowed
 * explicitly: the message names the flags that fix it.
 */
export function refuseUnauthenticatedListen(o: { flag: string; host: string | undefined; credentials: boolean; allowUnauthenticated: boolean }): void {
  if (o.credentials || o.allowUnauthenticated || isLoopback(o.host)) return;
  throw new Error(`--${o.flag} listens beyond loopback (${o.host ?? 'every interface'}) with no credential for its control endpoints: give --web.api-token-file or a --web.config.file with basic_auth_users or client certificates, or --web.allow-unauthenticated to run it open`);
}
