/** `kvass targets` as a user runs it: real process, real files; bad input gets one clear message and exit ≠ 0. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import { tempDirSync } from '../helpers/tmp.js';

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}
const MAIN = join(repoRoot(), 'dist', 'src', 'cli', 'main.js');

function kvass(args: string[], maxBuffer = 1024 * 1024): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { timeout: 60_000, maxBuffer }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

function configFile(text: string, extra: Record<string, string> = {}): string {
  const dir = tempDirSync('kvass-cli-');
  writeFileSync(join(dir, 'prometheus.yml'), text);
  for (const [name, body] of Object.entries(extra)) writeFileSync(join(dir, name), body);
  return join(dir, 'prometheus.yml');
}

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

function oneErrorLine(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.includes('error'));
  assert.equal(lines.length, 1, `expected one error line, got:\n${stderr}`);
  return lines[0]!;
}

test('table output lists targets and per-job counts', async () => {
  const f = configFile("scrape_configs:\n  - job_name: a\n    static_configs: [{targets: ['127.0.0.1:1', '127.0.0.1:2']}]\n    relabel_configs: [{source_labels: [__address__], regex: '.*:2', action: drop}]\n");
  const r = await kvass(['targets', `--config.file=${f}`]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /a\s+127\.0\.0\.1:1\s+\{instance="127\.0\.0\.1:1", job="a"\}/);
  assert.match(r.stdout, /job a: 1 active, 1 dropped/);
});

test('table output of 200,000 targets: every row, the address column as wide as its widest address', async () => {
  // Past about 120,000 rows, Math.max(...widths) overflowed the stack: the command failed with exit 1.
  const n = 200_000;
  const addresses = Array.from({ length: n }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:9100`);
  addresses[n - 1] = 'a-much-longer-host-name.example:9100';
  const f = configFile("scrape_configs:\n  - job_name: big\n    file_sd_configs: [{files: [sd.json]}]\n", { 'sd.json': JSON.stringify([{ targets: addresses }]) });
  const r = await kvass(['targets', `--config.file=${f}`], 256 * 1024 * 1024);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.match(r.stdout, /job big: 200000 active, 0 dropped/);
  const rows = lines.filter((l) => l.startsWith('big '));
  assert.equal(rows.length, n);
  // Every row's labels start where the longest address's row has them.
  const at = rows.find((l) => l.includes('a-much-longer-host-name'))!.indexOf('{');
  assert.equal(rows[0]!.indexOf('{'), at);
  assert.equal(lines[0]!.indexOf('LABELS'), at);
});

test('json output has the shape of /api/v1/targets data', async () => {
  const f = configFile("scrape_configs:\n  - job_name: a\n    static_configs: [{targets: ['127.0.0.1:1']}]\n");
  const r = await kvass(['targets', `--config.file=${f}`, '--output=json']);
  assert.equal(r.code, 0, r.stderr);
  const data = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(data).sort(), ['activeTargets', 'droppedTargets']);
  assert.equal(data.activeTargets[0].scrapePool, 'a');
  assert.equal(data.activeTargets[0].scrapeUrl, 'http://127.0.0.1:1/metrics');
  assert.deepEqual(data.activeTargets[0].labels, { instance: '127.0.0.1:1', job: 'a' });
});

test('bad input: a mistyped field', async () => {
  const f = configFile('scrape_configs:\n  - job_name: node\n    scrape_intervl: 5s\n');
  const r = await kvass(['targets', `--config.file=${f}`]);
  assert.equal(r.code, 1);
  const line = oneErrorLine(r.stderr);
  assert.match(line, /prometheus\.yml:3:5: job "node": field scrape_intervl not found in scrape config/);
});

test('bad input: a bad regex', async () => {
  const f = configFile("scrape_configs:\n  - job_name: node\n    relabel_configs:\n      - source_labels: [a]\n        regex: 'foo(bar'\n        action: keep\n");
  const r = await kvass(['targets', `--config.file=${f}`]);
  assert.equal(r.code, 1);
  const line = oneErrorLine(r.stderr);
  assert.match(line, /prometheus\.yml:5:\d+: job "node": .*(missing closing \)|regexp)/);
});

test('bad input: a duplicate job', async () => {
  const f = configFile('scrape_configs:\n  - job_name: node\n  - job_name: node\n');
  const r = await kvass(['targets', `--config.file=${f}`]);
  assert.equal(r.code, 1);
  assert.match(oneErrorLine(r.stderr), /prometheus\.yml:3:\d+: job "node": found multiple scrape configs with job name "node"/);
});

test('bad input: a missing file_sd file', async () => {
  const f = configFile("scrape_configs:\n  - job_name: files\n    file_sd_configs: [{files: ['missing.json']}]\n");
  const r = await kvass(['targets', `--config.file=${f}`, '--sd.init-timeout=10s']);
  assert.equal(r.code, 1);
  const line = oneErrorLine(r.stderr);
  assert.match(line, /job "files": file_sd_configs\[0\]: .*missing\.json/);
});

test('bad input: an unreachable http_sd endpoint', async () => {
  const port = await closedPort();
  const f = configFile(`scrape_configs:\n  - job_name: web\n    http_sd_configs: [{url: 'http://127.0.0.1:${port}/sd'}]\n`);
  const r = await kvass(['targets', `--config.file=${f}`, '--sd.init-timeout=10s']);
  assert.equal(r.code, 1);
  const line = oneErrorLine(r.stderr);
  assert.match(line, new RegExp(`job "web": http_sd_configs\\[0\\]: .*127\\.0\\.0\\.1:${port}`));
});

test('bad input: a missing config file and a bad flag', async () => {
  const r = await kvass(['targets', '--config.file=/nonexistent/prometheus.yml']);
  assert.equal(r.code, 1);
  assert.match(oneErrorLine(r.stderr), /cannot read configuration file \/nonexistent\/prometheus\.yml/);
  const u = await kvass(['targets', '--config.file=x', '--output=xml']);
  assert.equal(u.code, 2);
  assert.match(u.stderr, /invalid value "xml" for flag --output/);
});

test('bad input: an unsupported discovery mechanism', async () => {
  const f = configFile('scrape_configs:\n  - job_name: c\n    consul_sd_configs: [{server: "127.0.0.1:8500"}]\n');
  const r = await kvass(['targets', `--config.file=${f}`]);
  assert.equal(r.code, 1);
  assert.match(oneErrorLine(r.stderr), /prometheus\.yml:3:5: job "c": consul_sd_configs is not supported/);
});
