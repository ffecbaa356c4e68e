/**
 * LocalShardManager with the real processes (kvass sidecar + prometheus 2.42): scale 0→2, a killed Prometheus
 * comes back on the same port, scale 2→1 removes the highest ordinal and its folder, a coordinator killed with
 * SIGKILL leaves its shards running and a new manager adopts them without restarting them (same pids), adopted
 * processes are watched too, close() stops everything; replicas get their replica label; without deleteData a
 * removed shard's folder stays and is not brought back; a port another process holds as a shard's process starts is
 * chosen anew (and restart() takes the arguments as they are now).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { silentLogger } from '../../src/logger.js';
import { LocalShardManager } from '../../src/shard/local.js';
import { pidAlive, WatchedProcess } from '../../src/shard/local-process.js';
import type { ShardPids, ShardPorts } from '../../src/shard/local-shard.js';
import { repoRoot } from '../helpers/kvass.js';
import { holdPort as holdAnyPort, killAndTakePort, type HeldPort } from '../helpers/ports.js';
import { waitFor } from '../helpers/prometheus.js';
import { tempDir } from '../helpers/tmp.js';

let root: string;
let dataDir: string;
let configFile: string;
const managers: LocalShardManager[] = [];
const children: ChildProcess[] = [];
const heldPorts: Array<() => Promise<void>> = [];

function manager(opts: Partial<ConstructorParameters<typeof LocalShardManager>[0]> = {}): LocalShardManager {
  const m = new LocalShardManager({ dataDir, configFile, log: silentLogger(), scrapeReloadDebounce: '200ms', ...opts });
  managers.push(m);
  return m;
}

const shardPath = (r: number, i: number, dir = dataDir): string => join(dir, `replica-${r}`, `shard-${i}`);
const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;
const pidsOf = (r: number, i: number, dir = dataDir): ShardPids => readJson<ShardPids>(join(shardPath(r, i, dir), 'pids.json'));
const portsOf = (r: number, i: number, dir = dataDir): ShardPorts => readJson<ShardPorts>(join(shardPath(r, i, dir), 'ports.json'));

async function allReady(m: LocalShardManager, shards: number, replicas = 1): Promise<void> {
  await waitFor(`${replicas}×${shards} ready shards`, async () => {
    const l = await m.list();
    return l.length === replicas && l.every((row) => row.length === shards && row.every((s) => s.ready));
  }, 40_000, 200);
}

async function answers(url: string): Promise<boolean> {
  return (await fetch(url, { signal: AbortSignal.timeout(1000) }).catch(() => null))?.ok ?? false;
}

/** Everything still running whose command line mentions `dir` (the failsafe clean-up). */
function processesUnder(dir: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(dir) && pidAlive(Number(e))) out.push(Number(e));
    } catch {
      // gone
    }
  }
  return out;
}

before(async () => {
  root = await tempDir('kvass-local-shards-');
  dataDir = join(root, 'data');
  configFile = join(root, 'prometheus.yml');
  await writeFile(configFile, `global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: demo
    static_configs: [{targets: ['127.0.0.1:1']}]
`);
});

