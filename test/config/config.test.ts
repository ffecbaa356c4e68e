import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/config.js';
import { LocatedConfigError } from '../../src/prom/errors.js';

function fails(text: string, re: RegExp, where?: { line: number; col?: number; job?: string }) {
  try {
    parseConfig(text, 'p.yml', '/tmp');
  } catch (e) {
    assert.ok(e instanceof LocatedConfigError, `expected a located error, got ${e}`);
    assert.match(e.message, re);
    if (where) {
      assert.equal(e.line, where.line, e.message);
      if (where.col !== undefined) assert.equal(e.col, where.col, e.message);
      assert.equal(e.job, where.job, e.message);
    }
    return e;
  }
  assert.fail(`expected an error matching ${re}`);
}

test('defaults: global 1m/10s, job inherits, http scheme, /metrics, honor_timestamps', () => {
  const c = parseConfig('scrape_configs:\n  - job_name: a\n', 'p.yml', '/tmp');
  assert.equal(c.global.scrapeInterval, 60_000);
  assert.equal(c.global.scrapeTimeout, 10_000);
  assert.equal(c.global.evaluationInterval, 60_000);
  const j = c.scrapeConfigs[0]!;
  assert.deepEqual(
    [j.scrapeInterval, j.scrapeTimeout, j.scheme, j.metricsPath, j.honorLabels, j.honorTimestamps],
    [60_000, 10_000, 'http', '/metrics', false, true],
  );
});

test('job timeout defaults to the smaller of global timeout and job interval', () => {
  const c = parseConfig('global: {scrape_interval: 30s, scrape_timeout: 20s}\nscrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n  - job_name: b\n', 'p.yml', '/tmp');
  assert.equal(c.scrapeConfigs[0]!.scrapeTimeout, 5000);
  assert.equal(c.scrapeConfigs[1]!.scrapeInterval, 30_000);
  assert.equal(c.scrapeConfigs[1]!.scrapeTimeout, 20_000);
});

test('global interval below the default timeout caps the timeout', () => {
  const c = parseConfig('global: {scrape_interval: 5s}\n', 'p.yml', '/tmp');
  assert.equal(c.global.scrapeTimeout, 5000);
});

test('empty file is the default configuration', () => {
  const c = parseConfig('', 'p.yml', '/tmp');
  assert.equal(c.scrapeConfigs.length, 0);
});

test('unknown field names the field, the job, line and column', () => {
  fails('scrape_configs:\n  - job_name: node\n    scrape_intervall: 5s\n', /field scrape_intervall not found in scrape config/, { line: 3, col: 5, job: 'node' });
});

test('unknown top-level and global fields', () => {
  fails('globl:\n  scrape_interval: 5s\n', /field globl not found/, { line: 1, col: 1 });
  fails('global:\n  scrape_intreval: 5s\n', /field scrape_intreval not found in global config/, { line: 2, col: 3 });
});

test('duplicate job names', () => {
  fails('scrape_configs:\n  - job_name: a\n  - job_name: a\n', /found multiple scrape configs with job name "a"/, { line: 3, col: 15, job: 'a' });
});

test('timeout above interval', () => {
  fails('scrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n    scrape_timeout: 6s\n', /scrape timeout greater than scrape interval/, { line: 4, job: 'a' });
  fails('global:\n  scrape_interval: 5s\n  scrape_timeout: 6s\n', /global scrape timeout greater than scrape interval/, { line: 3 });
});

test('bad durations', () => {
  fails('scrape_configs:\n  - job_name: a\n    scrape_interval: 5 s\n', /not a valid duration string/, { line: 3, col: 22, job: 'a' });
  fails('global:\n  evaluation_interval: 1x\n', /not a valid duration string/, { line: 2 });
});

test('bad relabel config is located at the rule', () => {
  const e = fails('scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - action: replace\n        regex: (a\n', /./, { line: 5, job: 'a' });
  assert.match(e.message, /p\.yml:5:\d+/);
});

test('unsupported SD mechanism is named, never skipped', () => {
  fails('scrape_configs:\n  - job_name: c\n    consul_sd_configs:\n      - server: localhost:8500\n', /consul_sd_configs is not supported by kvass/, { line: 3, col: 5, job: 'c' });
});

