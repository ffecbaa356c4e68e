/**
 * TLS for kvass servers, as the web config's `tls_server_config` asks and as Go's crypto/tls (Go 1.19, which builds
 * Prometheus 2.42) would do it: cipher suites, curves and versions by Go's names, the key pair and client CA checked
 * as the toolkit checks them, Node server options that make Go's `tls.ClientAuthType` happen, and what a request's
 * client certificate proves.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import type { ServerOptions } from 'node:https';

import { TLSSocket } from 'node:tls';

import { Fatal, goFileError } from './go-yaml.js';
import type { ClientAuthType, TlsServerConfig, TlsVersionName } from './web-config.js';

/* ------------------------------------------------------------------------------------------------------------ */
/* Facts of Go (crypto/tls as of Go 1.19, which builds Prometheus 2.42) and of the toolkit.                      */

/** tls.CipherSuites() names → OpenSSL names (TLS 1.0–1.2 suites). */
export const TLS12_SUITES: Record<string, string> = {
  TLS_RSA_WITH_3DES_EDE_CBC_SHA: 'DES-CBC3-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA: 'ECDHE-RSA-DES-CBC3-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
};
/** TLS 1.3 suites: accepted names, always all enabled (Go does not let them be configured). */
export const TLS13_SUITES = ['TLS_AES_128_GCM_SHA256', 'TLS_CHACHA20_POLY1305_SHA256', 'TLS_AES_256_GCM_SHA384'];
/** Go's server preference order (it ignores the configured order since Go 1.17); also its default set. */
export const GO_SUITE_ORDER = [
  'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256',
  'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
  'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA',
  'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA',
  'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA',
  'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA',
  'TLS_RSA_WITH_AES_128_GCM_SHA256',
  'TLS_RSA_WITH_AES_256_GCM_SHA384',
  'TLS_RSA_WITH_AES_128_CBC_SHA',
  'TLS_RSA_WITH_AES_256_CBC_SHA',
  'TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA',
  'TLS_RSA_WITH_3DES_EDE_CBC_SHA',
];
export const CURVES: Record<string, string> = { CurveP256: 'P-256', CurveP384: 'P-384', CurveP521: 'P-521', X25519: 'X25519' };
export const TLS_VERSIONS: Record<TlsVersionName, 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3'> = {
  TLS10: 'TLSv1',
  TLS11: 'TLSv1.1',
  TLS12: 'TLSv1.2',
  TLS13: 'TLSv1.3',
};
export const TLS_VERSION_RANK: Record<TlsVersionName, number> = { TLS10: 0, TLS11: 1, TLS12: 2, TLS13: 3 };
/* ------------------------------------------------------------------------------------------------------------ */
/* TLS material.                                                                                                */

interface PemBlock {
  type: string;
  text: string;
}

function pemBlocks(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  for (const m of text.matchAll(/-----BEGIN ([^-\r\n]*)-----[\s\S]*?-----END \1-----/g)) out.push({ type: m[1]!, text: m[0] });
  return out;
}

/** The parseable certificates of a PEM file (x509.CertPool.AppendCertsFromPEM skips the rest). */
export function pemCertificates(text: string): X509Certificate[] {
  const out: X509Certificate[] = [];
  for (const b of pemBlocks(text)) {
    if (b.type !== 'CERTIFICATE') continue;
    try {
      out.push(new X509Certificate(b.text));
    } catch {
      // skipped, as Go does
    }
  }
  return out;
}