after(async () => {
  await Promise.all(heldPorts.map((close) => close()));
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(managers.map((m) => m.close().catch(() => undefined)));
  // Whatever a failed test left behind.
  for (const pid of processesUnder(root)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  await rm(root, { recursive: true, force: true });
});

test('a process that keeps dying is restarted with back-off (1 s, 2 s, …); one that cannot start too', async () => {
  const spawns: number[] = [];
  const crashing = new WatchedProcess({
    label: 'crasher', command: 'sh', args: ['-c', 'exit 3'], cwd: root, logFile: join(root, 'crasher.log'), log: silentLogger(),
    onPid: (pid) => { if (pid !== null) spawns.push(Date.now()); },
  });
  const missing = new WatchedProcess({
    label: 'missing', command: join(root, 'no-such-binary'), args: [], cwd: root, logFile: join(root, 'missing.log'), log: silentLogger(),
    onPid: () => undefined,
  });
  await crashing.start();
  await missing.start();
  await new Promise((r) => setTimeout(r, 3600));
  await crashing.stop();
  await missing.stop();
  assert.equal(spawns.length, 3, `spawned at ${spawns.map((t) => t - spawns[0]!).join(', ')} ms`);
  const gaps = [spawns[1]! - spawns[0]!, spawns[2]! - spawns[1]!];
  assert.ok(gaps[0]! >= 950 && gaps[0]! < 1600, `first gap ${gaps[0]}`);
  assert.ok(gaps[1]! >= 1950 && gaps[1]! < 2700, `second gap ${gaps[1]}`);
  assert.equal(crashing.restarts, 3);
  assert.ok(missing.restarts >= 2, `missing restarted ${missing.restarts} times`);
  assert.match(readFileSync(join(root, 'crasher.log'), 'utf8'), /=== kvass: starting sh -c exit 3/);
});

let m1: LocalShardManager;

test('restart() spawns the process again with its arguments as they are now; a stop() asked meanwhile wins', async () => {
  let seconds = 30;
  const pids: Array<number | null> = [];
  const sleeper = new WatchedProcess({
    label: 'sleeper', command: 'sleep', args: () => [String(seconds)], cwd: root, logFile: join(root, 'sleeper.log'), log: silentLogger(),
    onPid: (pid) => pids.push(pid),
  });
  await sleeper.restart(); // never started: nothing
  assert.deepEqual(pids, []);
  await sleeper.start();
  const first = sleeper.pid!;
  seconds = 31;
  await sleeper.restart();
  const second = sleeper.pid!;
  assert.ok(!pidAlive(first) && pidAlive(second) && second !== first);
  assert.match(readFileSync(`/proc/${second}/cmdline`, 'utf8'), /^sleep\x0031\x00$/);
  assert.equal(sleeper.restarts, 0, 'a restart asked for is not an unexpected exit');
  const restarting = sleeper.restart();
  await sleeper.stop();
  await restarting;
  assert.equal(sleeper.pid, null);
  assert.ok(!pidAlive(second));
  assert.equal(pids.at(-1), null);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(sleeper.pid, null, 'nothing started after the stop');
});

test('scale 0→2: both shards ready, their sidecars answer runtimeinfo', async () => {
  m1 = manager({ leaveRunningOnClose: true });
  assert.equal(m1.kind, 'local');
  assert.equal(m1.scalable, true);
  assert.equal(m1.replicas(), 1);
  assert.deepEqual(await m1.list(), [[]]);
  await m1.scale(2);
  await allReady(m1, 2);
  const list = await m1.list();
  for (const [i, s] of list[0]!.entries()) {
    const ports = portsOf(0, i);
    assert.deepEqual(s, { replica: 0, id: i, name: `replica-0/shard-${i}`, apiUrl: `http://127.0.0.1:${ports.api}`, prometheusUrl: `http://127.0.0.1:${ports.prometheus}`, ready: true });
    const info = (await (await fetch(`${s.apiUrl}/api/v1/shard/runtimeinfo`)).json()) as { status: string; data: { targets: number; prometheusReady: boolean } };
    assert.equal(info.status, 'success');
    assert.equal(info.data.targets, 0);
    for (const f of ['ports.json', 'pids.json', 'prometheus.yml', 'store', 'tsdb', 'sidecar.log', 'prometheus.log']) assert.ok(existsSync(join(shardPath(0, i), f)), f);
    // The injected config sends scrapes through this shard's proxy port.
    assert.match(readFileSync(join(shardPath(0, i), 'prometheus.yml'), 'utf8'), new RegExp(`proxy_url: "http://127\\.0\\.0\\.1:${ports.proxy}"`));
    const pids = pidsOf(0, i);
    assert.ok(pidAlive(pids.sidecar!) && pidAlive(pids.prometheus!));
  }
  // Six distinct ports.
  assert.equal(new Set([0, 1].flatMap((i) => Object.values(portsOf(0, i)))).size, 6);
});

test('a Prometheus killed with SIGKILL is restarted on the same port', async () => {
  const before = pidsOf(0, 1);
  const ports = portsOf(0, 1);
  process.kill(before.prometheus!, 'SIGKILL');
  const after = await waitFor('a new prometheus', async () => {
    const p = pidsOf(0, 1);
    return p.prometheus !== null && p.prometheus !== before.prometheus && (await answers(`http://127.0.0.1:${ports.prometheus}/-/ready`)) ? p : undefined;
  }, 30_000, 100);
  assert.equal(after.sidecar, before.sidecar, 'the sidecar was left alone');
  assert.deepEqual(portsOf(0, 1), ports);
  assert.ok(readFileSync(`/proc/${after.prometheus}/cmdline`, 'utf8').split('\0').includes(`--web.listen-address=127.0.0.1:${ports.prometheus}`));
  await allReady(m1, 2);
});

test('scale 2→1 stops the highest ordinal and deletes its folder', async () => {
  const gone = pidsOf(0, 1);
  const kept = pidsOf(0, 0);
  await m1.scale(1);
  assert.equal(existsSync(shardPath(0, 1)), false);
  assert.ok(!pidAlive(gone.sidecar!) && !pidAlive(gone.prometheus!));
  assert.deepEqual(pidsOf(0, 0), kept);
  const list = await m1.list();
  assert.deepEqual(list.map((row) => row.map((s) => [s.id, s.ready])), [[[0, true]]]);
});

let beforeCrash: ShardPids[] = [];

test('a coordinator killed with SIGKILL leaves its shards running; a new manager adopts them (same pids)', async () => {
  const shard0 = pidsOf(0, 0);
  await m1.close(); // leaveRunningOnClose: still running
  assert.ok(pidAlive(shard0.sidecar!) && pidAlive(shard0.prometheus!));

  // A coordinator in its own process: it adopts shard 0, starts shard 1, is killed with SIGKILL.
  const mod = pathToFileURL(join(repoRoot(), 'dist', 'src', 'shard', 'local.js')).href;
  const logger = pathToFileURL(join(repoRoot(), 'dist', 'src', 'logger.js')).href;
  const code = `import { LocalShardManager } from ${JSON.stringify(mod)};
import { silentLogger } from ${JSON.stringify(logger)};
const m = new LocalShardManager({ dataDir: ${JSON.stringify(dataDir)}, configFile: ${JSON.stringify(configFile)}, log: silentLogger(), scrapeReloadDebounce: '200ms' });
await m.scale(2);
for (;;) {
  const l = await m.list();
  if (l[0].length === 2 && l[0].every((s) => s.ready)) break;
  await new Promise((r) => setTimeout(r, 100));
}
process.stdout.write(JSON.stringify(await m.pids()) + '\\n');
setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const pids = await waitFor('the coordinator process to have 2 ready shards', async () => {
    if (child.exitCode !== null) throw new Error(`coordinator exited ${child.exitCode}: ${err}`);
    return out.includes('\n') ? (JSON.parse(out) as ShardPids[][]) : undefined;
  }, 40_000, 100);
  assert.deepEqual(pids[0]![0], shard0, 'the coordinator adopted shard 0 without restarting it');
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  beforeCrash = pids[0]!;
  await new Promise((r) => setTimeout(r, 500));
  for (const p of beforeCrash) assert.ok(pidAlive(p.sidecar!) && pidAlive(p.prometheus!), 'shards outlive a killed coordinator');

  const m2 = manager();
  await allReady(m2, 2);
  assert.deepEqual((await m2.pids())[0], beforeCrash);
  // Nothing restarts behind our back.
  await new Promise((r) => setTimeout(r, 1500));
  assert.deepEqual([pidsOf(0, 0), pidsOf(0, 1)], beforeCrash);
  for (const p of beforeCrash) assert.ok(pidAlive(p.sidecar!) && pidAlive(p.prometheus!));
});

test('adopted processes are watched: a killed one is restarted on the same port', async () => {
  const m2 = managers.at(-1)!;
  const ports = portsOf(0, 0);
  process.kill(beforeCrash[0]!.sidecar!, 'SIGKILL');
  const now = await waitFor('a new sidecar', async () => {
    const p = pidsOf(0, 0);
    return p.sidecar !== null && p.sidecar !== beforeCrash[0]!.sidecar && (await answers(`http://127.0.0.1:${ports.api}/-/ready`)) ? p : undefined;
  }, 30_000, 100);
  assert.equal(now.prometheus, beforeCrash[0]!.prometheus);
  await allReady(m2, 2);
});

