import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/config.js';
import { hasPort, jobDefaults, jobTargets, populateLabels, scrapeUrlOf } from '../../src/target/populate.js';

function job(yaml: string) {
  return jobDefaults(parseConfig(`scrape_configs:\n  - job_name: j\n${yaml}`, 'p.yml', '/tmp').scrapeConfigs[0]!);
}

test('SplitHostPort as Go decides it', () => {
  assert.equal(hasPort('a:1'), true);
  assert.equal(hasPort('a:'), true);
  assert.equal(hasPort('[::1]:9'), true);
  assert.equal(hasPort('[::1]'), false);
  assert.equal(hasPort('::1'), false);
  assert.equal(hasPort('::1:1234'), false);
  assert.equal(hasPort('a'), false);
});

test('defaults, port by scheme, instance from address, meta labels removed', () => {
  const r = populateLabels({ __address__: '127.0.0.1', __meta_x: 'm', a: 'b' }, job('    scheme: https\n    params: {module: [m1, m2]}\n'));
  assert.equal(r.kind, 'active');
  if (r.kind !== 'active') return;
  assert.deepEqual(r.labels, {
    __address__: '127.0.0.1:443', a: 'b', job: 'j', __scrape_interval__: '1m', __scrape_timeout__: '10s',
    __metrics_path__: '/metrics', __scheme__: 'https', __param_module: 'm1', instance: '127.0.0.1:443',
  });
  assert.equal(r.discoveredLabels.__meta_x, 'm');
  assert.equal(r.discoveredLabels.__address__, '127.0.0.1');
  assert.equal(scrapeUrlOf(r.labels, { module: ['m1', 'm2'] }), 'https://127.0.0.1:443/metrics?module=m1&module=m2');
});

test('config params win over discovered __param_ labels; relabeled ones win in the URL', () => {
  const jd = job('    params: {module: [cfg]}\n');
  const r = populateLabels({ __address__: 'h:1', __param_module: 'sd' }, jd);
  assert.equal(r.kind === 'active' && r.labels.__param_module, 'cfg');
  const jd2 = job('    params: {module: [cfg, two]}\n    relabel_configs: [{target_label: __param_module, replacement: rl}]\n');
  const r2 = populateLabels({ __address__: 'h:1' }, jd2);
  assert.ok(r2.kind === 'active');
  if (r2.kind === 'active') assert.equal(scrapeUrlOf(r2.labels, { module: ['cfg', 'two'] }), 'http://h:1/metrics?module=rl&module=two');
});

test('explicit labels are not overwritten by defaults, empty ones are', () => {
  const r = populateLabels({ __address__: 'h:1', job: 'mine', __metrics_path__: '' }, job(''));
  assert.ok(r.kind === 'active');
  if (r.kind === 'active') {
    assert.equal(r.labels.job, 'mine');
    assert.equal(r.labels.__metrics_path__, '/metrics');
  }
});

test('failures: no address, bad interval, zero interval, timeout above interval, slash in address', () => {
  const fail = (labels: Record<string, string>, yaml = '') => {
    const r = populateLabels(labels, job(yaml));
    assert.equal(r.kind, 'failed', JSON.stringify(labels));
    return r.kind === 'failed' ? r.error : '';
  };
  assert.match(fail({ a: 'b' }), /no address/);
  assert.match(fail({ __address__: 'h', __scrape_interval__: 'x' }), /error parsing scrape interval/);
  assert.match(fail({ __address__: 'h', __scrape_interval__: '0' }), /scrape interval cannot be 0/);
  assert.match(fail({ __address__: 'h', __scrape_timeout__: '2m' }), /scrape timeout cannot be greater than scrape interval/);
  assert.match(fail({ __address__: 'h/x' }, '    relabel_configs: [{action: keep, regex: .*}]\n'), /not a valid hostname/);
});

test('dropped by relabeling keeps the discovered labels', () => {
  const r = populateLabels({ __address__: 'h:1' }, job('    relabel_configs: [{action: drop, source_labels: [__address__], regex: h.*}]\n'));
  assert.equal(r.kind, 'dropped');
  assert.equal(r.discoveredLabels.job, 'j');
});

test('target labels win over group labels; identical active targets collapse', () => {
  const jd = job('');
  const res = jobTargets([
    { source: 'a', labels: { env: 'g', x: 'group' }, targets: [{ __address__: 'h:1', x: 'target' }, { __address__: 'h:1', x: 'target' }] },
  ], jd);
  assert.equal(res.active.length, 1);
  assert.equal(res.active[0]!.labels.x, 'target');
  assert.equal(res.active[0]!.labels.env, 'g');
});

test('IPv6: bracketed gets a port, bare stays as Prometheus leaves it', () => {
  const jd = job('');
  const a = populateLabels({ __address__: '[::1]' }, jd);
  assert.ok(a.kind === 'active' && a.labels.__address__ === '[::1]:80');
  const b = populateLabels({ __address__: '::1' }, jd);
  assert.ok(b.kind === 'active' && b.labels.__address__ === '::1');
});
