#!/usr/bin/env node
/**
 * `kvass targets` against `promtool check service-discovery` (Prometheus 2.42) on the same Kubernetes-pod-shaped
 * targets (issue 16): N targets (KVASS_TARGETS_N, 100,000 by default) of ≈40 labels each, generated exactly as
 * bench/targets.bench.ts generates them, written to a file_sd JSON file, relabeled by that bench's 10-rule
 * PIPELINE. Each tool runs KVASS_TARGETS_RUNS times (3) with its output to /dev/null; user+sys CPU and peak RSS of
 * each child come from GNU time. The medians and the kvass/promtool ratios are printed (goal ≤ 0.25).
 *
 * Both must do the same work: discover every target, populate (relabel) it, and print discovered and final
 * labels of every target. promtool prints one JSON array of {discoveredLabels, labels}; kvass is run with
 * --output=json (the /api/v1/targets data: discovered and final labels, active and dropped). One extra,
 * unmeasured run of each writes to a file, and the numbers of kept and dropped targets are compared.
 *
 * Run after `npm run build`: node scripts/targets-vs-promtool.mjs
 * Environment: KVASS_TARGETS_N, KVASS_TARGETS_RUNS, PROMTOOL (default /usr/bin/promtool or promtool on PATH),
 * KVASS_PROMTOOL_TIMEOUT (promtool's --timeout, 60s: promtool waits that long whatever happens, then processes
 * what discovery sent by then; on a busy machine reading the file took over 20 s, and a run that times out first
 * has nothing to process and looks cheap, so measured runs whose peak RSS falls far below the checked run's are
 * reported as suspect), KVASS_BASELINE_BIN (another kvass launcher, e.g. an older build, measured alongside).
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, closeSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const benchModule = join(repo, 'dist/bench/targets.bench.js');
if (!existsSync(benchModule)) {
  console.error('dist/bench/targets.bench.js is missing: run `npm run build` first');
  process.exit(1);
}
const { PIPELINE, podTarget } = await import(benchModule);

const N = Number(process.env.KVASS_TARGETS_N ?? 100_000);
const RUNS = Number(process.env.KVASS_TARGETS_RUNS ?? 3);
const PROMTOOL = process.env.PROMTOOL ?? (existsSync('/usr/bin/promtool') ? '/usr/bin/promtool' : 'promtool');
const PROMTOOL_TIMEOUT = process.env.KVASS_PROMTOOL_TIMEOUT ?? '60s';
const BASELINE = process.env.KVASS_BASELINE_BIN;
const TIME = '/usr/bin/time';
const JOB = 'kubernetes-pods';
if (!existsSync(TIME)) {
  console.error('GNU time (/usr/bin/time) is needed to measure the children: apt-get install time');
  process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), 'kvass-vs-promtool-'));
const sdFile = join(dir, 'pods.json');
const configFile = join(dir, 'prometheus.yml');

/**
 * file_sd has one address per target and labels per group, so each pod is one group: its address as the target,
 * every other label (the pod's and its container's) on the group. Written piecewise: one string of the whole
 * file would be ≈200 MB.
 */
function writeTargets() {
  const fd = openSync(sdFile, 'w');
  let buf = '[';
  for (let i = 0; i < N; i++) {
    const { __address__, ...labels } = podTarget(i);
    buf += (i ? ',\n' : '\n') + JSON.stringify({ targets: [__address__], labels });
    if (buf.length > 1 << 20) {
      writeSync(fd, buf);
      buf = '';
    }
  }
  writeSync(fd, buf + '\n]\n');
  closeSync(fd);
}

function writeConfig() {
  // The bench's job, with file_sd_configs added under its job_name line.
  const yml = PIPELINE.replace(`- job_name: ${JOB}\n`, `- job_name: ${JOB}\n    file_sd_configs:\n      - files: [${JSON.stringify(sdFile)}]\n`);
  if (yml === PIPELINE) throw new Error('could not add file_sd_configs to the PIPELINE');
  writeFileSync(configFile, yml);
}

const commands = {
  promtool: [PROMTOOL, 'check', 'service-discovery', `--timeout=${PROMTOOL_TIMEOUT}`, configFile, JOB],
  kvass: [join(repo, 'bin/kvass'), 'targets', `--config.file=${configFile}`, '--output=json', '--sd.init-timeout=120s'],
};
if (BASELINE) commands.baseline = [BASELINE, ...commands.kvass.slice(1)];
const tools = Object.keys(commands);

/** Runs one command under GNU time with stdout to `out`; returns CPU seconds (user+sys), peak RSS (MiB), wall seconds. */
function measure(cmd, out) {
  const timeFile = join(dir, 'time.txt');
  const fd = openSync(out, 'w');
  const t0 = process.hrtime.bigint();
  const r = spawnSync(TIME, ['-o', timeFile, '-f', '%U %S %M', ...cmd], { stdio: ['ignore', fd, 'pipe'], maxBuffer: 64 << 20 });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  closeSync(fd);
  if (r.status !== 0) throw new Error(`${cmd.join(' ')} exited with ${r.status}: ${r.stderr.toString().slice(-2000)}`);
  const [user, sys, maxKb] = readFileSync(timeFile, 'utf8').trim().split('\n').at(-1).split(' ').map(Number);
  return { cpu: user + sys, user, sys, rssMiB: maxKb / 1024, wall };
}

