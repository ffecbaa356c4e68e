#!/usr/bin/env node
// `make demo`: the seeds' demo on this machine. Starts `kvass fake-targets` (6 × 10045 series on
// 127.0.0.1:9100-9105) and `kvass up` with --shard.max-series=30000, waits until the coordinator has placed
// every target, prints what to look at, and keeps running until Ctrl-C (DEMO_EXIT_AFTER_SETTLE=1: stop then).
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const main = path.join(root, 'dist', 'src', 'cli', 'main.js');
const dataDir = path.join(root, 'demo-data');
const listen = process.env.DEMO_LISTEN ?? '127.0.0.1:9090';
const api = `http://${listen}`;
rmSync(dataDir, { recursive: true, force: true });

const children = [];
function start(args, stdout) {
  const p = spawn(process.execPath, [main, ...args], { stdio: ['ignore', stdout, 'inherit'] });
  children.push(p);
  p.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`kvass ${args[0]} exited (${code ?? signal}); stopping the demo`);
      stop(1);
    }
  });
  return p;
}
let stopping = false;
function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill('SIGINT');
  Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null))).then(() => process.exit(code));
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

start(['fake-targets', '--targets=6', '--series=10045', '--listen=127.0.0.1:9100'], 'ignore');
start(['up', `--config.file=${path.join(root, 'examples', 'demo', 'prometheus.yml')}`, `--data-dir=${dataDir}`, `--web.listen-address=${listen}`,
  '--shard.max-series=30000', '--coordinator.interval=5s', '--log.level=warn'], 'inherit');

const get = async (p) => (await (await fetch(api + p)).json()).data;
for (;;) {
  await new Promise((r) => setTimeout(r, 1000));
  if (stopping) break;
  let shards;
  try {
    shards = (await get('/api/v1/shards')).replicas[0]?.shards ?? [];
  } catch {
    continue;
  }
  const placed = shards.reduce((a, s) => a + (s.ready ? s.targets : 0), 0);
  // kvass up shows its own start-up progress (one line on a terminal, plain lines otherwise).
  if (placed === 6 && shards.every((s) => s.ready && s.processSeries > 0)) {
    const targets = (await get('/api/v1/targets')).activeTargets;
    console.log('\nShards (budget --shard.max-series=30000):');
    for (const s of shards) console.log(`  ${s.id}  ${s.url}  targets=${s.targets}  headSeries=${s.headSeries}  processSeries=${s.processSeries}`);
    console.log('\nTargets:');
    for (const t of targets) console.log(`  ${t.labels.instance}  series=${t.series}  shards=${t.shards.join(',')}  health=${t.health}`);
    // The global view: the querier's recording rule runs every 5 s, and the shards need a scrape or two.
    const query = async (q) => (await (await fetch(`${api}/api/v1/query?query=${encodeURIComponent(q)}`)).json()).data?.result?.[0]?.value?.[1];
    let count;
    let rule;
    for (let i = 0; i < 30 && !stopping; i++) {
      [count, rule] = await Promise.all([query('count(demo_metric)'), query('demo:series:count')]);
      if (count === '60000' && rule === '60000') break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    console.log(`\nGlobal view (${api}, one Prometheus over the ${shards.length} shards):`);
    console.log(`  count(demo_metric) = ${count}   recording rule demo:series:count = ${rule}`);
    console.log(`\nLook at: ${api} (web UI, or a Grafana data source), ${api}/api/v1/shards (each shard's head stays under 30000),`);
    console.log(`${api}/api/v1/targets (series and shard of each target).`);
    if (process.env.DEMO_EXIT_AFTER_SETTLE) stop(0);
    else console.log('Ctrl-C stops everything.');
    break;
  }
}
