import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../../src/prom/errors.js';
import { kubernetesSd } from '../../../src/discovery/kubernetes/index.js';
import { fieldSelectorError, labelSelectorError } from '../../../src/discovery/kubernetes/selectors.js';
import { SD_PATH, readCfg } from './helpers.js';

function fails(raw: unknown, message: string | RegExp, path?: Array<string | number>) {
  assert.throws(() => readCfg(raw), (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    if (path) assert.deepEqual(e.path, [...SD_PATH, ...path]);
    return true;
  });
}

describe('kubernetes_sd_configs reading', () => {
  it('reads a full entry with defaults and paths relative to the config dir', () => {
    assert.equal(kubernetesSd.key, 'kubernetes_sd_configs');
    const c = kubernetesSd.read({
      role: 'endpoints',
      kubeconfig_file: 'kube/config',
      namespaces: { names: ['a', 'b'] },
      selectors: [{ role: 'pod', label: 'app in (web, api),tier!=db', field: 'spec.nodeName=n1' }, { role: 'endpoints', label: '!canary' }],
      attach_metadata: { node: true },
      follow_redirects: true,
      tls_config: {},
    }, SD_PATH, { configDir: '/etc/prometheus', jobName: 'job' });
    assert.equal(c.role, 'endpoints');
    assert.equal(c.kubeconfigFile, '/etc/prometheus/kube/config');
    assert.equal(c.apiServer, undefined);
    assert.deepEqual(c.namespaces, { ownNamespace: false, names: ['a', 'b'] });
    assert.deepEqual(c.selectors, [
      { role: 'pod', label: 'app in (web, api),tier!=db', field: 'spec.nodeName=n1' },
      { role: 'endpoints', label: '!canary', field: '' },
    ]);
    assert.deepEqual(c.attachMetadata, { node: true });
    assert.ok(kubernetesSd.create(c, { configDir: '/etc/prometheus', jobName: 'job' }));

    const d = readCfg({ role: 'pod', api_server: 'https://k8s.example.com:6443', bearer_token: 't', tls_config: { insecure_skip_verify: true } });
    assert.equal(d.apiServer, 'https://k8s.example.com:6443');
    assert.deepEqual(d.http.authorization, { type: 'Bearer', credentials: 't', credentialsFile: undefined });
    assert.deepEqual(readCfg({ role: 'node' }).namespaces, { ownNamespace: false, names: [] });
  });

  it('rejects missing, unknown and mistyped settings', () => {
    fails({}, 'role missing (one of: pod, service, endpoints, endpointslice, node, ingress)', []);
    fails({ role: 'deployment' }, 'unknown Kubernetes SD role "deployment"', ['role']);
    fails({ role: 'pod', namespace: ['x'] }, 'field namespace not found in kubernetes_sd_config', ['namespace']);
    fails({ role: 'pod', namespaces: { names: 'x' } }, /names: expected a list/);
    fails({ role: 'pod', attach_metadata: { pods: true } }, 'field pods not found in attach_metadata');
    fails({ role: 'pod', selectors: [{ role: 'pod', labels: 'a=b' }] }, 'field labels not found in selector', ['selectors', 0, 'labels']);
    fails({ role: 'pod', selectors: [{ role: 'deployment' }] }, 'unknown Kubernetes SD role "deployment"', ['selectors', 0, 'role']);
    fails({ role: 'pod', api_server: 'http://[::1' }, /invalid URL/, ['api_server']);
    fails({ role: 'pod', api_server: '10.0.0.1:6443' }, 'parse "10.0.0.1:6443": first path segment in URL cannot contain colon', ['api_server']);
    fails({ role: 'pod', api_server: 'http://x', bearer_token: 'a', bearer_token_file: 'b' }, /at most one of bearer_token & bearer_token_file/);
  });

  it('applies the mutual exclusions of api_server, kubeconfig_file, HTTP client settings and own_namespace', () => {
    fails({ role: 'pod', api_server: 'http://x', kubeconfig_file: 'k' }, "cannot use 'kubeconfig_file' and 'api_server' simultaneously");
    fails({ role: 'pod', kubeconfig_file: 'k', basic_auth: { username: 'u' } }, "cannot use a custom HTTP client configuration together with 'kubeconfig_file'");
    fails({ role: 'pod', kubeconfig_file: 'k', follow_redirects: false }, "cannot use a custom HTTP client configuration together with 'kubeconfig_file'");
    fails({ role: 'pod', bearer_token: 'x' }, "to use custom HTTP client configuration please provide the 'api_server' URL explicitly");
    fails({ role: 'pod', tls_config: { ca_file: 'ca.pem' } }, "to use custom HTTP client configuration please provide the 'api_server' URL explicitly");
    fails({ role: 'pod', api_server: 'http://x', namespaces: { own_namespace: true } }, "cannot use 'api_server' and 'namespaces.own_namespace' simultaneously");
    fails({ role: 'pod', kubeconfig_file: 'k', namespaces: { own_namespace: true } }, "cannot use 'kubeconfig_file' and 'namespaces.own_namespace' simultaneously");
    assert.equal(readCfg({ role: 'pod', namespaces: { own_namespace: true } }).namespaces.ownNamespace, true);
    assert.equal(readCfg({ role: 'pod', kubeconfig_file: 'k', enable_http2: true, bearer_token: '' }).kubeconfigFile, '/etc/prometheus/k');
  });

  it('checks selector roles against the discovery role', () => {
    for (const role of ['pod', 'service', 'endpoints']) readCfg({ role: 'endpoints', selectors: [{ role }] });
    for (const role of ['pod', 'service', 'endpointslice']) readCfg({ role: 'endpointslice', selectors: [{ role }] });
    fails({ role: 'pod', selectors: [{ role: 'service' }] }, 'pod role supports only pod selectors', ['selectors', 0]);
    fails({ role: 'endpointslice', selectors: [{ role: 'node' }] }, 'endpointslice role supports only pod, service, endpointslice selectors');
    fails({ role: 'endpoints', selectors: [{ role: 'endpointslice' }] }, 'endpoints role supports only pod, service, endpoints selectors');
    fails({ role: 'node', selectors: [{ label: 'a=b' }] }, 'node role supports only node selectors');
    fails({ role: 'pod', selectors: [{ role: 'pod' }, { role: 'pod' }] }, 'duplicated selector role: pod', ['selectors', 1]);
    fails({ role: 'pod', selectors: [{ role: 'pod', field: 'status.phase' }] }, "invalid selector: 'status.phase'; can't understand 'status.phase'", ['selectors', 0, 'field']);
    fails({ role: 'pod', selectors: [{ role: 'pod', label: 'app=we b' }] }, "found 'b', expected: ',' or 'end of string'", ['selectors', 0, 'label']);
  });

  it('parses label selectors as apimachinery does', () => {
    for (const ok of ['', 'app', '!app', 'app=web', 'app==web', 'app!=web', 'app=', 'app in (a,b)', 'app notin (a)', 'app in ()', 'x in (,a)',
      'version>3', 'version<10', 'example.com/app=web', ' a = b , c ', 'in=notin', 'a=b,!c,d in (e)']) {
      assert.equal(labelSelectorError(ok), undefined, ok);
    }
    const bad: Array<[string, RegExp]> = [
      ['=x', /found '=', expected: !, identifier, or 'end of string'/],
      ['a=b,', /found '', expected: identifier after ','/],
      ['a=b c', /expected: ',' or 'end of string'/],
      ['a in b', /unable to parse requirement: found 'b' expected: '\('/],
      ['a in (b', /unable to parse requirement: found '', expected: ',' or '\)'/],
      ['a > b', /unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer/],
      ['-a=b', /unable to parse requirement: key: Invalid value: "-a"/],
      ['a/b/c=d', /unable to parse requirement: key: Invalid value/],
      ['Example.com/a=b', /prefix part must be a lowercase RFC 1123 subdomain/],
      [`a=${'x'.repeat(64)}`, /unable to parse requirement: values\[0\]: Invalid value/],
      ['a=-b', /unable to parse requirement: values\[0\]: Invalid value/],
      ['a b', /unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt/],
    ];
    for (const [sel, re] of bad) assert.match(labelSelectorError(sel) ?? '(valid)', re, sel);
  });

  it('parses field selectors as apimachinery does', () => {
    for (const ok of ['', 'metadata.name=x', 'a==b,c!=d', 'a=b\\,c', 'a=', 'a=b\\=c\\\\']) assert.equal(fieldSelectorError(ok), undefined, ok);
    assert.equal(fieldSelectorError('a=b=c'), 'invalid field selector: unescaped character in value: 61');
    assert.equal(fieldSelectorError('a=b\\x'), 'invalid field selector: invalid escape sequence: \\x');
    assert.equal(fieldSelectorError('a=b\\'), 'invalid field selector: invalid escape sequence: \\');
    assert.equal(fieldSelectorError('a=b,c'), "invalid selector: 'a=b,c'; can't understand 'c'");
  });
});
