#!/usr/bin/env node
// Where Prometheus 2.42 writes the staleness markers of a target that a reload takes away: the fact behind the
// marker rule of the global view's merges (src/query/slots.ts markerSlot). A real `prometheus` scrapes two local
// targets every second; every 1.5-7.5 s the config is rewritten with the first target taken out or put back and
// reloaded (as a sidecar does when a target moves). Then the first target's `up` is read raw by remote read, and for
// each marker its distance from the last real sample is printed. Usually one interval (the next tick); now and then a
// few ms (the scrape loop the reload replaced wrote it, its restarted successor having scraped just before), which is
// the case the merges pass over. Needs `npm run build`. Usage: node scripts/stale-markers.mjs [toggles, default 40]
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const helpers = path.join(root, 'dist', 'test', 'helpers');
const { startPrometheus } = await import(path.join(helpers, 'prometheus.js'));
const { startTarget, metricsBody } = await import(path.join(helpers, 'targets.js'));
const { remoteRead } = await import(path.join(helpers, 'remote-read.js'));

const toggles = Number(process.argv[2] ?? 40);
const body = metricsBody(6000);
const serve = () => startTarget((_req, res) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(body));
const [a, b] = [await serve(), await serve()];
const dir = await mkdtemp(path.join(tmpdir(), 'kvass-stale-markers-'));
const file = path.join(dir, 'prometheus.yml');
const config = (withA) => `global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: moving
    static_configs: [{targets: [${(withA ? [a, b] : [b]).map((t) => `'${t.address}'`).join(', ')}]}]
`;
await writeFile(file, config(true));
const prom = await startPrometheus(file);
try {
  const t0 = Date.now();
  let withA = true;
  for (let k = 0; k < toggles; k++) {
    await new Promise((r) => setTimeout(r, 1500 + Math.random() * 6000));
    withA = !withA;
    await writeFile(file, config(withA));
    await fetch(`${prom.url}/-/reload`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
  }
  await new Promise((r) => setTimeout(r, 4000)); // the last markers come 2.1 intervals after their loop stopped
  const answer = await remoteRead(`${prom.url}/api/v1/read`, { startMs: t0 - 60_000, endMs: Date.now(), matchers: [{ type: 'EQ', name: '__name__', value: 'up' }, { type: 'EQ', name: 'instance', value: a.address }] });
  const s = answer.results[0]?.[0];
  if (!s) throw new Error('no `up` series of the moving target');
  const after = [];
  let last = null;
  for (let i = 0; i < s.t.length; i++) {
    if (!Number.isNaN(s.v[i])) last = s.t[i];
    else if (last !== null) after.push(s.t[i] - last);
  }
  const early = after.filter((d) => d < 500);
  console.log(JSON.stringify({ toggles, samples: s.t.length, markersMsAfterLastSample: after, withinHalfAnInterval: early.length }));
} finally {
  await prom.stop();
  await a.close();
  await b.close();
  await rm(dir, { recursive: true, force: true });
}
