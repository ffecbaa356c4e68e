/**
 * The global querier's configuration: written from the original (rules, alerting, global, remote_write kept; scrape
 * jobs gone; the gateway first in remote_read), accepted by promtool; a bad rule file stops `kvass up` before any
 * shard starts, with promtool's reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import YAML from 'yaml';
import { querierConfig } from '../../src/query/querier.js';
import { freePort } from '../helpers/prometheus.js';
import { runKvass } from '../helpers/kvass.js';
import { tempDir } from '../helpers/tmp.js';

const ORIGINAL = `# the original
global:
  scrape_interval: 15s
  evaluation_interval: 30s
  external_labels: {cluster: eu-1}
rule_files: ['rules/*.yml']
alerting:
  alertmanagers:
    - static_configs: [{targets: ['am:9093']}]
remote_write:
  - url: http://remote-storage/api/v1/write
remote_read:
  - url: http://archive/api/v1/read
scrape_configs:
  - job_name: node
    static_configs: [{targets: ['a:9100']}]
`;

test('the querier config keeps rules, alerting, global and remote_write, drops scrape jobs, reads the gateway first', async () => {
  const dir = await tempDir('kvass-querier-');
  await mkdir(join(dir, 'rules'));
  await writeFile(join(dir, 'rules', 'a.yml'), 'groups: [{name: a, rules: [{record: x:count, expr: count(up)}]}]\n');
  await writeFile(join(dir, 'prometheus.yml'), ORIGINAL);
  const out = join(dir, 'querier');
  await mkdir(out);
  const text = await querierConfig({ configFile: join(dir, 'prometheus.yml'), dir: out, gatewayUrl: 'http://127.0.0.1:9090', lookbackDeltaMs: 300_000, readTimeoutMs: 60_000 });
  const cfg = YAML.parse(text) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  assert.equal(cfg.scrape_configs, undefined);
  assert.deepEqual(cfg.global, { scrape_interval: '15s', evaluation_interval: '30s', external_labels: { cluster: 'eu-1' } });
  assert.deepEqual(cfg.rule_files, [join(dir, 'rules/*.yml')], 'relative rule paths made absolute');
  assert.deepEqual(cfg.alerting.alertmanagers[0].static_configs[0].targets, ['am:9093']);
  assert.equal(cfg.remote_write[0].url, 'http://remote-storage/api/v1/write');
  assert.deepEqual(cfg.remote_read.map((r: { url: string }) => r.url), ['http://127.0.0.1:9090/api/v1/read', 'http://archive/api/v1/read']);
  assert.equal(cfg.remote_read[0].read_recent, true);
  assert.equal(cfg.remote_read[0].headers['x-kvass-lookback-delta-ms'], '300000');
  await writeFile(join(out, 'prometheus.yml'), text);
  execFileSync('promtool', ['check', 'config', join(out, 'prometheus.yml')]); // throws on a refusal
});

test('kvass up refuses a bad rule file before starting any shard, with promtool\'s reason', { timeout: 60_000 }, async () => {
  const dir = await tempDir('kvass-querier-bad-');
  await writeFile(join(dir, 'bad-rules.yml'), 'groups:\n  - name: bad\n    rules:\n      - record: x:rate\n        expr: rate(up[5m]\n');
  await writeFile(join(dir, 'prometheus.yml'), `global: {scrape_interval: 5s}
rule_files: [bad-rules.yml]
scrape_configs:
  - job_name: a
    static_configs: [{targets: ['127.0.0.1:1']}]
`);
  const port = await freePort();
  const up = runKvass(['up', `--config.file=${join(dir, 'prometheus.yml')}`, `--data-dir=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`]);
  const code = await new Promise<number | null>((r) => (up.proc.exitCode !== null ? r(up.proc.exitCode) : up.proc.once('exit', (c) => r(c))));
  assert.equal(code, 1, up.output());
  assert.match(up.output(), /bad-rules\.yml/);
  assert.match(up.output(), /refused by promtool/);
  assert.ok(!existsSync(join(dir, 'data', 'replica-0')), 'no shard was started');
});