/** tls.X509KeyPair's checks; the reason it refuses, or undefined. */
function keyPairProblem(certPem: string, keyPem: string): string | undefined {
  const certBlocks = pemBlocks(certPem);
  if (certBlocks.length === 0) return 'tls: failed to find any PEM data in certificate input';
  const certs = certBlocks.filter((b) => b.type === 'CERTIFICATE');
  if (certs.length === 0) {
    return `tls: failed to find "CERTIFICATE" PEM block in certificate input after skipping PEM blocks of the following types: [${certBlocks.map((b) => b.type).join(' ')}]`;
  }
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certs[0]!.text);
  } catch {
    return 'x509: malformed certificate';
  }
  const keyBlocks = pemBlocks(keyPem);
  if (keyBlocks.length === 0) return 'tls: failed to find any PEM data in key input';
  const keyBlock = keyBlocks.find((b) => b.type === 'PRIVATE KEY' || b.type.endsWith(' PRIVATE KEY'));
  if (!keyBlock) {
    return `tls: failed to find PEM block with type ending in "PRIVATE KEY" in key input after skipping PEM blocks of the following types: [${keyBlocks.map((b) => b.type).join(' ')}]`;
  }
  try {
    if (!leaf.checkPrivateKey(createPrivateKey(keyBlock.text))) return 'tls: private key does not match public key';
  } catch {
    return 'tls: failed to parse private key';
  }
  return undefined;
}

export interface TlsMaterial {
  cert: string;
  key: string;
  ca?: X509Certificate[];
}

export type Read = { text: string } | { error: unknown };

/** Checks the files of a TLS config as ConfigToTLSConfig does, given their contents (or read errors). */
export function tlsMaterial(tls: TlsServerConfig, read: (path: string) => Read): TlsMaterial {
  const cert = read(tls.certFile);
  if ('error' in cert) throw new Fatal('failed to load X509KeyPair: ' + goFileError(cert.error, tls.certFile));
  const key = read(tls.keyFile);
  if ('error' in key) throw new Fatal('failed to load X509KeyPair: ' + goFileError(key.error, tls.keyFile));
  const problem = keyPairProblem(cert.text, key.text);
  if (problem) throw new Fatal('failed to load X509KeyPair: ' + problem);
  const out: TlsMaterial = { cert: cert.text, key: key.text };
  if (tls.clientCaFile) {
    const ca = read(tls.clientCaFile);
    if ('error' in ca) throw new Fatal(goFileError(ca.error, tls.clientCaFile));
    out.ca = pemCertificates(ca.text);
  }
  return out;
}

export function tlsFiles(tls: TlsServerConfig | undefined): string[] {
  return tls ? [tls.certFile, tls.keyFile, ...(tls.clientCaFile ? [tls.clientCaFile] : [])] : [];
}

export async function readAll(paths: string[]): Promise<Map<string, Read>> {
  const out = new Map<string, Read>();
  await Promise.all(
    paths.map(async (p) => {
      try {
        out.set(p, { text: await readFile(p, 'utf8') });
      } catch (error) {
        out.set(p, { error });
      }
    }),
  );
  return out;
}

export function readSync(path: string): Read {
  try {
    return { text: readFileSync(path, 'utf8') };
  } catch (error) {
    return { error };
  }
}

/** Fingerprints of every certificate read from a client_ca_file: the anchors hasVerifiedClientCert accepts. */
const clientCaFingerprints = new Set<string>();

/**
 * Node https server options for the TLS config (files read now); client auth mapped so that what Go's
 * tls.ClientAuthType does is what happens (with `clientCertProblem` on 'secureConnection' for
 * RequireAnyClientCert and VerifyClientCertIfGiven). Throws with the toolkit's texts when a file is bad.
 */
