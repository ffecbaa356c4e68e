/**
 * statusConfigYaml without the binary: secret masking, extra external labels, empty sections, relative paths,
 * yaml.v2's key order and quoting, and kubernetes_sd_configs (absent from Debian's prometheus 2.42 build, so the
 * real-binary test cannot cover it: the expected text follows the 2.42 Go structs field by field).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { parseConfig } from '../../src/config/config.js';
import { statusConfigYaml } from '../../src/config/status-config.js';

const status = (text: string, extra?: Record<string, string>, dir = '/etc/prom') => statusConfigYaml(parseConfig(text, `${dir}/prometheus.yml`, dir), extra);

const GLOBAL_DEFAULTS = 'global:\n  scrape_interval: 1m\n  scrape_timeout: 10s\n  evaluation_interval: 1m\n';

test('status config: an empty file is the default global section only', () => {
  assert.equal(status(''), GLOBAL_DEFAULTS);
  assert.equal(status('global: {}\n'), GLOBAL_DEFAULTS);
});

test('status config: empty and null sections are omitted', () => {
  const text = [
    'global:', 'alerting: {}', 'rule_files: []', 'scrape_configs: []', 'storage: {}', 'tracing:',
    'remote_write: []', 'remote_read:', '',
  ].join('\n');
  assert.equal(status(text), GLOBAL_DEFAULTS);
  assert.equal(status('alerting: {alertmanagers: [], alert_relabel_configs: []}\nstorage: {tsdb: ~, exemplars: ~}\n'), GLOBAL_DEFAULTS);
});

test('status config: every secret is <secret>, bearer tokens become authorization where Prometheus validates', () => {
  const out = status(`
scrape_configs:
  - job_name: a
    basic_auth: {username: u, password: p4ssw0rd}
    proxy_url: http://pu:proxypass@127.0.0.1:3128/
    proxy_connect_header: {X-Token: [hdrsecret, '']}
    static_configs: [{targets: ['127.0.0.1:9100']}]
  - job_name: b
    bearer_token: b34rer
    http_sd_configs:
      - url: http://127.0.0.1:1/sd
        bearer_token: sdb34rer
  - job_name: c
    oauth2: {client_id: id, client_secret: cl13nt, token_url: http://127.0.0.1:1/t}
remote_write:
  - url: http://ru:urlpass@127.0.0.1:1/w
    authorization: {credentials: rwcred}
    sigv4: {access_key: AK, secret_key: s1gv4}
`);
  for (const s of ['p4ssw0rd', 'proxypass', 'hdrsecret', 'b34rer', 'sdb34rer', 'cl13nt', 'urlpass', 'rwcred', 's1gv4']) {
    assert.ok(!out.includes(s), `${s} leaked:\n${out}`);
  }
  assert.equal(out, `${GLOBAL_DEFAULTS}scrape_configs:
- job_name: a
  honor_timestamps: true
  scrape_interval: 1m
  scrape_timeout: 10s
  metrics_path: /metrics
  scheme: http
  basic_auth:
    username: u
    password: <secret>
  proxy_url: http://pu:xxxxx@127.0.0.1:3128/
  proxy_connect_header:
    X-Token:
    - <secret>
    - null
  follow_redirects: true
  enable_http2: true
  static_configs:
  - targets:
    - 127.0.0.1:9100
- job_name: b
  honor_timestamps: true
  scrape_interval: 1m
  scrape_timeout: 10s
  metrics_path: /metrics
  scheme: http
  authorization:
    type: Bearer
    credentials: <secret>
  follow_redirects: true
  enable_http2: true
  http_sd_configs:
  - bearer_token: <secret>
    follow_redirects: true
    enable_http2: true
    refresh_interval: 1m
    url: http://127.0.0.1:1/sd
- job_name: c
  honor_timestamps: true
  scrape_interval: 1m
  scrape_timeout: 10s
  metrics_path: /metrics
  scheme: http
  oauth2:
    client_id: id
    client_secret: <secret>
    client_secret_file: ""
    token_url: http://127.0.0.1:1/t
  follow_redirects: true
  enable_http2: true
remote_write:
- url: http://ru:xxxxx@127.0.0.1:1/w
  remote_timeout: 30s
  authorization:
    type: Bearer
    credentials: <secret>
  follow_redirects: true
  enable_http2: true
  queue_config:
    capacity: 2500
    max_shards: 200
    min_shards: 1
    max_samples_per_send: 500
    batch_send_deadline: 5s
    min_backoff: 30ms
    max_backoff: 5s
  metadata_config:
    send: true
    send_interval: 1m
    max_samples_per_send: 500
  sigv4:
    access_key: AK
    secret_key: <secret>
`);
});

test('status config: extra external labels are merged into global.external_labels and win', () => {
  const out = status('global:\n  scrape_interval: 15s\n  external_labels: {cluster: eu, replica: a}\n', { replica: '1', shard: 'shard-0' });
  assert.equal(out, `global:
  scrape_interval: 15s
  scrape_timeout: 10s
  evaluation_interval: 1m
  external_labels:
    cluster: eu
    replica: "1"
    shard: shard-0
`);
  assert.deepEqual(parse(out).global.external_labels, { cluster: 'eu', replica: '1', shard: 'shard-0' });
  // Without a global section: the defaults, plus the labels.
  assert.equal(status('', { kvass_replica: '0' }), `${GLOBAL_DEFAULTS}  external_labels:\n    kvass_replica: "0"\n`);
  // Without extra labels the original ones stay, empty values included (Prometheus keeps them in the config).
  assert.match(status('global: {external_labels: {a: "", b: x}}\n'), /external_labels:\n {4}a: ""\n {4}b: x\n/);
});

test('status config: relative paths are joined to the config folder and cleaned, absolute ones kept', () => {
  const out = status(`
global: {query_log_file: logs/../q.log}
rule_files: [rules/*.yml, /abs/r.yml, ./x/../r2.yml]
scrape_configs:
  - job_name: f
    tls_config: {ca_file: ca.pem}
    file_sd_configs: [{files: [sd/*.json, /abs/sd.json]}]
`, undefined, '/etc/prom');
  assert.match(out, /query_log_file: \/etc\/prom\/q\.log\n/);
  assert.match(out, /rule_files:\n- \/etc\/prom\/rules\/\*\.yml\n- \/abs\/r\.yml\n- \/etc\/prom\/r2\.yml\n/);
  assert.match(out, /tls_config:\n {4}ca_file: \/etc\/prom\/ca\.pem\n {4}insecure_skip_verify: false\n/);
  assert.match(out, /files:\n {4}- \/etc\/prom\/sd\/\*\.json\n {4}- \/abs\/sd\.json\n {4}refresh_interval: 5m\n/);
});

test("status config: yaml.v2's key order and quoting (facts read from the 2.42 binary)", () => {
  const out = status(`
global:
  external_labels: {a10: x, a02: x, a2: x, a: x, A1: x, _under: x, 'y': 'y', 'n': v, b: 'true', c: '1:20', e: '1e400', j: '-', l: 'x: y', t: "it's", ml: "l1\\nl2"}
`);
  assert.equal(out, `${GLOBAL_DEFAULTS}  external_labels:
    _under: x
    A1: x
    a: x
    a2: x
    a02: x
    a10: x
    b: "true"
    c: "1:20"
    e: 1e400
    j: '-'
    l: 'x: y'
    ml: |-
      l1
      l2
    "n": v
    t: it's
    "y": "y"
`);
});

test('status config: relabel rules print every field with its default, empty regex as null, flow source labels', () => {
  const out = status(`
scrape_configs:
  - job_name: r
    relabel_configs:
      - {source_labels: [a, 'yes'], regex: '', action: Keep}
      - {source_labels: [a], modulus: 18446744073709551615, target_label: h, action: hashmod}
      - {regex: 'x.*', action: labeldrop}
`);
  assert.match(out, /relabel_configs:\n {2}- source_labels: \[a, "yes"\]\n {4}separator: ;\n {4}regex: null\n {4}replacement: \$1\n {4}action: keep\n/);
  assert.match(out, /modulus: 18446744073709551615\n {4}target_label: h\n {4}replacement: \$1\n {4}action: hashmod\n/);
  assert.match(out, /- separator: ;\n {4}regex: x\.\*\n {4}replacement: \$1\n {4}action: labeldrop\n/);
});

test('status config: kubernetes_sd_configs as the 2.42 structs print them', () => {
  const out = status(`
scrape_configs:
  - job_name: k8s
    kubernetes_sd_configs:
      - role: pod
        api_server: https://user:pw@k8s.example:6443
        bearer_token: t0k3n
        tls_config: {ca_file: ca.pem}
        namespaces: {names: [a, b]}
        selectors: [{role: pod, label: 'app=x'}]
        attach_metadata: {node: true}
      - role: node
        kubeconfig_file: kube/config
      - role: service
        namespaces: {own_namespace: true}
      - role: endpoints
        namespaces: {names: []}
        attach_metadata: {node: false}
`);
  assert.ok(!out.includes('t0k3n') && !out.includes(':pw@'));
  assert.equal(out.slice(out.indexOf('  kubernetes_sd_configs:')), `  kubernetes_sd_configs:
  - api_server: https://user:xxxxx@k8s.example:6443
    role: pod
    kubeconfig_file: ""
    authorization:
      type: Bearer
      credentials: <secret>
    tls_config:
      ca_file: /etc/prom/ca.pem
      insecure_skip_verify: false
    follow_redirects: true
    enable_http2: true
    namespaces:
      own_namespace: false
      names:
      - a
      - b
    selectors:
    - role: pod
      label: app=x
    attach_metadata:
      node: true
  - role: node
    kubeconfig_file: /etc/prom/kube/config
    follow_redirects: true
    enable_http2: true
  - role: service
    kubeconfig_file: ""
    follow_redirects: true
    enable_http2: true
    namespaces:
      own_namespace: true
      names: []
  - role: endpoints
    kubeconfig_file: ""
    follow_redirects: true
    enable_http2: true
`);
});

test('status config: the service discovery lists follow the job fields, static groups last and coalesced', () => {
  const out = status(`
scrape_configs:
  - job_name: sd
    static_configs: [{targets: ['127.0.0.1:1']}]
    http_sd_configs: [{url: 'http://127.0.0.1:1/sd'}]
    file_sd_configs: [{files: [a.json]}]
    dns_sd_configs: [{names: [x.example]}]
    metric_relabel_configs: [{source_labels: [a], target_label: b}]
`);
  const keys = [...out.matchAll(/^ {2}([a-z_]+):/gm)].map((m) => m[1]);
  assert.deepEqual(keys.slice(-5), ['metric_relabel_configs', 'dns_sd_configs', 'file_sd_configs', 'http_sd_configs', 'static_configs']);
  assert.match(out, /dns_sd_configs:\n {2}- names:\n {4}- x\.example\n {4}refresh_interval: 30s\n {4}type: SRV\n {4}port: 0\n/);
});

test('status config: an alertmanager service discovery kvass does not model is an error, not a guess', () => {
  assert.throws(() => status('alerting:\n  alertmanagers:\n    - consul_sd_configs: [{server: x}]\n'), /alerting\.alertmanagers\[0\]: consul_sd_configs is not supported/);
});
