/**
 * --web.config.file as Prometheus 2.42 (exporter-toolkit v0.8.2) reads it: parsing and its error texts, TLS client
 * authentication with real certificates and real clients, basic auth, reloading.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest, createServer as createHttpsServer, type RequestOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import bcrypt from 'bcryptjs';
import {
  BasicAuthChecker,
  clientCertProblem,
  hasVerifiedClientCert,
  loadWebConfig,
  parseWebConfig,
  tlsServerOptions,
  WebConfigError,
  WebConfigSource,
  type ClientAuthType,
  type WebConfig,
} from '../../src/http/web-config.js';
import { tempDirSync } from '../helpers/tmp.js';

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found');
    dir = up;
  }
  return dir;
}
const FIXTURES = join(repoRoot(), 'test', 'http', 'web-config');
const fixture = (name: string): string => join(FIXTURES, name);

async function refusal(p: Promise<unknown> | (() => unknown)): Promise<WebConfigError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    assert.ok(e instanceof WebConfigError, `expected a WebConfigError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a refusal');
}

/* ---------------------------------------------------------------------------------------------------------- */
/* Parsing                                                                                                    */

test('parsing: defaults, empty file, plain HTTP without certificate', async () => {
  const empty = await loadWebConfig(fixture('empty.yml'));
  assert.deepEqual(empty, { basicAuthUsers: new Map(), headers: {}, http2: true });
  const users = await loadWebConfig(fixture('good-users-no-tls.yml'));
  assert.equal(users.tls, undefined);
  assert.equal(users.basicAuthUsers.get('alice'), '$2y$12$1DpfPeqF9HzHJt.EWswy1exHluGfbhnn3yXhR7Xes6m3WJqFg0Wby');
  // An explicit null http_server_config is Go's zero value: http2 off.
  assert.equal(parseWebConfig('http_server_config:\n', 'w.yml').http2, false);
});

