#!/usr/bin/env node
// Regenerates test/corpus/<case>/golden.json from the REAL prometheus binary (2.42).
//
//   node scripts/gen-golden.mjs            # every case
//   node scripts/gen-golden.mjs 03-replace # only the named case folders (name or path)
//
// For each case: start `prometheus --config.file=<case>/prometheus.yml` on a free loopback port with a
// throw-away TSDB (cwd = a temp dir), wait for /-/ready, poll /api/v1/targets?state=any until two
// consecutive reads at least 6 s apart are identical and non-empty (or a timeout), stop it, normalise the
// answer and write <case>/golden.json. Two cases run at a time.
//
// Plain Node ESM on purpose: no build step; the only import outside node: is the project's `yaml`
// dependency. The normaliser must stay identical to test/cli/golden-normalise.ts.
//
// WORKAROUND for a Prometheus 2.42 bug (see test/corpus/README.md): relabel.Process writes its result
// into the memory of its input (labels.Builder.Labels(lset) re-uses lset's array), and that input is the
// target's discovered label set. So /api/v1/targets reports, for many targets, discoveredLabels that
// are some intermediate relabeling state (e.g. __address__ already rewritten, labels missing), depending
// on Go slice capacities. No re-implementation can or should reproduce that. Before starting
// prometheus we therefore copy the config to the temp dir and PREPEND three no-op steps to every
// non-empty relabel_configs:
//   labelmap (.*) → zzzzzz_golden_$1   (twice: the result no longer fits the original array, so Go
//   labelmap (.*) → zzzzzz_golden_$1    allocates a new one; copies sort last, so the original
//   labeldrop zzzzzz_golden_.*          array's visible part is only rewritten with itself)
// They cancel out, so active/dropped targets, labels and URLs are unchanged, and discoveredLabels are
// the real pre-relabeling labels. file_sd `files` are made absolute so they still resolve against the
// case folder. GOLDEN_RAW=1 turns the workaround off (to see the bug).

import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, writeFile, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import YAML from 'yaml';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CORPUS = path.join(ROOT, 'test', 'corpus');
const PROMETHEUS = process.env.PROMETHEUS ?? 'prometheus';
const PARALLEL = Number(process.env.GOLDEN_PARALLEL ?? 2);
const STABLE_GAP_MS = 6_000; // the scrape manager applies target updates every 5 s
const MIN_WAIT_MS = 12_000; // after ready: give file SD and the first reloads time to land
const TIMEOUT_MS = 90_000; // per case, after ready
const RAW = process.env.GOLDEN_RAW === '1';
const INJECT_PREFIX = 'zzzzzz_golden_';

// ---- normaliser (keep identical to test/cli/golden-normalise.ts) ----------------------------------

/** The case folder, as an absolute path, is replaced in label values (file SD's __meta_filepath) by this. */
const CASE_DIR_TOKEN = '$CASE_DIR';

function sortLabels(labels, caseDir) {
  const out = {};
  for (const k of Object.keys(labels ?? {}).sort()) {
    let v = String(labels[k]);
    if (caseDir && (v === caseDir || v.startsWith(caseDir + path.sep))) v = CASE_DIR_TOKEN + v.slice(caseDir.length);
    out[k] = v;
  }
  return out;
}