export async function tlsServerOptions(tls: TlsServerConfig): Promise<ServerOptions> {
  const files = await readAll(tlsFiles(tls));
  let m: TlsMaterial;
  try {
    m = tlsMaterial(tls, (p) => files.get(p)!);
  } catch (e) {
    if (e instanceof Fatal) throw new Error(e.message);
    throw e;
  }
  const configured = tls.cipherSuites.filter((c) => !TLS13_SUITES.includes(c));
  const tls12 = (tls.cipherSuites.length > 0 ? GO_SUITE_ORDER.filter((c) => configured.includes(c)) : GO_SUITE_ORDER).map((c) => TLS12_SUITES[c]!);
  // TLS 1.0/1.1 are refused by OpenSSL 3's default security level; Go serves them when configured.
  const legacy = TLS_VERSION_RANK[tls.minVersion] < TLS_VERSION_RANK.TLS12 ? ['@SECLEVEL=0'] : [];
  const opts: ServerOptions = {
    cert: m.cert,
    key: m.key,
    minVersion: TLS_VERSIONS[tls.minVersion],
    maxVersion: TLS_VERSIONS[tls.maxVersion],
    ciphers: [...TLS13_SUITES, ...tls12, ...legacy].join(':'),
    honorCipherOrder: true,
    requestCert: tls.clientAuthType !== 'NoClientCert',
    rejectUnauthorized: tls.clientAuthType === 'RequireAndVerifyClientCert',
  };
  if (tls.curvePreferences.length > 0) opts.ecdhCurve = tls.curvePreferences.map((c) => CURVES[c]!).join(':');
  if (m.ca) {
    // An empty list trusts nothing, as Go's empty pool does (no fallback to the default roots).
    opts.ca = m.ca.map((c) => c.toString());
    for (const c of m.ca) clientCaFingerprints.add(c.fingerprint256);
  }
  return opts;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Client certificates.                                                                                         */

const socketAuthTypes = new WeakMap<TLSSocket, ClientAuthType>();

/**
 * Per TLS socket check for the client auth types Node cannot express in options alone (RequireAnyClientCert: some
 * certificate required; VerifyClientCertIfGiven: a given one must verify). Returns a reason to refuse (then destroy
 * the socket), or undefined. Call it for every connection, from a listener *prepended* to 'secureConnection'
 * (`server.prependListener`): a listener added after the https server's own one runs once the HTTP parser consumes
 * the socket, and a TLS 1.3 client's first request, sent along with its certificate, then reaches the request
 * listener although the socket is destroyed. It also records the type for hasVerifiedClientCert.
 */
export function clientCertProblem(socket: TLSSocket, type: ClientAuthType): string | undefined {
  socketAuthTypes.set(socket, type);
  const given = socket.getPeerX509Certificate() !== undefined;
  const unverified = `tls: failed to verify client certificate: ${socket.authorizationError ?? 'not verified'}`;
  switch (type) {
    case 'NoClientCert':
    case 'RequestClientCert':
      return undefined;
    case 'RequireAnyClientCert':
      return given ? undefined : "tls: client didn't provide a certificate";
    case 'VerifyClientCertIfGiven':
      return given && !socket.authorized ? unverified : undefined;
    case 'RequireAndVerifyClientCert':
      if (!given) return "tls: client didn't provide a certificate";
      return socket.authorized ? undefined : unverified;
  }
}

/**
 * The request came with a client certificate verified against client_ca_file: the connection verified it and its
 * chain ends in a certificate of a client CA file. False under the auth types with which Go verifies nothing
 * (NoClientCert, RequestClientCert, RequireAnyClientCert), when clientCertProblem recorded the type.
 */
export function hasVerifiedClientCert(req: IncomingMessage): boolean {
  const socket = req.socket;
  if (!(socket instanceof TLSSocket) || !socket.authorized) return false;
  const type = socketAuthTypes.get(socket);
  if (type !== undefined && type !== 'VerifyClientCertIfGiven' && type !== 'RequireAndVerifyClientCert') return false;
  const seen = new Set<object>();
  let cert = socket.getPeerCertificate(true) as (ReturnType<TLSSocket['getPeerCertificate']> & { issuerCertificate?: unknown }) | undefined;
  while (cert && cert.raw && !seen.has(cert)) {
    if (clientCaFingerprints.has(cert.fingerprint256)) return true;
    seen.add(cert);
    cert = cert.issuerCertificate as typeof cert;
  }
  return false;
}