test('parsing: every field, relative paths against the file folder', () => {
  const file = fixture('good-tls.yml');
  const c = parseWebConfig(readFileSync(file, 'utf8'), file);
  assert.deepEqual(c.tls, {
    certFile: join(FIXTURES, 'certs/server.crt'),
    keyFile: '/etc/kvass/server.key',
    clientAuthType: 'RequireAnyClientCert',
    clientCaFile: join(FIXTURES, 'certs/ca.crt'),
    minVersion: 'TLS12',
    maxVersion: 'TLS12',
    cipherSuites: ['TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384', 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'],
    curvePreferences: ['X25519', 'CurveP256'],
    preferServerCipherSuites: false,
  });
  assert.equal(c.http2, false);
  assert.deepEqual(c.headers, {
    'X-Frame-Options': 'deny',
    'Strict-Transport-Security': 'max-age=31536000; includeSubDomains',
    'X-Content-Type-Options': 'nosniff',
    'X-XSS-Protection': '1',
    'Content-Security-Policy': "default-src 'self'",
  });
  assert.equal(c.basicAuthUsers.size, 1);
  const minimal = parseWebConfig('tls_server_config: {cert_file: a.crt, key_file: a.key}\n', '/srv/conf/web.yml');
  assert.deepEqual(minimal.tls, {
    certFile: '/srv/conf/a.crt',
    keyFile: '/srv/conf/a.key',
    clientAuthType: 'NoClientCert',
    minVersion: 'TLS12',
    maxVersion: 'TLS13',
    cipherSuites: [],
    curvePreferences: [],
    preferServerCipherSuites: true,
  });
});

test('parsing: each refusal of v0.8.2 with its text, naming the file', async () => {
  const cases: Array<[string, string]> = [
    ['junk.yml', 'yaml: unmarshal errors:\n  line 1: cannot unmarshal !!str `hWkNKCp...` into web.Config'],
    [
      'unknown-field.yml',
      'yaml: unmarshal errors:\n  line 2: field cert_filse not found in type web.TLSConfig\n  line 4: field http3 not found in type web.HTTPConfig',
    ],
    ['missing-cert.yml', 'missing cert_file'],
    ['missing-key.yml', 'missing key_file'],
    ['bad-client-auth.yml', 'Invalid ClientAuth: RequireSomeClientCert'],
    ['ca-without-policy.yml', "Client CA's have been configured without a Client Auth Policy"],
    ['bad-tls-version.yml', 'unknown TLS version: TLS111'],
    // Go's insecure suites are not in tls.CipherSuites(): refused.
    ['bad-cipher.yml', 'unknown cipher: TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256'],
    ['bad-curve.yml', 'unknown curve: CurveP257'],
    [
      'no-http2-cipher.yml',
      'http2: TLSConfig.CipherSuites is missing an HTTP/2-required AES_128_GCM_SHA256 cipher (need at least one of TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 or TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)',
    ],
    ['bad-hash.yml', 'crypto/bcrypt: hashedSecret too short to be a bcrypted password'],
    ['bad-header.yml', 'HTTP header "Content-Type" can not be configured'],
    ['bad-header-value.yml', 'invalid value for X-Frame-Options. Expected one of: ["deny" "sameorigin"], but got: "DENY"'],
    ['missing-cert-file.yml', `failed to load X509KeyPair: open ${join(FIXTURES, 'no-such.crt')}: no such file or directory`],
    ['no-such-file.yml', `open ${fixture('no-such-file.yml')}: no such file or directory`],
  ];
  for (const [name, reason] of cases) {
    const e = await refusal(loadWebConfig(fixture(name)));
    assert.equal(e.reason, reason, name);
    assert.equal(e.file, fixture(name));
    assert.ok(e.message.includes(fixture(name)), e.message);
  }
});

test('parsing: more of yaml.v2 strictness and bcrypt.Cost', async () => {
  const reason = async (text: string): Promise<string> => (await refusal(() => parseWebConfig(text, 'w.yml'))).reason;
  assert.equal(await reason('http_server_config:\n  http2: maybe\n  http2: true\n'), 'yaml: unmarshal errors:\n  line 2: cannot unmarshal !!str `maybe` into bool\n  line 3: field http2 already set in type web.HTTPConfig');
  assert.equal(await reason('tls_server_config: [a]\nbasic_auth_users: x\n'), 'yaml: unmarshal errors:\n  line 1: cannot unmarshal !!seq into web.TLSConfig\n  line 2: cannot unmarshal !!str `x` into map[string]config.Secret');
  const h = '$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi';
  assert.equal(await reason(`basic_auth_users:\n  a: '${h}'\n  a: '${h}'\n`), 'yaml: unmarshal errors:\n  line 3: key "a" already set in map');
  assert.equal(await reason(`basic_auth_users:\n  a: 'x${h.slice(1)}'\n`), "crypto/bcrypt: bcrypt hashes must start with '$', but hashedSecret started with 'x'");
  assert.equal(await reason(`basic_auth_users:\n  a: '$3${h.slice(2)}'\n`), "crypto/bcrypt: bcrypt algorithm version '3' requested is newer than current version '2'");
  assert.equal(await reason(`basic_auth_users:\n  a: '${h.replace('$10$', '$32$')}'\n`), 'crypto/bcrypt: cost 32 is outside allowed range (4,31)');
  assert.equal(await reason(`basic_auth_users:\n  a: '${h.replace('$10$', '$ab$')}'\n`), 'strconv.Atoi: parsing "ab": invalid syntax');
  assert.match(await reason('a: [1\n'), /^yaml: line 2: /);
  // YAML 1.1 booleans as yaml.v2 reads them.
  assert.equal(parseWebConfig('http_server_config: {http2: off}\n', 'w.yml').http2, false);
});

/* ---------------------------------------------------------------------------------------------------------- */
/* Real TLS                                                                                                   */

interface Pki {
  dir: string;
  ca: string;
  client: { cert: string; key: string };
  self: { cert: string; key: string };
}

function makePki(): Pki {
  const dir = tempDirSync('kvass-web-config-');
  const ssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl('req', '-x509', ...ec, '-days', '2', '-subj', '/CN=kvass test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-keyout', 'ca.key', '-out', 'ca.crt');
  // An RSA server certificate, so that the ECDHE_RSA suites can be tested.
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr');
  ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'server.ext', '-out', 'server.crt');
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  ssl('req', ...ec, '-subj', '/CN=kvass client', '-keyout', 'client.key', '-out', 'client.csr');
  ssl('x509', '-req', '-in', 'client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'client.ext', '-out', 'client.crt');
  ssl('req', '-x509', ...ec, '-days', '2', '-subj', '/CN=rogue client', '-addext', 'extendedKeyUsage=clientAuth', '-keyout', 'self.key', '-out', 'self.crt');
  const read = (f: string): string => readFileSync(join(dir, f), 'utf8');
  return { dir, ca: read('ca.crt'), client: { cert: read('client.crt'), key: read('client.key') }, self: { cert: read('self.crt'), key: read('self.key') } };
}

interface Served {
  url: { host: string; port: number };
  handled: () => number;
  close: () => Promise<void>;
}

/** A real https server from a web config file, as kvass servers use these functions. */
async function serve(config: WebConfig): Promise<Served> {
  assert.ok(config.tls);
  const tls = config.tls;
  let handled = 0;
  const server = createHttpsServer(await tlsServerOptions(tls), (req, res) => {
    handled++;
    const socket = req.socket as TLSSocket;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ verified: hasVerifiedClientCert(req), cipher: socket.getCipher()?.standardName, version: socket.getProtocol() }));
  });
  // Prepended: it must run before the HTTP parser is attached to the socket (see clientCertProblem).
  server.prependListener('secureConnection', (socket: TLSSocket) => {
    if (clientCertProblem(socket, tls.clientAuthType)) socket.destroy();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: { host: '127.0.0.1', port },
    handled: () => handled,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

type Outcome = { ok: true; verified: boolean; cipher: string; version: string } | { ok: false; error: string };

function get(s: Served, opts: RequestOptions): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = httpsRequest({ ...s.url, path: '/', agent: false, ...opts }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ ok: true, ...(JSON.parse(body) as { verified: boolean; cipher: string; version: string }) }));
      res.on('error', (e) => resolve({ ok: false, error: e.message }));
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ ok: false, error: e.code ?? e.message }));
    req.end();
  });
}

