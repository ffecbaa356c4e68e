/**
 * `kvass fake-targets` as a real process: every target serves exactly the asked number of unique series
 * (counted by parsing the body), targets take consecutive ports, --series-step, values move slowly, bad flags
 * exit 2, a port in use exits 1 naming it, SIGTERM exits 0; --mode=paths serves many targets on one port.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { KVASS_MAIN, repoRoot } from '../helpers/kvass.js';
import { freePort, waitFor } from '../helpers/prometheus.js';
import { demoValue, fakeMetricsBody, GO_SHAPED_SERIES } from '../../src/cli/fake-targets.js';

const running = new Set<ChildProcess>();
after(() => {
  for (const p of running) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});

/** Through `kvass fake-targets` once main.ts registers it; until then a stand-in that handles errors as main.ts does. */
function command(args: string[]): string[] {
  if (readFileSync(KVASS_MAIN, 'utf8').includes('fake-targets')) return [KVASS_MAIN, 'fake-targets', ...args];
  const mod = pathToFileURL(join(repoRoot(), 'dist', 'src', 'cli', 'fake-targets.js')).href;
  const code = `import { runFakeTargets } from ${JSON.stringify(mod)};
runFakeTargets(process.argv.slice(1)).then((c) => { process.exitCode = c; }, (e) => {
  process.stderr.write('kvass fake-targets: ' + (e.name === 'UsageError' ? '' : 'error: ') + e.message + '\\n');
  process.exitCode = e.name === 'UsageError' ? 2 : 1;
});`;
  return ['--input-type=module', '-e', code, '--', ...args];
}

interface Run {
  proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  exit: Promise<number | null>;
}

function run(args: string[]): Run {
  const proc = spawn(process.execPath, command(args), { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(proc);
  let out = '';
  let err = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exit = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return { proc, stdout: () => out, stderr: () => err, exit };
}

async function started(r: Run, n: number): Promise<string[]> {
  return waitFor(`${n} listening lines`, async () => {
    if (r.proc.exitCode !== null) throw new Error(`exited ${r.proc.exitCode}: ${r.stderr()}`);
    const lines = r.stdout().split('\n').filter(Boolean);
    return lines.length >= n ? lines : undefined;
  }, 15_000, 50);
}

async function stop(r: Run): Promise<number | null> {
  r.proc.kill('SIGTERM');
  return r.exit;
}

/** Parses a text-format body: unique series (name + sorted labels) → value; checks every family is declared once. */
function parse(body: string): Map<string, number> {
  const series = new Map<string, number>();
  const typed = new Set<string>();
  for (const line of body.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# TYPE ')) {
      const name = line.split(' ')[2]!;
      assert.ok(!typed.has(name), `TYPE twice for ${name}`);
      typed.add(name);
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const labels = [...(m[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)].map((x) => `${x[1]}=${x[2]}`).sort().join(',');
    const key = `${m[1]}{${labels}}`;
    assert.ok(!series.has(key), `duplicate series ${key}`);
    const v = Number(m[3]);
    assert.ok(Number.isFinite(v), `bad value in ${line}`);
    series.set(key, v);
  }
  return series;
}

async function scrape(address: string): Promise<{ body: string; contentType: string }> {
  const res = await fetch(`http://${address}/metrics`);
  assert.equal(res.status, 200);
  return { body: await res.text(), contentType: res.headers.get('content-type') ?? '' };
}

test('the body has exactly the asked number of unique series', () => {
  assert.equal(GO_SHAPED_SERIES, 45);
  const now = 1_800_000_000;
  for (const n of [0, 1, 7, 44, 45, 46, 10_045]) assert.equal(parse(fakeMetricsBody(n, now, 100)).size, n, `series=${n}`);
  const s = parse(fakeMetricsBody(10_045, now, 100));
  assert.equal([...s.keys()].filter((k) => k.startsWith('demo_metric{')).length, 10_000);
  assert.ok(s.has('go_gc_duration_seconds{quantile=0.5}'));
  assert.ok(s.has('go_goroutines{}'));
  assert.ok(s.has('process_resident_memory_bytes{}'));
  assert.ok(s.has('demo_metric{series_id=9999}'));
  // Values are deterministic and change slowly: within 1% of the 100-wide swing over 30 s.
  assert.equal(demoValue(17, now), demoValue(17, now));
  for (let k = 0; k < 50; k++) assert.ok(Math.abs(demoValue(k, now + 30) - demoValue(k, now)) < 6, `k=${k}`);
  assert.notEqual(demoValue(3, now), demoValue(3, now + 600));
});

test('targets on consecutive ports, exact series per target, --series-step', async () => {
  // Three consecutive free ports.
  let base = 0;
  for (let attempt = 0; attempt < 20 && base === 0; attempt++) {
    const p = await freePort();
    if (p + 2 > 65535) continue;
    const held: Server[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const s = createServer();
        await new Promise<void>((res, rej) => s.once('error', rej).listen(p + i, '127.0.0.1', () => res()));
        held.push(s);
      }
      base = p;
    } catch {
      // taken: another try
    } finally {
      for (const s of held) await new Promise((r) => s.close(r));
    }
  }
  assert.ok(base > 0, 'no three consecutive free ports');
  const r = run(['--targets=3', '--series=1000', '--series-step=10', `--listen=127.0.0.1:${base}`]);
  try {
    const lines = await started(r, 3);
    assert.deepEqual(lines, [0, 1, 2].map((i) => `127.0.0.1:${base + i}`));
    for (let i = 0; i < 3; i++) {
      const { body, contentType } = await scrape(lines[i]!);
      assert.match(contentType, /^text\/plain; version=0\.0\.4/);
      const s = parse(body);
      assert.equal(s.size, 1000 + 10 * i);
      assert.equal([...s.keys()].filter((k) => k.startsWith('demo_metric{')).length, 1000 + 10 * i - 45);
    }
    assert.equal((await fetch(`http://${lines[0]}/nope`)).status, 404);
    assert.equal((await fetch(`http://${lines[0]}/metrics`, { method: 'POST' })).status, 405);
    // Logs are JSON lines on stderr.
    assert.ok(r.stderr().split('\n').filter(Boolean).every((l) => JSON.parse(l)), r.stderr());
  } finally {
    assert.equal(await stop(r), 0);
  }
});

test('the default-sized target: 10045 series', async () => {
  const r = run(['--targets=2', '--listen=127.0.0.1:0']);
  try {
    const lines = await started(r, 2);
    assert.equal(lines.length, 2);
    assert.notEqual(lines[0], lines[1]);
    for (const a of lines) assert.equal(parse((await scrape(a)).body).size, 10_045);
  } finally {
    assert.equal(await stop(r), 0);
  }
});

test('bad flags exit 2 with a clear message', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--targets=0'], /--targets/],
    [['--targets=abc'], /--targets/],
    [['--series=-1'], /--series/],
    [['--series-step=x'], /--series-step/],
    [['--listen=nonsense'], /--listen/],
    [['--listen=127.0.0.1:65535', '--targets=2'], /65535/],
    [['--bogus=1'], /unknown flag --bogus/],
  ];
  await Promise.all(cases.map(async ([args, re]) => {
    const r = run(args);
    assert.equal(await r.exit, 2, `${args.join(' ')}: ${r.stderr()}`);
    assert.match(r.stderr(), re);
    assert.equal(r.stdout(), '');
  }));
});

