/**
 * statusConfigYaml against the real prometheus 2.42 binary: for every corpus config and the fixtures under
 * test/config/status-config/, `data.yaml` of GET /api/v1/status/config must be byte for byte what kvass prints.
 * The fixtures run from a temporary copy of their folder (relative paths resolve there, as in Prometheus, and the
 * query log Prometheus opens is not written into the source tree); the corpus runs in place. Every config path is
 * absolute, so Prometheus joins relative paths to the same folder as kvass.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cp, readdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfigFile } from '../../src/config/config.js';
import { statusConfigYaml } from '../../src/config/status-config.js';
import { freePort } from '../helpers/prometheus.js';
import { tempDir } from '../helpers/tmp.js';

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

const ROOT = repoRoot();
const CORPUS = join(ROOT, 'test', 'corpus');
const FIXTURES = join(ROOT, 'test', 'config', 'status-config');
const FIXTURE_CONFIGS = ['secrets.yml', 'defaults.yml', 'relabel.yml', 'scrape.yml'];
const PARALLEL = 6;
const HAVE_PROMETHEUS = spawnSync('prometheus', ['--version']).status === 0;

/** Every process this file starts, so that none survives a failure. */
const running = new Set<ChildProcess>();
let fixtureCopy: string | undefined;

function killHard(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((r) => {
    p.once('exit', () => r());
    p.kill('SIGKILL');
  });
}

/** Starts prometheus on `configFile`, returns `data.yaml` of /api/v1/status/config, and kills it. */
async function servedConfig(configFile: string): Promise<string> {
  const dataDir = await tempDir('kvass-status-config-');
  const port = await freePort();
  const proc = spawn('prometheus', [
    `--config.file=${configFile}`, `--storage.tsdb.path=${join(dataDir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=error',
  ], { cwd: dataDir, stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(proc);
  let stderr = '';
  proc.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`prometheus exited (${proc.exitCode}) for ${configFile}: ${stderr}`);
      if (Date.now() > deadline) throw new Error(`prometheus not ready within 30 s for ${configFile}: ${stderr}`);
      const ok = await fetch(`http://127.0.0.1:${port}/-/ready`, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok, () => false);
      if (ok) break;
      await Promise.race([new Promise((r) => setTimeout(r, 150)), exited]);
    }
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/status/config`, { signal: AbortSignal.timeout(10_000) });
    const body = (await res.json()) as { status: string; data: { yaml: string } };
    assert.equal(body.status, 'success');
    return body.data.yaml;
  } finally {
    // SIGKILL: a graceful stop waits for remote-write queues to flush to endpoints that do not exist.
    await killHard(proc);
    running.delete(proc);
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** A unified-style line diff (LCS), for a readable failure. */
function lineDiff(expected: string, actual: string): string {
  const a = expected.split('\n');
  const b = actual.split('\n');
  const n = a.length;
  const m = b.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const rows: Array<[string, string]> = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      rows.push([' ', a[i++]!]);
      j++;
    } else if (j < m && (i === n || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) rows.push(['+', b[j++]!]);
    else rows.push(['-', a[i++]!]);
  }
  const out: string[] = [];
  rows.forEach(([tag, line], k) => {
    const near = rows.slice(Math.max(0, k - 3), k + 4).some(([t]) => t !== ' ');
    if (near) out.push(`${tag} ${JSON.stringify(line).slice(1, -1)}`);
    else if (out[out.length - 1] !== '  …') out.push('  …');
  });
  return out.join('\n');
}

interface Case {
  name: string;
  file: string;
}

let cases: Case[] = [];
const results = new Map<string, Promise<string>>();

before(async () => {
  if (!HAVE_PROMETHEUS) return;
  fixtureCopy = await tempDir('kvass-status-config-fixtures-');
  await cp(FIXTURES, fixtureCopy, { recursive: true });
  const corpus = (await readdir(CORPUS, { withFileTypes: true })).filter((d) => d.isDirectory() && existsSync(join(CORPUS, d.name, 'prometheus.yml')));
  cases = [
    ...corpus.map((d) => ({ name: `corpus/${d.name}`, file: join(CORPUS, d.name, 'prometheus.yml') })),
    ...FIXTURE_CONFIGS.map((f) => ({ name: `fixture/${f}`, file: join(fixtureCopy!, f) })),
  ];
  // A small pool: PARALLEL prometheus processes at a time.
  const slots: Array<() => void> = [];
  let active = 0;
  const acquire = () => (active < PARALLEL ? (active++, Promise.resolve()) : new Promise<void>((r) => slots.push(r)));
  const release = () => {
    const s = slots.shift();
    if (s) s();
    else active--;
  };
  for (const c of cases) {
    const p = acquire().then(() => servedConfig(c.file)).finally(release);
    p.catch(() => undefined); // reported by the case's test
    results.set(c.name, p);
  }
});

after(async () => {
  await Promise.allSettled([...results.values()]);
  await Promise.all([...running].map(killHard));
  if (fixtureCopy) await rm(fixtureCopy, { recursive: true, force: true });
});

test('status config: the corpus and the fixtures are all there', { skip: !HAVE_PROMETHEUS && 'prometheus binary not installed' }, () => {
  assert.ok(cases.filter((c) => c.name.startsWith('corpus/')).length >= 20, `corpus under ${CORPUS}`);
  assert.equal(cases.filter((c) => c.name.startsWith('fixture/')).length, FIXTURE_CONFIGS.length);
});

const NAMES = [
  ...(existsSync(CORPUS) ? (await readdir(CORPUS, { withFileTypes: true })).filter((d) => d.isDirectory() && existsSync(join(CORPUS, d.name, 'prometheus.yml'))).map((d) => `corpus/${d.name}`) : []),
  ...FIXTURE_CONFIGS.map((f) => `fixture/${f}`),
];

for (const name of NAMES) {
  test(`status config equals Prometheus 2.42's data.yaml: ${name}`, { skip: !HAVE_PROMETHEUS && 'prometheus binary not installed' }, async () => {
    const c = cases.find((x) => x.name === name);
    assert.ok(c, `case ${name} was not started`);
    const served = await results.get(name)!;
    const mine = statusConfigYaml(await loadConfigFile(c.file));
    if (mine !== served) assert.fail(`data.yaml differs for ${name} (- Prometheus, + kvass):\n${lineDiff(served, mine)}`);
    assert.equal(mine, served);
    if (name === 'fixture/secrets.yml') {
      assert.ok(!served.includes('S3CRET'), 'Prometheus masks every secret');
      const leaked = mine.match(/S3CRET[\w-]*/g);
      assert.equal(leaked, null, `secrets in kvass's output: ${leaked?.join(', ')}`);
      for (const f of ['fixture-password-from-file', 'fixture-token-from-file']) assert.ok(!mine.includes(f));
      assert.ok((mine.match(/<secret>/g) ?? []).length >= 20, 'the secrets are there, masked');
      assert.match(mine, /proxyuser:xxxxx@127\.0\.0\.1:3128/);
    }
  });
}