test('TLS: every client auth type × {no certificate, CA-signed, self-signed}, as Go decides', async (t) => {
  const pki = makePki();
  t.after(() => rmSync(pki.dir, { recursive: true, force: true }));
  // Go's tls.ClientAuthType: accepted or refused, and whether the certificate is a verified one.
  const expected: Record<ClientAuthType, Record<'none' | 'signed' | 'self', 'refused' | 'plain' | 'verified'>> = {
    NoClientCert: { none: 'plain', signed: 'plain', self: 'plain' },
    RequestClientCert: { none: 'plain', signed: 'plain', self: 'plain' },
    RequireAnyClientCert: { none: 'refused', signed: 'plain', self: 'plain' },
    VerifyClientCertIfGiven: { none: 'plain', signed: 'verified', self: 'refused' },
    RequireAndVerifyClientCert: { none: 'refused', signed: 'verified', self: 'refused' },
  };
  for (const type of Object.keys(expected) as ClientAuthType[]) {
    const file = join(pki.dir, `web-${type}.yml`);
    const ca = type === 'NoClientCert' ? '' : 'client_ca_file: ca.crt';
    writeFileSync(file, `tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: ${type}\n  ${ca}\n`);
    const s = await serve(await loadWebConfig(file));
    try {
      for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
        for (const who of ['none', 'signed', 'self'] as const) {
          const creds = who === 'signed' ? pki.client : who === 'self' ? pki.self : {};
          const before = s.handled();
          const got = await get(s, { ca: pki.ca, maxVersion, ...creds });
          const want = expected[type][who];
          const what = `${type}, ${who}, ${maxVersion}: ${JSON.stringify(got)}`;
          if (want === 'refused') {
            assert.equal(got.ok, false, what);
            assert.equal(s.handled(), before, `a refused connection reached the handler: ${what}`);
          } else {
            assert.ok(got.ok, what);
            assert.equal(got.verified, want === 'verified', what);
            assert.equal(got.version, maxVersion, what);
          }
        }
      }
    } finally {
      await s.close();
    }
  }
});