test('close() stops everything', async () => {
  const m2 = managers.at(-1)!;
  const all = (await m2.pids()).flat().flatMap((p) => [p.sidecar!, p.prometheus!]);
  const urls = (await m2.list()).flat().flatMap((s) => [s.apiUrl, s.prometheusUrl]);
  assert.equal(all.length, 4);
  await m2.close();
  for (const pid of all) assert.ok(!pidAlive(pid), `pid ${pid} still runs`);
  for (const u of urls) assert.equal(await answers(`${u}/-/ready`), false, u);
  assert.deepEqual(processesUnder(dataDir), []);
});

test('replicas: one replica label each; fewer replicas after a restart; without deleteData folders stay and are reused', async () => {
  const dir = join(root, 'replicated');
  const m = manager({ dataDir: dir, replicas: 2, replicaLabel: 'kvass_replica', deleteData: false, leaveRunningOnClose: true });
  assert.equal(m.replicas(), 2);
  await m.scale(1);
  await allReady(m, 1, 2);
  const list = await m.list();
  assert.deepEqual(list.map((row) => row.map((s) => s.name)), [['replica-0/shard-0'], ['replica-1/shard-0']]);
  for (const [r, row] of list.entries()) {
    const cfg = (await (await fetch(`${row[0]!.apiUrl}/api/v1/status/config`)).json()) as { data: { yaml: string } };
    assert.match(cfg.data.yaml, new RegExp(`kvass_replica: "?${r}"?`));
    // And Prometheus itself carries it.
    const prom = (await (await fetch(`${row[0]!.prometheusUrl}/api/v1/status/config`)).json()) as { data: { yaml: string } };
    assert.match(prom.data.yaml, new RegExp(`kvass_replica: "${r}"`));
  }
  const [r0, r1] = [pidsOf(0, 0, dir), pidsOf(1, 0, dir)];
  await m.close();

  // Restarted with one replica: replica 0 is adopted, replica 1 is stopped (its folder kept: no deleteData).
  const one = manager({ dataDir: dir, replicas: 1, deleteData: false });
  await allReady(one, 1);
  assert.deepEqual(pidsOf(0, 0, dir), r0);
  assert.ok(!pidAlive(r1.sidecar!) && !pidAlive(r1.prometheus!));
  assert.ok(existsSync(join(shardPath(1, 0, dir), 'removed')));

  // Scale to 0: stopped, data kept, marked removed; a new manager does not bring it back.
  await one.scale(0);
  assert.deepEqual(await one.list(), [[]]);
  assert.ok(!pidAlive(r0.sidecar!) && !pidAlive(r0.prometheus!));
  assert.ok(existsSync(join(shardPath(0, 0, dir), 'tsdb')), 'data kept');
  assert.ok(existsSync(join(shardPath(0, 0, dir), 'removed')));
  await one.close();
  const again = manager({ dataDir: dir, replicas: 2, deleteData: false });
  assert.deepEqual(await again.list(), [[], []]);

  // Scaling up again reuses the folders and their ports (TSDB kept, marker gone).
  const ports = portsOf(0, 0, dir);
  await again.scale(1);
  await allReady(again, 1, 2);
  assert.deepEqual(portsOf(0, 0, dir), ports);
  assert.ok(!existsSync(join(shardPath(0, 0, dir), 'removed')));
  await again.close();
  assert.deepEqual(processesUnder(dir), []);
});