test('static targets with a URL are refused when no relabeling could fix them', () => {
  fails('scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: ["http://x:80/metrics"]\n', /is not a valid hostname/, { line: 4, job: 'a' });
  // With relabeling the address may be rewritten, so Prometheus accepts the config.
  parseConfig('scrape_configs:\n  - job_name: a\n    relabel_configs: [{target_label: __address__, replacement: x}]\n    static_configs:\n      - targets: ["http://x:80/metrics"]\n', 'p.yml', '/tmp');
});

test('invalid YAML is located', () => {
  fails('scrape_configs:\n  - job_name: a\n   bad: [\n', /invalid YAML/);
});

test('duplicate keys are refused, as Go yaml does', () => {
  fails('global:\n  scrape_interval: 5s\n  scrape_interval: 6s\n', /invalid YAML/, { line: 3 });
});

test('unquoted numbers and booleans keep their text in string fields (Go yaml.v2)', () => {
  const c = parseConfig('scrape_configs:\n  - job_name: 1.10\n    static_configs:\n      - targets: [a]\n        labels: {v: 1.10, b: yes, o: 010}\n', 'p.yml', '/tmp');
  assert.equal(c.scrapeConfigs[0]!.jobName, '1.10');
  const g = c.scrapeConfigs[0]!.serviceDiscovery[0]!.config as { labels: Record<string, string> };
  assert.deepEqual(g.labels, { v: '1.10', b: 'yes', o: '010' });
});

test('booleans in YAML 1.1 spelling are read as Go yaml.v2 reads them', () => {
  const c = parseConfig('scrape_configs:\n  - job_name: a\n    honor_labels: yes\n', 'p.yml', '/tmp');
  assert.equal(c.scrapeConfigs[0]!.honorLabels, true);
});

test('invalid label name in static labels', () => {
  fails('scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: [a]\n        labels: {1x: y}\n', /"1x" is not a valid label name/, { line: 5, job: 'a' });
});

test('http client conflicts', () => {
  fails('scrape_configs:\n  - job_name: a\n    bearer_token: x\n    basic_auth: {username: u, password: p}\n', /at most one of basic_auth, oauth2, bearer_token/, { line: 2, job: 'a' });
});

test('the document is kept for faithful rewrites', () => {
  const text = '# keep me\nglobal:\n  external_labels: {cluster: c1}\nremote_write:\n  - url: http://127.0.0.1:1/w\n    bearer_token: s3cret\n';
  const c = parseConfig(text, 'p.yml', '/tmp');
  assert.equal(c.text, text);
  const again = c.document.toString();
  assert.match(again, /# keep me/);
  assert.match(again, /bearer_token: s3cret/);
  assert.deepEqual(c.global.externalLabels, { cluster: 'c1' });
});

test('merge keys and anchors are honoured', () => {
  const c = parseConfig('scrape_configs:\n  - &base\n    job_name: a\n    scrape_interval: 5s\n  - <<: *base\n    job_name: b\n', 'p.yml', '/tmp');
  assert.deepEqual(c.scrapeConfigs.map((j) => [j.jobName, j.scrapeInterval]), [['a', 5000], ['b', 5000]]);
});

test('a YAML alias bomb is refused within 100 ms, an oversized configuration at once', () => {
  const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (const c of 'bcdefghi') levels.push(`${c}: &${c} [${Array(9).fill(`*${String.fromCharCode(c.charCodeAt(0) - 1)}`).join(',')}]`);
  const bomb = `${levels.join('\n')}\nscrape_configs: *i\n`;
  const t0 = performance.now();
  assert.throws(() => parseConfig(bomb, 'bomb.yml'), /bomb\.yml:1:1: invalid YAML: document contains excessive aliasing/);
  const ms = performance.now() - t0;
  assert.ok(ms < 100, `refused in ${ms.toFixed(1)} ms`);
  assert.throws(() => parseConfig(`global: {}\n#${'x'.repeat(17 << 20)}\n`, 'big.yml'), /big\.yml:1:1: configuration larger than 16777216 bytes/);
  // Anchors and merge keys as a real configuration uses them still work.
  const cfg = parseConfig('scrape_configs:\n  - &base {job_name: a, scrape_interval: 5s}\n  - <<: *base\n    job_name: b\n', 'ok.yml');
  assert.deepEqual(cfg.scrapeConfigs.map((j) => [j.jobName, j.scrapeInterval]), [['a', 5000], ['b', 5000]]);
});