test('TLS: versions and cipher suites as configured', async (t) => {
  const pki = makePki();
  t.after(() => rmSync(pki.dir, { recursive: true, force: true }));
  const config = (extra: string): Promise<WebConfig> => {
    const file = join(pki.dir, 'web.yml');
    writeFileSync(file, `tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n${extra}`);
    return loadWebConfig(file);
  };
  // Default: TLS 1.2 and 1.3; TLS 1.1 refused.
  let s = await serve(await config(''));
  try {
    assert.equal(((await get(s, { ca: pki.ca })) as { version: string }).version, 'TLSv1.3');
    assert.equal(((await get(s, { ca: pki.ca, maxVersion: 'TLSv1.2' })) as { version: string }).version, 'TLSv1.2');
    assert.equal((await get(s, { ca: pki.ca, maxVersion: 'TLSv1.1', minVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' })).ok, false);
  } finally {
    await s.close();
  }
  // Only the listed TLS 1.2 suites; the server's (Go's) order wins over the client's.
  s = await serve(await config('  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]\n  max_version: TLS12\n'));
  try {
    const both = await get(s, { ca: pki.ca, ciphers: 'ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256' });
    assert.deepEqual(both.ok && [both.cipher, both.version], ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'TLSv1.2']);
    assert.equal((await get(s, { ca: pki.ca, ciphers: 'ECDHE-RSA-AES256-SHA' })).ok, false);
  } finally {
    await s.close();
  }
  // min_version TLS13: a TLS 1.2 client is refused.
  s = await serve(await config('  min_version: TLS13\n'));
  try {
    assert.equal((await get(s, { ca: pki.ca, maxVersion: 'TLSv1.2' })).ok, false);
    assert.equal((await get(s, { ca: pki.ca })).ok, true);
  } finally {
    await s.close();
  }
  // A key that does not belong to the certificate is refused when loading.
  writeFileSync(join(pki.dir, 'web.yml'), 'tls_server_config:\n  cert_file: server.crt\n  key_file: client.key\n');
  assert.equal((await refusal(loadWebConfig(join(pki.dir, 'web.yml')))).reason, 'failed to load X509KeyPair: tls: private key does not match public key');
});

/* ---------------------------------------------------------------------------------------------------------- */
/* Basic auth                                                                                                 */

const basic = (user: string, password: string): string => 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');

test('basic auth: bcryptjs and htpasswd ($2y$) hashes, wrong and unknown users, malformed headers', async () => {
  const checker = new BasicAuthChecker(
    new Map([
      ['bob', bcrypt.hashSync('s3cret', 4)],
      // htpasswd -B's $2y$ (the toolkit's own test vector: alice / alice123)
      ['alice', '$2y$12$1DpfPeqF9HzHJt.EWswy1exHluGfbhnn3yXhR7Xes6m3WJqFg0Wby'],
    ]),
  );
  assert.equal(await checker.check(basic('bob', 's3cret')), true);
  assert.equal(await checker.check('basic ' + Buffer.from('bob:s3cret').toString('base64')), true);
  assert.equal(await checker.check(basic('bob', 's3cret!')), false);
  assert.equal(await checker.check(basic('alice', 'alice123')), true);
  assert.equal(await checker.check(basic('alice', 'alice1234')), false);
  assert.equal(await checker.check(basic('carol', 's3cret')), false);
  // The unknown-user hash is the fixed hash of "fakepassword": it lets no one in.
  assert.equal(await checker.check(basic('nobody', 'fakepassword')), false);
  for (const bad of [undefined, '', 'Bearer abc', 'Basic', 'Basic !!!!', 'Basic ' + Buffer.from('bobs3cret').toString('base64'), 'Basic ' + Buffer.from('bob:s3cret').toString('base64').replace(/=+$/, '') + 'x', 'Basic  ' + Buffer.from('bob:s3cret').toString('base64')]) {
    assert.equal(await checker.check(bad), false, String(bad));
  }
  // CVE-2022-46146: no cache key may be shared between a user and a crafted one.
  assert.equal(await checker.check(basic('alice$2y$12$1DpfPeqF9HzHJt.EWswy1exHluGfbhnn3yXhR7Xes6m3WJqFg0Wby', 'fakepassword')), false);
  assert.equal(await checker.check(basic('alice', '$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSifakepassword')), false);
  // No users: no basic auth at all.
  assert.equal(await new BasicAuthChecker(new Map()).check(undefined), true);
});

test('basic auth: cache makes a repeated check fast; concurrent checks leave the event loop free', async () => {
  const hash = await bcrypt.hash('pw', 10);
  const checker = new BasicAuthChecker(new Map([['u', hash]]));
  let t0 = performance.now();
  assert.equal(await checker.check(basic('u', 'pw')), true);
  const cold = performance.now() - t0;
  t0 = performance.now();
  assert.equal(await checker.check(basic('u', 'pw')), true);
  const warm = performance.now() - t0;
  assert.ok(warm * 5 < cold, `cold ${cold.toFixed(1)} ms, warm ${warm.toFixed(1)} ms`);

  // 12 uncached cost-10 comparisons (known and unknown users) while a 2 ms timer runs.
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
  }, 2);
  const results = await Promise.all(Array.from({ length: 12 }, (_, i) => checker.check(basic(i % 2 ? 'u' : `ghost${i}`, `wrong${i}`))));
  clearInterval(timer);
  assert.deepEqual(results, Array(12).fill(false));
  // Compared with one cost-10 comparison run on the event loop, in the same run (machines are noisy: a ratio).
  t0 = performance.now();
  bcrypt.compareSync('wrong', hash);
  const onLoop = performance.now() - t0;
  assert.ok(worst < onLoop / 2, `the event loop was blocked for ${worst.toFixed(1)} ms; one comparison on it takes ${onLoop.toFixed(1)} ms`);
});

/* ---------------------------------------------------------------------------------------------------------- */
/* Reloading                                                                                                  */

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('WebConfigSource: reload on change, a bad file keeps the last good one', async (t) => {
  const dir = tempDirSync('kvass-web-config-src-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'web.yml');
  writeFileSync(file, 'http_server_config:\n  headers:\n    X-Frame-Options: deny\n');
  assert.throws(() => new WebConfigSource(join(dir, 'absent.yml'), () => undefined), WebConfigError);
  const errors: Error[] = [];
  const src = await WebConfigSource.open(file, (e) => errors.push(e));
  const first = src.current();
  assert.deepEqual(first.headers, { 'X-Frame-Options': 'deny' });

  writeFileSync(file, 'http_server_config:\n  headers:\n    X-Frame-Options: sameorigin\n');
  assert.equal(src.current(), first, 'stat at most once a second');
  await sleep(1100);
  const second = src.current();
  assert.deepEqual(second.headers, { 'X-Frame-Options': 'sameorigin' });

  writeFileSync(file, 'http_server_config:\n  headerz: {}\n');
  await sleep(1100);
  assert.equal(src.current(), second);
  assert.equal(errors.length, 1);
  assert.ok(errors[0] instanceof WebConfigError);
  assert.match(errors[0].message, /field headerz not found in type web\.HTTPConfig/);
  await sleep(1100);
  assert.equal(src.current(), second);
  assert.equal(errors.length, 1, 'a bad file is reported once');

  writeFileSync(file, 'basic_auth_users:\n  bob: $2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi\n');
  await sleep(1100);
  const third = src.current();
  assert.equal(third.basicAuthUsers.size, 1);
  assert.deepEqual(third.headers, {});
});

test('WebConfigSource: a renewed certificate is a new config; a broken one keeps the last good', async (t) => {
  const pki = makePki();
  t.after(() => rmSync(pki.dir, { recursive: true, force: true }));
  const file = join(pki.dir, 'web.yml');
  writeFileSync(file, 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n');
  const errors: Error[] = [];
  const src = new WebConfigSource(file, (e) => errors.push(e));
  const first = src.current();
  writeFileSync(join(pki.dir, 'server.crt'), readFileSync(join(pki.dir, 'server.crt'), 'utf8') + '\n');
  await sleep(1100);
  const second = src.current();
  assert.notEqual(second, first);
  writeFileSync(join(pki.dir, 'server.crt'), pki.self.cert);
  await sleep(1100);
  assert.equal(src.current(), second);
  assert.equal(errors.length, 1);
  assert.match(errors[0]!.message, /failed to load X509KeyPair: tls: private key does not match public key/);
});