function byJson(a, b) {
  const x = JSON.stringify(a);
  const y = JSON.stringify(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** `data` of /api/v1/targets?state=any → the comparable subset, deterministic order. */
export function normalise(data, caseDir) {
  const activeTargets = (data?.activeTargets ?? []).map((t) => ({
    discoveredLabels: sortLabels(t.discoveredLabels, caseDir),
    labels: sortLabels(t.labels, caseDir),
    scrapePool: t.scrapePool,
    scrapeUrl: t.scrapeUrl,
    scrapeInterval: t.scrapeInterval,
    scrapeTimeout: t.scrapeTimeout,
  }));
  const droppedTargets = (data?.droppedTargets ?? []).map((t) => ({
    discoveredLabels: sortLabels(t.discoveredLabels, caseDir),
  }));
  activeTargets.sort(byJson);
  droppedTargets.sort(byJson);
  return { activeTargets, droppedTargets };
}

// ---- helpers -------------------------------------------------------------------------------------

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function getJson(url) {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.json();
}

async function isReady(base) {
  try {
    const res = await fetch(`${base}/-/ready`, { signal: AbortSignal.timeout(2_000) });
    return res.ok;
  } catch {
    return false;
  }
}

/** Job names of the config, read loosely (no YAML dependency): `- job_name: x` lines. For progress only. */
async function jobNames(configFile) {
  const text = await readFile(configFile, 'utf8');
  return [...text.matchAll(/^\s*-?\s*job_name:\s*['"]?([^'"\s#]+)['"]?/gm)].map((m) => m[1]);
}

function log(caseName, msg) {
  const t = new Date().toISOString().slice(11, 19);
  console.log(`[${t}] ${caseName}: ${msg}`);
}

// ---- config preparation (the 2.42 discoveredLabels workaround, see the header) --------------------

const YAML_OPTS = { intAsBigInt: true, uniqueKeys: true };

function injectedSteps() {
  return [
    { action: 'labelmap', regex: '(.*)', replacement: `${INJECT_PREFIX}$1` },
    { action: 'labelmap', regex: '(.*)', replacement: `${INJECT_PREFIX}$1` },
    { action: 'labeldrop', regex: `${INJECT_PREFIX}.*` },
  ];
}

/** Returns the text of the config prometheus should run, written next to nothing in the case folder. */
async function prepareConfig(caseDir) {
  const configFile = path.join(caseDir, 'prometheus.yml');
  const text = await readFile(configFile, 'utf8');
  if (text.includes(INJECT_PREFIX)) throw new Error(`${configFile} must not use the reserved prefix ${INJECT_PREFIX}`);
  const doc = YAML.parseDocument(text, YAML_OPTS);
  if (doc.errors.length) throw new Error(`${configFile}: ${doc.errors[0].message}`);
  const scrapeConfigs = doc.get('scrape_configs');
  let injected = 0;
  for (const sc of scrapeConfigs?.items ?? []) {
    if (!YAML.isMap(sc)) continue;
    for (const sd of sc.get('file_sd_configs')?.items ?? []) {
      const files = YAML.isMap(sd) ? sd.get('files') : null;
      for (const f of files?.items ?? []) {
        if (YAML.isScalar(f) && typeof f.value === 'string' && !path.isAbsolute(f.value)) f.value = path.join(caseDir, f.value);
      }
    }
    const rc = sc.get('relabel_configs');
    if (!RAW && YAML.isSeq(rc) && rc.items.length > 0) {
      rc.items.unshift(...injectedSteps().map((s) => doc.createNode(s)));
      injected++;
    }
  }
  const out = doc.toString({ lineWidth: 0 });
  // Safety net: the rewritten config must mean the same as the original apart from the changes above.
  const orig = YAML.parse(text, YAML_OPTS);
  const back = YAML.parse(out, YAML_OPTS);
  for (const sc of back?.scrape_configs ?? []) {
    for (const sd of sc.file_sd_configs ?? []) {
      sd.files = sd.files?.map((f) => (f.startsWith(caseDir + path.sep) ? path.relative(caseDir, f) : f));
    }
    if (!RAW && sc.relabel_configs?.length) {
      const head = sc.relabel_configs.slice(0, 3);
      if (!isDeepStrictEqual(head, injectedSteps())) throw new Error(`${configFile}: injection failed`);
      sc.relabel_configs = sc.relabel_configs.slice(3);
    }
  }
  if (!isDeepStrictEqual(orig, back)) throw new Error(`${configFile}: the rewritten config differs from the original`);
  return { text: out, injected };
}

// ---- one case ------------------------------------------------------------------------------------

async function runCase(caseDir) {
  const name = path.basename(caseDir);
  const configFile = path.join(caseDir, 'prometheus.yml');
  const started = Date.now();
  const work = await mkdtemp(path.join(tmpdir(), `golden-${name}-`));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const prepared = await prepareConfig(caseDir);
  const runConfig = path.join(work, 'prometheus.yml');
  await writeFile(runConfig, prepared.text);
  const args = [
    `--config.file=${runConfig}`,
    `--storage.tsdb.path=${path.join(work, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=info',
  ];
  log(name, `starting prometheus on ${base}` + (RAW ? ' (GOLDEN_RAW: config as is)' : ` (workaround steps in ${prepared.injected} job(s))`));
  const child = spawn(PROMETHEUS, args, { cwd: work, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
    if (stderr.length > 1_000_000) stderr = stderr.slice(-500_000);
  });
  let exited = false;
  const exitPromise = new Promise((resolve) => child.on('exit', (code, sig) => { exited = true; resolve({ code, sig }); }));
  child.on('error', (err) => { stderr += String(err); });

  try {
    // 1. ready
    const readyBy = Date.now() + 60_000;
    while (!(await isReady(base))) {
      if (exited) throw new Error(`prometheus exited before ready:\n${stderr}`);
      if (Date.now() > readyBy) throw new Error(`prometheus not ready after 60 s:\n${stderr}`);
      await sleep(250);
    }
    const readyAt = Date.now();
    log(name, `ready after ${((readyAt - started) / 1000).toFixed(1)} s; waiting for targets (jobs: ${(await jobNames(configFile)).join(', ')})`);

    // 2. stable
    let prev = null; // { at, json }
    let result = null;
    for (;;) {
      if (exited) throw new Error(`prometheus exited:\n${stderr}`);
      const body = await getJson(`${base}/api/v1/targets?state=any`);
      if (body.status !== 'success') throw new Error(`API error: ${JSON.stringify(body)}`);
      const norm = normalise(body.data, caseDir);
      const json = JSON.stringify(norm);
      const now = Date.now();
      const nonEmpty = norm.activeTargets.length + norm.droppedTargets.length > 0;
      if (prev && nonEmpty && prev.json === json && now - prev.at >= STABLE_GAP_MS && now - readyAt >= MIN_WAIT_MS) {
        result = norm;
        break;
      }
      if (!prev || prev.json !== json) prev = { at: now, json };
      if (now - readyAt > TIMEOUT_MS) {
        log(name, `WARNING: not stable/non-empty after ${TIMEOUT_MS / 1000} s; writing the last read`);
        result = norm;
        break;
      }
      await sleep(1_500);
    }

    // 3. write
    await writeFile(path.join(caseDir, 'golden.json'), JSON.stringify(result, null, 2) + '\n');
    const failures = [...stderr.matchAll(/msg="Creating target failed".*?err="((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]);
    log(
      name,
      `wrote golden.json: ${result.activeTargets.length} active, ${result.droppedTargets.length} dropped` +
        (failures.length ? `, ${failures.length} failed target(s) in the log` : '') +
        ` (${((Date.now() - started) / 1000).toFixed(1)} s)`,
    );
    for (const f of new Set(failures)) log(name, `  failed: ${f.replace(/\\"/g, '"')}`);
    const errs = stderr.split('\n').filter((l) => /level=error/.test(l) && !/Creating target failed/.test(l));
    for (const l of errs.slice(0, 5)) log(name, `  prometheus error: ${l}`);
  } finally {
    if (!exited) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => { if (!exited) child.kill('SIGKILL'); }, 10_000);
      await exitPromise;
      clearTimeout(killer);
    }
    await rm(work, { recursive: true, force: true });
  }
}

// ---- main ----------------------------------------------------------------------------------------

async function listCases(argv) {
  if (argv.length) {
    return argv.map((a) => {
      const p = path.isAbsolute(a) || a.includes(path.sep) ? path.resolve(a) : path.join(CORPUS, a);
      return p.replace(/\/+$/, '');
    });
  }
  const out = [];
  for (const e of (await readdir(CORPUS, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    if (!e.isDirectory()) continue;
    const dir = path.join(CORPUS, e.name);
    try {
      await stat(path.join(dir, 'prometheus.yml'));
      out.push(dir);
    } catch {
      /* not a case */
    }
  }
  return out;
}

async function main() {
  const cases = await listCases(process.argv.slice(2));
  if (!cases.length) throw new Error(`no cases found under ${CORPUS}`);
  console.log(`generating ${cases.length} golden file(s) with ${PROMETHEUS}, ${PARALLEL} at a time`);
  const t0 = Date.now();
  const queue = [...cases];
  const failed = [];
  const worker = async () => {
    for (let c = queue.shift(); c; c = queue.shift()) {
      try {
        await runCase(c);
      } catch (err) {
        failed.push(path.basename(c));
        log(path.basename(c), `FAILED: ${err instanceof Error ? err.message : err}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, PARALLEL) }, worker));
  console.log(`done: ${cases.length - failed.length}/${cases.length} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  if (failed.length) {
    console.log(`failed: ${failed.join(', ')}`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
