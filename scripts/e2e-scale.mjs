#!/usr/bin/env node
// End to end at scale with real processes (issue 16): one `kvass fake-targets --mode=paths` serving every target on
// one port (target i at /t/<i>/metrics), a prometheus.yml whose one job reads them from a file_sd file, and
// `kvass up` with a fixed shard count (real `prometheus` + `kvass sidecar` per shard). Once every target is placed
// and scraped, it measures over a window: the coordinator's CPU per cycle, each sidecar's CPU per proxied scrape,
// the RSS of every sidecar and of every shard's Prometheus; then it appends targets to the file_sd file and times
// how long until the shards scrape them. Prints JSON and a table. Everything runs in a temp folder under
// os.tmpdir(), and every process it started is stopped on the way out (also on failure and on Ctrl-C).
//
// Run after `npm run build`: `node scripts/e2e-scale.mjs`. Settings (environment):
//   KVASS_E2E_TARGETS=20000   file_sd targets                KVASS_E2E_SHARDS=4        shards (min = max)
//   KVASS_E2E_SERIES=30       series per target              KVASS_E2E_INTERVAL=15s    scrape interval
//   KVASS_E2E_CYCLE=10s       --coordinator.interval         KVASS_E2E_WINDOW_S=120    measurement window
//   KVASS_E2E_APPEND=100      targets appended               KVASS_E2E_SETTLE_TIMEOUT_S=900
//   KVASS_E2E_OUT=FILE        also write the JSON there      KVASS_E2E_KEEP=1          keep the temp folder
//   KVASS_E2E_PROFILE_DIR=DIR a CPU profile of the `kvass up` process (node --cpu-prof), written there when it exits
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const kvass = path.join(root, 'bin', 'kvass');
const env = (name, dflt) => process.env[name] ?? dflt;
const int = (name, dflt, min) => {
  const v = Number(env(name, String(dflt)));
  if (!Number.isSafeInteger(v) || v < min) throw new Error(`${name} must be an integer ≥ ${min}`);
  return v;
};
const TARGETS = int('KVASS_E2E_TARGETS', 20_000, 1);
const SHARDS = int('KVASS_E2E_SHARDS', 4, 1);
const SERIES = int('KVASS_E2E_SERIES', 30, 1);
const APPEND = int('KVASS_E2E_APPEND', 100, 1);
const WINDOW_S = int('KVASS_E2E_WINDOW_S', 120, 10);
const SETTLE_TIMEOUT_S = int('KVASS_E2E_SETTLE_TIMEOUT_S', 900, 30);
const INTERVAL = env('KVASS_E2E_INTERVAL', '15s');
const CYCLE = env('KVASS_E2E_CYCLE', '10s');
const seconds = (d) => {
  const m = /^(\d+)(ms|s|m)$/.exec(d);
  if (!m) throw new Error(`not a simple duration: ${d}`);
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60 }[m[2]];
};
const intervalS = seconds(INTERVAL);
const cycleS = seconds(CYCLE);
// Each target holds SERIES + 5 head series (up, scrape_*). The budget leaves 10% headroom over an even split of
// everything (appended targets included), so fewer shards could not hold it and --shard.min-shard/max-shard fix
// the count at SHARDS anyway.
const BUDGET = Math.ceil(((TARGETS + APPEND) * (SERIES + 5)) / SHARDS / 0.9);
const CLK_TCK = 100; // Linux's USER_HZ for /proc/<pid>/stat on every mainstream architecture

const dir = mkdtempSync(path.join(os.tmpdir(), 'kvass-e2e-'));
const dataDir = path.join(dir, 'data');
const sdFile = path.join(dir, 'targets.json');
const configFile = path.join(dir, 'prometheus.yml');
const children = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (msg) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

// ---- processes -------------------------------------------------------------------------------------------------

