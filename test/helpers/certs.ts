/**
 * A small PKI for TLS tests, made with `openssl`: a CA, a server certificate for 127.0.0.1/localhost signed by it,
 * a client certificate signed by it, and a self-signed ("rogue") client certificate the CA never signed.
 * Every value returned is a file path (PEM), so that servers and clients can be given them as flags or config.
 */
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDirSync } from './tmp.js';

export interface TestCerts {
  /** The folder holding every file below. */
  dir: string;
  caCert: string;
  caKey: string;
  /** Signed by the CA; subjectAltName IP:127.0.0.1, DNS:localhost; extendedKeyUsage serverAuth. */
  serverCert: string;
  serverKey: string;
  /** Signed by the CA; extendedKeyUsage clientAuth. */
  clientCert: string;
  clientKey: string;
  /** Self-signed, not by the CA; extendedKeyUsage clientAuth. */
  selfCert: string;
  selfKey: string;
  /** Removes the folder. */
  remove(): void;
}

/** Makes the CA and the certificates in a new temporary folder (or `dir`, which must exist). */
export function makeTestCerts(dir: string = tempDirSync('kvass-certs-')): TestCerts {
  const ssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl('req', '-x509', ...ec, '-days', '2', '-subj', '/CN=kvass test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-keyout', 'ca.key', '-out', 'ca.crt');
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n');
  ssl('req', ...ec, '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr');
  ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'server.ext', '-out', 'server.crt');
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n');
  ssl('req', ...ec, '-subj', '/CN=kvass client', '-keyout', 'client.key', '-out', 'client.csr');
  ssl('x509', '-req', '-in', 'client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'client.ext', '-out', 'client.crt');
  ssl('req', '-x509', ...ec, '-days', '2', '-subj', '/CN=rogue client', '-addext', 'extendedKeyUsage=clientAuth', '-keyout', 'self.key', '-out', 'self.crt');
  const p = (f: string): string => join(dir, f);
  return {
    dir,
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    serverCert: p('server.crt'),
    serverKey: p('server.key'),
    clientCert: p('client.crt'),
    clientKey: p('client.key'),
    selfCert: p('self.crt'),
    selfKey: p('self.key'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
