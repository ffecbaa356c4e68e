import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeApiServer } from '../../helpers/fake-apiserver.js';
import { FAST, readCfg, run } from './helpers.js';
import { tempDirSync } from '../../helpers/tmp.js';

const POD = {
  metadata: { name: 'p', namespace: 'monitoring', uid: 'u' },
  spec: { containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 9090, protocol: 'TCP' }] }] },
  status: { phase: 'Running', podIP: '10.0.0.9' },
};

function kubeconfig(server: string, user: Record<string, string>, cluster: Record<string, string> = {}): string {
  const u = Object.entries(user).map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`).join('\n');
  const c = Object.entries(cluster).map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`).join('\n');
  return `apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: ${server}
${c}
contexts:
- name: ctx
  context:
    cluster: fake
    user: u
current-context: ctx
users:
- name: u
  user:
${u}
`;
}

function selfSignedCert(dir: string): { key: string; cert: string } | undefined {
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    ], { stdio: 'ignore' });
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } catch {
    return undefined;
  }
}

describe('kubernetes_sd connection settings', () => {
  let dir: string;
  before(() => {
    dir = tempDirSync('kvass-k8s-');
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('connects through a kubeconfig file (relative to the config dir) with a bearer token', async () => {
    const api = await FakeApiServer.start({ token: 's3cret' });
    api.upsert('pods', POD);
    writeFileSync(join(dir, 'kubeconfig.yaml'), kubeconfig(api.url, { token: 's3cret' }));
    const r = run(readCfg({ role: 'pod', kubeconfig_file: 'kubeconfig.yaml' }, dir));
    try {
      await r.waitGroup('pod/monitoring/p');
      await r.waitFor(() => api.watchCount('pods') === 1, 'watch');
      assert.ok(api.requests.every((q) => q.headers.authorization === 'Bearer s3cret'));
    } finally {
      await r.stop();
      await api.stop();
    }
  });

  it('uses kubeconfig basic auth', async () => {
    const api = await FakeApiServer.start({ basic: { user: 'admin', pass: 'pw' } });
    api.upsert('pods', POD);
    writeFileSync(join(dir, 'basic.yaml'), kubeconfig(api.url, { username: 'admin', password: 'pw' }));
    const r = run(readCfg({ role: 'pod', kubeconfig_file: join(dir, 'basic.yaml') }));
    try {
      await r.waitGroup('pod/monitoring/p');
    } finally {
      await r.stop();
      await api.stop();
    }
  });

  it('applies the HTTP client config with api_server: basic auth, bearer token file', async () => {
    const basic = await FakeApiServer.start({ basic: { user: 'prom', pass: 'pw' } });
    const bearer = await FakeApiServer.start({ token: 'from-file' });
    basic.upsert('pods', POD);
    bearer.upsert('pods', POD);
    writeFileSync(join(dir, 'token'), 'from-file\n');
    const r1 = run(readCfg({ role: 'pod', api_server: basic.url, basic_auth: { username: 'prom', password: 'pw' } }, dir));
    const r2 = run(readCfg({ role: 'pod', api_server: bearer.url, bearer_token_file: 'token' }, dir));
    try {
      await r1.waitGroup('pod/monitoring/p');
      await r2.waitGroup('pod/monitoring/p');
    } finally {
      await r1.stop();
      await r2.stop();
      await basic.stop();
      await bearer.stop();
    }
  });

  it('reports authentication failures and emits nothing', async () => {
    const api = await FakeApiServer.start({ token: 'right' });
    const r = run(readCfg({ role: 'service', api_server: api.url, authorization: { credentials: 'wrong' } }));
    try {
      await r.waitFor(() => r.fails.length > 0, 'failure');
      assert.match(r.fails[0]!.message, /401/);
      assert.equal(r.emits.length, 0);
    } finally {
      await r.stop();
      await api.stop();
    }
  });

  it('reports a missing kubeconfig file and an unusable in-cluster environment', async () => {
    const r1 = run(readCfg({ role: 'pod', kubeconfig_file: join(dir, 'missing.yaml') }));
    const r2 = run(readCfg({ role: 'pod' }), { ...FAST, client: { env: {}, inClusterPathPrefix: dir } });
    try {
      await r1.waitFor(() => r1.fails.length > 0, 'kubeconfig failure');
      assert.match(r1.fails[0]!.message, /missing\.yaml/);
      await r2.waitFor(() => r2.fails.length > 0, 'in-cluster failure');
      assert.match(r2.fails[0]!.message, /KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined/);
    } finally {
      await r1.stop();
      await r2.stop();
    }
  });

  it('verifies TLS with tls_config.ca_file, and runs in-cluster with the service account token, CA and own namespace', async (t) => {
    const tls = selfSignedCert(dir);
    if (!tls) return t.skip('openssl is not available');
    const api = await FakeApiServer.start({ tls, token: 'sa-token' });
    api.upsert('pods', POD);
    api.upsert('pods', { ...POD, metadata: { ...POD.metadata, namespace: 'other' } });
    const sa = join(dir, 'var/run/secrets/kubernetes.io/serviceaccount');
    mkdirSync(sa, { recursive: true });
    writeFileSync(join(sa, 'token'), 'sa-token');
    writeFileSync(join(sa, 'ca.crt'), tls.cert);
    writeFileSync(join(sa, 'namespace'), 'monitoring');

    const r1 = run(readCfg({ role: 'pod', api_server: api.url, bearer_token: 'sa-token', tls_config: { ca_file: 'cert.pem' } }, dir));
    const r2 = run(readCfg({ role: 'pod', namespaces: { own_namespace: true } }), {
      ...FAST, client: { inClusterPathPrefix: dir, env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(api.port) } },
    });
    const r3 = run(readCfg({ role: 'pod', api_server: api.url, bearer_token: 'sa-token' }));
    try {
      await r1.waitGroup('pod/other/p');
      await r2.waitGroup('pod/monitoring/p');
      assert.equal(r2.groups.has('pod/other/p'), false);
      assert.ok(api.listRequests('/namespaces/monitoring/pods').length >= 1, 'own namespace only');
      await r3.waitFor(() => r3.fails.length > 0, 'untrusted certificate');
      assert.equal(r3.emits.length, 0);
    } finally {
      await r1.stop();
      await r2.stop();
      await r3.stop();
      await api.stop();
    }
  });
});