function start(args, label, nodeArgs = []) {
  // With node options, the CLI is run by node directly (bin/kvass is a shell launcher; --cpu-prof is not allowed in NODE_OPTIONS).
  const p = nodeArgs.length === 0 ? spawn(kvass, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, [...nodeArgs, path.join(root, 'dist', 'src', 'cli', 'main.js'), ...args], {
      cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072', ...process.env },
    });
  p.label = label;
  p.output = '';
  p.stdout.on('data', (c) => { if (p.output.length < 1 << 20) p.output += c; });
  // stderr is the JSON log: kept short in memory, the tail is shown if the run fails.
  p.errTail = '';
  p.stderr.on('data', (c) => { p.errTail = (p.errTail + c).slice(-4000); });
  p.on('exit', (code, sig) => { if (!stopping) log(`${label} exited (${code ?? sig})`); });
  children.push(p);
  return p;
}

/** Every live process whose command line names our temp folder: shards and querier of `kvass up`, by pid. */
function ourPids() {
  const out = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(dir)) out.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

let stopping = false;
async function cleanup() {
  if (stopping) return;
  stopping = true;
  // `kvass up` stops its shards and querier on SIGTERM; fake-targets stops at once.
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && (children.some((c) => c.exitCode === null && c.signalCode === null) || ourPids().some(alive))) await sleep(200);
  // Whatever is left (a shard that did not stop in time, or a run interrupted while starting): by pid.
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const pid of ourPids()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  if (process.env.KVASS_E2E_KEEP) log(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => { log(`${s}: cleaning up`); cleanup().finally(() => process.exit(130)); });

// ---- reading processes and APIs --------------------------------------------------------------------------------

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}
/** utime + stime of `pid` in seconds (fields 14 and 15 of /proc/<pid>/stat, after the parenthesised name). */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}
function memStatus(pid) {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}
async function get(url, timeoutMs = 10_000) {
  const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!r.ok) throw new Error(`GET ${url}: ${r.status}`);
  return r.text();
}
async function promQuery(base, q, timeoutMs = 10_000) {
  const j = JSON.parse(await get(`${base}/api/v1/query?query=${encodeURIComponent(q)}`, timeoutMs));
  if (j.status !== 'success') throw new Error(`${q}: ${j.error}`);
  return j.data.result;
}
/** Sum of every sample of `name` (any labels) in a text exposition. */
function metricSum(text, name, labelFilter = () => true) {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)/.exec(line);
    if (m && m[1] === name && labelFilter(m[2] ?? '')) sum += Number(m[3]);
  }
  return sum;
}

/** The local shards of `kvass up`: ports.json and pids.json of every `replica-0/shard-<i>`. */
function shards() {
  const base = path.join(dataDir, 'replica-0');
  if (!existsSync(base)) return [];
  return readdirSync(base).filter((d) => /^shard-\d+$/.test(d)).sort((a, b) => Number(a.slice(6)) - Number(b.slice(6))).flatMap((d) => {
    try {
      const ports = JSON.parse(readFileSync(path.join(base, d, 'ports.json'), 'utf8'));
      const pids = JSON.parse(readFileSync(path.join(base, d, 'pids.json'), 'utf8'));
      return [{ name: d, prometheus: `http://127.0.0.1:${ports.prometheus}`, sidecar: `http://127.0.0.1:${ports.api}`, pids }];
    } catch {
      return []; // being written
    }
  });
}

// ---- the run ---------------------------------------------------------------------------------------------------

function targetGroup(addr, i, batch) {
  // One group per target: __metrics_path__ picks the target on the one port, instance keeps their series apart.
  return { targets: [addr], labels: { __metrics_path__: `/t/${i}/metrics`, instance: `fake-${i}`, batch } };
}
function writeTargets(groups) {
  // Written aside and renamed: file discovery never reads half a file.
  const tmp = `${sdFile}.tmp`;
  writeFileSync(tmp, JSON.stringify(groups));
  renameSync(tmp, sdFile);
}