test('a port in use: exit 1 naming it, nothing left listening', async () => {
  const base = await freePort();
  const blocker = createServer();
  await new Promise<void>((res) => blocker.listen(base + 1, '127.0.0.1', () => res()));
  try {
    const r = run(['--targets=2', `--listen=127.0.0.1:${base}`]);
    assert.equal(await r.exit, 1, r.stderr());
    assert.match(r.stderr(), new RegExp(`127\\.0\\.0\\.1:${base + 1}.*address already in use`));
    assert.equal(r.stdout(), '');
  } finally {
    await new Promise((r) => blocker.close(r));
  }
});

test('--mode=paths: every target on one port at /t/<i>/metrics, exact series, --series-step, bounds', async () => {
  // 20,000 targets: twice the cap of the one-port-each mode, on a single socket.
  const r = run(['--mode=paths', '--targets=20000', '--series=50', '--series-step=1', '--listen=127.0.0.1:0']);
  try {
    const lines = await started(r, 1);
    assert.equal(lines.length, 1, 'one address for all targets');
    const a = lines[0]!;
    for (const i of [0, 1, 12_345, 19_999]) {
      const res = await fetch(`http://${a}/t/${i}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      assert.equal(parse(await res.text()).size, 50 + i, `target ${i}`);
    }
    assert.equal((await fetch(`http://${a}/t/19999/metrics`, { method: 'HEAD' })).status, 200);
    // One path per target: past the last one, non-canonical numbers and the plain /metrics of ports mode are 404.
    for (const p of ['/t/20000/metrics', '/t/01/metrics', '/t/-1/metrics', '/t/1e3/metrics', '/t//metrics', '/t/1/metrics/x', '/metrics', '/t/99999999999/metrics']) {
      assert.equal((await fetch(`http://${a}${p}`)).status, 404, p);
    }
    assert.equal((await fetch(`http://${a}/t/3/metrics`, { method: 'POST' })).status, 405);
    // A query string does not change the target (Prometheus's proxy adds its own parameters).
    assert.equal(parse(await (await fetch(`http://${a}/t/7/metrics?x=1`)).text()).size, 57);
  } finally {
    assert.equal(await stop(r), 0);
  }
});

test('--mode=paths: bad values exit 2, ports mode keeps its 10,000 cap', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--mode=paths', '--targets=100001'], /--targets/],
    [['--mode=sockets'], /--mode/],
    [['--targets=10001', '--listen=127.0.0.1:0'], /--targets/],
    [['--mode=paths', '--targets=100000', '--series=200', '--series-step=100'], /over 10000000 series/],
  ];
  await Promise.all(cases.map(async ([args, re]) => {
    const r = run(args);
    assert.equal(await r.exit, 2, `${args.join(' ')}: ${r.stderr()}`);
    assert.match(r.stderr(), re);
    assert.equal(r.stdout(), '');
  }));
});