/** A port held by this test (helpers/ports.ts), closed at the latest after the tests. */
async function holdPort(port = 0): Promise<HeldPort> {
  const held = await holdAnyPort(port);
  heldPorts.push(held.close);
  return held;
}

test('ports another process holds are chosen anew as a shard\'s process starts: ports.json, the URLs, the injected config and the sidecar follow', async () => {
  const dir = join(root, 'taken');
  const heldProxy = await holdPort();
  const heldProm = await holdPort();
  const freeApi = await holdPort();
  await freeApi.close();
  await mkdir(shardPath(0, 0, dir), { recursive: true });
  await writeFile(join(shardPath(0, 0, dir), 'ports.json'), JSON.stringify({ proxy: heldProxy.port, api: freeApi.port, prometheus: heldProm.port }));
  const m = manager({ dataDir: dir });
  await allReady(m, 1);

  // Taken before the start: the proxy's and Prometheus's ports move, the free one stays.
  const moved = portsOf(0, 0, dir);
  assert.equal(moved.api, freeApi.port);
  assert.notEqual(moved.proxy, heldProxy.port);
  assert.notEqual(moved.prometheus, heldProm.port);
  const followsPorts = async (p: ShardPorts): Promise<void> => {
    const [s] = (await m.list())[0]!;
    assert.equal(s!.apiUrl, `http://127.0.0.1:${p.api}`);
    assert.equal(s!.prometheusUrl, `http://127.0.0.1:${p.prometheus}`);
    assert.match(readFileSync(join(shardPath(0, 0, dir), 'prometheus.yml'), 'utf8'), new RegExp(`proxy_url: "http://127\\.0\\.0\\.1:${p.proxy}"`));
    // Prometheus loaded the injected config that names the new proxy port.
    await waitFor('Prometheus to load the config that names the new proxy port', async () => {
      const res = await fetch(`${s!.prometheusUrl}/api/v1/status/config`, { signal: AbortSignal.timeout(2000) }).catch(() => null);
      return res?.ok && ((await res.json()) as { data: { yaml: string } }).data.yaml.includes(`proxy_url: http://127.0.0.1:${p.proxy}`);
    }, 20_000, 200);
    // The sidecar reads its Prometheus at the new port.
    const sidecar = pidsOf(0, 0, dir).sidecar!;
    assert.ok(readFileSync(`/proc/${sidecar}/cmdline`, 'utf8').split('\0').includes(`--prometheus.url=http://127.0.0.1:${p.prometheus}`));
    await waitFor('the sidecar to see its Prometheus ready', async () => {
      const res = await fetch(`${s!.apiUrl}/api/v1/shard/runtimeinfo`, { signal: AbortSignal.timeout(2000) }).catch(() => null);
      return res?.ok && ((await res.json()) as { data: { prometheusReady: boolean } }).data.prometheusReady;
    }, 20_000, 200);
  };
  await followsPorts(moved);

  // Taken while the shard runs (a Prometheus killed, its port taken before its restart): it moves too.
  const { held } = await killAndTakePort('Prometheus', () => pidsOf(0, 0, dir).prometheus, () => moved.prometheus);
  heldPorts.push(held.close);
  await waitFor('a Prometheus on a new port', async () => {
    const p = portsOf(0, 0, dir);
    return p.prometheus !== moved.prometheus && (await answers(`http://127.0.0.1:${p.prometheus}/-/ready`));
  }, 30_000, 100);
  await allReady(m, 1);
  const again = portsOf(0, 0, dir);
  assert.deepEqual({ ...again, prometheus: 0 }, { ...moved, prometheus: 0 });
  await followsPorts(again);
});