/** Counts kept and dropped targets in each tool's output by its fixed JSON layout (newlines in values are escaped). */
async function count(file, tool) {
  const c = { kept: 0, dropped: 0, failed: 0 };
  let inDropped = false;
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    if (tool === 'promtool') {
      // [{"discoveredLabels": {…}, "labels": {…} or {} when dropped, "error": "…" when refused}, …]
      if (line === '    "labels": {') c.kept++;
      else if (line === '    "labels": {}') c.dropped++;
      else if (line.startsWith('    "error": ')) c.failed++;
    } else {
      // {"activeTargets": [{…, "scrapePool": …}], "droppedTargets": [{"discoveredLabels": {…}}]}
      if (line === '  "droppedTargets": [') inDropped = true;
      else if (line === '      "scrapePool": "kubernetes-pods",') c.kept++;
      else if (inDropped && line === '      "discoveredLabels": {') c.dropped++;
    }
  }
  return c;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const t0 = Date.now();
writeTargets();
writeConfig();
console.log(`${N.toLocaleString('en')} pod targets in ${sdFile} (${(readFileSync(sdFile).length / 2 ** 20).toFixed(0)} MiB), written in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
console.log(`promtool: ${(({ stdout, stderr }) => (stdout || stderr).split('\n')[0])(spawnSync(PROMTOOL, ['--version'], { encoding: 'utf8' })) || '(version unknown)'}`);
console.log(`node: ${process.version}`);

try {
  // Agreement first (outputs kept on disk), so a mismatch is known before minutes of measuring.
  const counts = {};
  const checked = {};
  for (const tool of tools) {
    const out = join(dir, `${tool}.out`);
    checked[tool] = measure(commands[tool], out);
    counts[tool] = await count(out, tool === 'promtool' ? 'promtool' : 'kvass');
    rmSync(out);
  }
  console.log(`kept/dropped/failed: ${tools.map((t) => `${t} ${counts[t].kept}/${counts[t].dropped}/${counts[t].failed}`).join(', ')}`);
  let agree = counts.promtool.kept > 0 && tools.every((t) => counts[t].kept === counts.promtool.kept && counts[t].dropped === counts.promtool.dropped);
  if (!agree) console.log('MISMATCH: the tools disagree on the targets (is --timeout long enough for promtool?)');

  const results = Object.fromEntries(tools.map((t) => [t, []]));
  for (let run = 0; run < RUNS; run++) {
    // Alternate, so that a noisy neighbour on a shared machine hits every tool.
    for (const tool of tools) {
      const r = measure(commands[tool], '/dev/null');
      results[tool].push(r);
      console.log(`run ${run + 1} ${tool.padEnd(8)} cpu ${r.cpu.toFixed(2)} s (user ${r.user.toFixed(2)}, sys ${r.sys.toFixed(2)})  peak RSS ${r.rssMiB.toFixed(0)} MiB  wall ${r.wall.toFixed(1)} s`);
      if (r.rssMiB < 0.6 * checked[tool].rssMiB) {
        console.log(`  SUSPECT: far less memory than the checked run (${checked[tool].rssMiB.toFixed(0)} MiB): did discovery finish within --timeout?`);
        agree = false;
      }
    }
  }
  const med = (tool, key) => median(results[tool].map((r) => r[key]));
  const p = { cpu: med('promtool', 'cpu'), rss: med('promtool', 'rssMiB') };
  const k = { cpu: med('kvass', 'cpu'), rss: med('kvass', 'rssMiB') };
  console.log(`\nmedian of ${RUNS} runs, ${N.toLocaleString('en')} targets`);
  console.log(`promtool  cpu ${p.cpu.toFixed(2)} s  peak RSS ${p.rss.toFixed(0)} MiB`);
  console.log(`kvass     cpu ${k.cpu.toFixed(2)} s  peak RSS ${k.rss.toFixed(0)} MiB`);
  console.log(`ratio kvass/promtool: cpu ${(k.cpu / p.cpu).toFixed(3)}×  peak RSS ${(k.rss / p.rss).toFixed(3)}×  (goal ≤ 0.25×)`);
  if (BASELINE) {
    const b = { cpu: med('baseline', 'cpu'), rss: med('baseline', 'rssMiB') };
    console.log(`baseline  cpu ${b.cpu.toFixed(2)} s  peak RSS ${b.rss.toFixed(0)} MiB  (${BASELINE})`);
    console.log(`ratio baseline/promtool: cpu ${(b.cpu / p.cpu).toFixed(3)}×  peak RSS ${(b.rss / p.rss).toFixed(3)}×`);
  }
  process.exitCode = agree ? 0 : 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