async function main() {
  log(`temp folder ${dir}; ${TARGETS} targets × ${SERIES} series, ${SHARDS} shards, budget ${BUDGET} series/shard, scrape every ${INTERVAL}, cycle every ${CYCLE}`);
  const fake = start(['fake-targets', '--mode=paths', `--targets=${TARGETS + APPEND}`, `--series=${SERIES}`, '--listen=127.0.0.1:0'], 'fake-targets');
  let addr;
  for (let i = 0; !(addr = fake.output.split('\n')[0]?.trim()); i++) {
    if (fake.exitCode !== null || i > 200) throw new Error(`fake-targets did not start: ${fake.errTail}`);
    await sleep(100);
  }
  const groups = Array.from({ length: TARGETS }, (_, i) => targetGroup(addr, i, 'initial'));
  writeTargets(groups);
  writeFileSync(configFile, [
    'global:',
    `  scrape_interval: ${INTERVAL}`,
    `  scrape_timeout: ${Math.min(10, intervalS)}s`,
    'scrape_configs:',
    '  - job_name: e2e',
    '    file_sd_configs:',
    `      - files: [${JSON.stringify(sdFile)}]`,
    '',
  ].join('\n'));

  const port = await freePort();
  const front = `http://127.0.0.1:${port}`;
  const t0 = Date.now();
  // Reads (the coordinator API, /metrics, the shards' Prometheus) are open; kvass up makes <data-dir>/token for its
  // own control calls to the sidecars, and this script makes none.
  const up = start(['up', `--config.file=${configFile}`, `--data-dir=${dataDir}`, `--web.listen-address=127.0.0.1:${port}`,
    `--shard.max-series=${BUDGET}`, `--shard.min-shard=${SHARDS}`, `--shard.max-shard=${SHARDS}`, `--coordinator.interval=${CYCLE}`,
    '--log.level=warn'], 'kvass-up', process.env.KVASS_E2E_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.KVASS_E2E_PROFILE_DIR)}`] : []);

  // Settled: SHARDS shards, every target assigned and none in transfer, and every target scraped at least once by
  // its shard (its `up` series exists). Whether the scrapes succeed is measured, not waited for: on a machine too
  // small for the scrape rate they time out, and that is a result.
  let settledAt = null;
  let last = '';
  const upCount = (base, q) => promQuery(base, q, 5000).then((r) => Number(r[0]?.value[1] ?? 0), () => NaN);
  while (settledAt === null) {
    if (up.exitCode !== null) throw new Error(`kvass up exited ${up.exitCode}: ${up.errTail}`);
    if (Date.now() - t0 > SETTLE_TIMEOUT_S * 1000) throw new Error(`not settled after ${SETTLE_TIMEOUT_S} s (${last})`);
    await sleep(2000);
    try {
      const m = await get(`${front}/metrics`);
      const state = (s) => metricSum(m, 'kvass_coordinator_targets_by_state', (l) => l.includes(`state="${s}"`));
      const sh = shards();
      const seen = await Promise.all(sh.map((s) => upCount(s.prometheus, 'count(up{job="e2e"})')));
      const ok = await Promise.all(sh.map((s) => upCount(s.prometheus, 'count(up{job="e2e"} == 1)')));
      const scraped = seen.reduce((a, b) => a + b, 0);
      const now = `${sh.length} shards, assigned ${state('assigned')}, in transfer ${state('in_transfer')}, unassigned ${state('unassigned')}, scraped once ${scraped} [${seen.join(' ')}], up now [${ok.join(' ')}]`;
      if (now !== last) log(`${((Date.now() - t0) / 1000).toFixed(0)} s: ${now}`);
      last = now;
      if (sh.length === SHARDS && state('assigned') === TARGETS && state('in_transfer') === 0 && scraped === TARGETS) settledAt = Date.now();
    } catch (e) {
      last = `not answering yet: ${e.message}`;
    }
  }
  const startup = (settledAt - t0) / 1000;
  log(`settled after ${startup.toFixed(0)} s; two more cycles before measuring`);
  await sleep(2 * cycleS * 1000);

  // ---- steady state over a window ----
  const sh = shards();
  const upPid = up.pid; // bin/kvass execs node: the coordinator is this pid
  const sample = async () => ({
    at: Date.now(),
    upCpu: cpuSeconds(upPid),
    cycles: metricSum(await get(`${front}/metrics`), 'kvass_coordinator_cycles_total'),
    shards: await Promise.all(sh.map(async (s) => ({
      sidecarCpu: cpuSeconds(s.pids.sidecar),
      prometheusCpu: cpuSeconds(s.pids.prometheus),
      ...await get(`${s.sidecar}/metrics`).then((m) => ({
        proxied: metricSum(m, 'kvass_sidecar_proxied_scrapes_total'),
        proxiedErrors: metricSum(m, 'kvass_sidecar_proxied_scrapes_total', (l) => l.includes('result="error"')),
      })),
      upNow: await upCount(s.prometheus, 'count(up{job="e2e"} == 1)'),
      targets: await upCount(s.prometheus, 'count(up{job="e2e"})'),
      promScrapes: metricSum(await get(`${s.prometheus}/metrics`), 'prometheus_target_interval_length_seconds_count'),
    }))),
  });
  log(`measuring for ${WINDOW_S} s`);
  const a = await sample();
  await sleep(WINDOW_S * 1000);
  const b = await sample();
  const windowS = (b.at - a.at) / 1000;
  const cycles = b.cycles - a.cycles;
  const coordinator = {
    pid: upPid,
    cycles,
    cpuSeconds: round(b.upCpu - a.upCpu, 2),
    cpuMsPerCycle: cycles > 0 ? round(((b.upCpu - a.upCpu) * 1000) / cycles, 1) : null,
    cpuCoreShare: round((b.upCpu - a.upCpu) / windowS, 3),
    ...mib(memStatus(upPid)),
  };
  const shardFigures = sh.map((s, i) => {
    const x = a.shards[i];
    const y = b.shards[i];
    const scrapes = y.proxied - x.proxied;
    return {
      shard: s.name,
      sidecarPid: s.pids.sidecar,
      prometheusPid: s.pids.prometheus,
      targets: y.targets,
      upAtEnd: y.upNow,
      proxiedScrapes: scrapes,
      proxiedErrors: y.proxiedErrors - x.proxiedErrors,
      expectedScrapes: Math.round((y.targets * windowS) / intervalS),
      prometheusScrapes: y.promScrapes - x.promScrapes,
      sidecarCpuSeconds: round(y.sidecarCpu - x.sidecarCpu, 2),
      sidecarCpuMsPerScrape: scrapes > 0 ? round(((y.sidecarCpu - x.sidecarCpu) * 1000) / scrapes, 3) : null,
      prometheusCpuMsPerScrape: scrapes > 0 ? round(((y.prometheusCpu - x.prometheusCpu) * 1000) / scrapes, 3) : null,
      sidecar: mib(memStatus(s.pids.sidecar)),
      prometheus: mib(memStatus(s.pids.prometheus)),
    };
  });
  const fakeMem = mib(memStatus(fake.pid));

  // ---- a file_sd change: APPEND more targets ----
  log(`appending ${APPEND} targets to ${path.basename(sdFile)}`);
  const appended = Array.from({ length: APPEND }, (_, k) => targetGroup(addr, TARGETS + k, 'appended'));
  const changedAt = Date.now();
  writeTargets([...groups, ...appended]);
  const change = { placedAfterS: null, firstSeenAfterS: null, allSeenAfterS: null, firstScrapeAfterS: null, allScrapedAfterS: null, scraped: 0 };
  const limit = changedAt + Math.max(180, 6 * (cycleS + intervalS)) * 1000;
  while (Date.now() < limit) {
    await sleep(250);
    const s = (Date.now() - changedAt) / 1000;
    if (change.placedAfterS === null) {
      const m = await get(`${front}/metrics`).catch(() => '');
      if (metricSum(m, 'kvass_coordinator_targets_by_state', (l) => l.includes('state="assigned"')) === TARGETS + APPEND) change.placedAfterS = round(s, 2);
    }
    const counts = await Promise.all(sh.map((x) => promQuery(x.prometheus, 'count(up{batch="appended"})', 5000).then((r) => Number(r[0]?.value[1] ?? 0), () => 0)));
    const n = counts.reduce((p, q) => p + q, 0);
    if (n > 0 && change.firstSeenAfterS === null) change.firstSeenAfterS = round(s, 2);
    if (n >= APPEND) {
      change.allSeenAfterS = round(s, 2);
      break;
    }
  }
  // Exact times from the samples themselves: a scrape's samples carry its start time, so the oldest `up` sample of
  // each appended target is its first scrape.
  const firsts = [];
  for (const x of sh) {
    const r = await promQuery(x.prometheus, `up{batch="appended"}[30m]`, 20_000);
    for (const series of r) firsts.push(Math.min(...series.values.map((v) => Number(v[0]) * 1000)));
  }
  change.scraped = firsts.length;
  if (firsts.length) {
    change.firstScrapeAfterS = round((Math.min(...firsts) - changedAt) / 1000, 2);
    if (firsts.length >= APPEND) change.allScrapedAfterS = round((Math.max(...firsts) - changedAt) / 1000, 2);
  }

  const result = {
    date: new Date().toISOString(),
    machine: `${os.cpus().length} CPU(s), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}`,
    settings: { targets: TARGETS, seriesPerTarget: SERIES, shards: SHARDS, budgetSeriesPerShard: BUDGET, scrapeInterval: INTERVAL, coordinatorInterval: CYCLE, windowSeconds: round(windowS, 1), appended: APPEND },
    startupSeconds: round(startup, 1),
    coordinator,
    shards: shardFigures,
    fakeTargets: fakeMem,
    fileSdChange: change,
  };
  const json = JSON.stringify(result, null, 2);
  console.log(json);
  if (process.env.KVASS_E2E_OUT) writeFileSync(process.env.KVASS_E2E_OUT, json + '\n');
  console.log(table(result));
}

function round(v, d) {
  const k = 10 ** d;
  return Math.round(v * k) / k;
}
function mib({ rss, hwm }) {
  return { rssMiB: round(rss / 2 ** 20, 1), peakRssMiB: round(hwm / 2 ** 20, 1) };
}
function table(r) {
  const rows = [
    ['startup: kvass up to every target scraped', `${r.startupSeconds} s`],
    [`coordinator CPU per cycle (${r.coordinator.cycles} cycles)`, `${r.coordinator.cpuMsPerCycle} ms (${(r.coordinator.cpuCoreShare * 100).toFixed(1)}% of a core)`],
    ['coordinator (kvass up) RSS', `${r.coordinator.rssMiB} MiB (peak ${r.coordinator.peakRssMiB})`],
  ];
  for (const s of r.shards) {
    rows.push([`${s.shard}: targets, up at the end, scrapes (errors) / expected`, `${s.targets}, ${s.upAtEnd}, ${s.proxiedScrapes} (${s.proxiedErrors}) / ${s.expectedScrapes}`]);
    rows.push([`${s.shard}: sidecar CPU per scrape`, `${s.sidecarCpuMsPerScrape} ms (Prometheus ${s.prometheusCpuMsPerScrape} ms)`]);
    rows.push([`${s.shard}: sidecar RSS / Prometheus RSS`, `${s.sidecar.rssMiB} MiB (peak ${s.sidecar.peakRssMiB}) / ${s.prometheus.rssMiB} MiB (peak ${s.prometheus.peakRssMiB})`]);
  }
  const c = r.fileSdChange;
  rows.push(['fake-targets RSS', `${r.fakeTargets.rssMiB} MiB`]);
  rows.push([`file_sd +${r.settings.appended}: all placed (coordinator)`, `${c.placedAfterS ?? 'not seen'} s`]);
  rows.push([`file_sd +${r.settings.appended}: first of them scraped`, `${c.firstScrapeAfterS ?? 'never'} s`]);
  rows.push([`file_sd +${r.settings.appended}: all ${r.settings.appended} scraped`, c.allScrapedAfterS === null ? `not all (${c.scraped})` : `${c.allScrapedAfterS} s`]);
  const w = Math.max(...rows.map((x) => x[0].length));
  return [`\n${r.date}, ${r.machine}; ${r.settings.targets} targets × ${r.settings.seriesPerTarget} series on ${r.settings.shards} shards, scrape ${r.settings.scrapeInterval}, cycle ${r.settings.coordinatorInterval}`,
    ...rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`)].join('\n');
}

let code = 0;
try {
  await main();
} catch (e) {
  code = 1;
  log(`e2e-scale failed: ${e.stack ?? e}`);
  for (const c of children) if (c.errTail) log(`${c.label} stderr tail:\n${c.errTail}`);
}
await cleanup();
process.exit(code);
