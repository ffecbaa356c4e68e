/**
 * A read that ends right after a move, through the front door, with real Prometheus: what a query at or near now
 * sees. Two Prometheus hold one target's `up` as two shards of one replica do after a move (written to them by
 * remote write, to the millisecond): the old shard scraped at .9 s and wrote its staleness marker one slot after
 * its last scrape; the new shard scrapes at .3 s, so its first scrape after the old one's last lies in that slot,
 * and its next one after the marker. A query ending between the marker and that next scrape must still count the
 * target (the gap test's CI failure: `count(up)` 3 of 4 at the last step of a window ending there).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compressSync } from 'snappy';
import { encodeSeries, type Samples } from '../../src/query/remote/samples.js';
import { WireWriter } from '../../src/query/remote/wire.js';
import { runKvass, type RunningKvass } from '../helpers/kvass.js';
import { freePort, startPrometheus, waitFor, type RunningPrometheus } from '../helpers/prometheus.js';
import { remoteRead } from '../helpers/remote-read.js';
import { tempDir } from '../helpers/tmp.js';

const LABELS: Array<[string, string]> = [['__name__', 'up'], ['instance', 'moved:80'], ['job', 'j']];
/** A whole second a minute ago: every time below is T plus seconds. */
const T = Math.floor(Date.now() / 1000) * 1000 - 60_000;
const at = (s: number): number => T + Math.round(s * 1000);

let dir = '';
const shards: RunningPrometheus[] = [];
let view: RunningKvass | undefined;
let front = '';

after(async () => {
  await view?.stop();
  for (const p of shards) await p.stop();
});

/** Writes samples of the one series to a Prometheus by remote write 1.0 (markers as Prometheus's StaleNaN). */
async function write(url: string, seconds: number[], staleAt: number[] = []): Promise<void> {
  const samples: Samples = { t: seconds.map(at), v: seconds.map(() => 1) };
  if (staleAt.length > 0) samples.stale = seconds.map((s) => staleAt.includes(s));
  const series = encodeSeries(LABELS, samples);
  const w = new WireWriter(series.length + 8);
  w.byte(0x0a); // WriteRequest.timeseries = 1
  w.uvarint(series.length);
  w.bytes(series);
  const res = await fetch(`${url}/api/v1/write`, {
    method: 'POST', body: compressSync(w.finish()),
    headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' },
  });
  assert.equal(res.status, 204, `remote write to ${url}: ${res.status} ${await res.text()}`);
}

before(async () => {
  dir = await tempDir('kvass-read-end-');
  const config = join(dir, 'prometheus.yml');
  await writeFile(config, 'scrape_configs: []\n');
  shards.push(...(await Promise.all([0, 1].map(() => startPrometheus(config, { args: ['--web.enable-remote-write-receiver'] })))));
  await write(shards[0]!.url, [0.9, 1.9, 2.9, 3.9, 4.9, 5.9], [5.9]);
  await write(shards[1]!.url, [2.3, 3.3, 4.3, 5.3]);
  // The remote-read path (the one that merges copies): pushdown would count the target once per shard.
  const port = await freePort();
  front = `http://127.0.0.1:${port}`;
  view = runKvass(['query', ...shards.map((p) => `--query.store=${p.url}`), `--data-dir=${join(dir, 'query')}`, `--web.listen-address=127.0.0.1:${port}`, '--query.pushdown=false', '--log.level=warn']);
  await waitFor('kvass query', async () => {
    if (view!.proc.exitCode !== null) throw new Error(`kvass query exited: ${view!.output()}`);
    return (await fetch(`${front}/api/v1/query?query=1`).catch(() => null))?.ok;
  }, 60_000);
});

const instant = async (q: string, s: number): Promise<string[]> => {
  const body = (await (await fetch(`${front}/api/v1/query?${new URLSearchParams({ query: q, time: String(at(s) / 1000) })}`)).json()) as { status: string; error?: string; data: { result: Array<{ value: [number, string] }> } };
  assert.equal(body.status, 'success', body.error);
  return body.data.result.map((r) => r.value[1]);
};

test('a query ending after the old shard\'s marker and before the new shard\'s next scrape counts the moved target', { timeout: 120_000 }, async () => {
  // Raw samples through the front door's remote read, ending at 6 s: every slot once, no marker at the end.
  const read = await remoteRead(`${front}/api/v1/read`, { startMs: at(0), endMs: at(6), matchers: [{ type: 'EQ', name: '__name__', value: 'up' }] });
  assert.equal(read.status, 200, read.text);
  const got = read.results[0]!.map((s) => s.t.map((t, i) => `${(t - T) / 1000}${Number.isNaN(s.v[i]) ? ' stale' : ''}`));
  assert.deepEqual(got, [['0.9', '1.9', '2.9', '3.9', '4.9']], 'the samples of the read ending at 6 s');
  // PromQL through the front door: the target is there at every second up to the read's end.
  const range = (await (await fetch(`${front}/api/v1/query_range?${new URLSearchParams({ query: 'count(up)', start: String(at(1) / 1000), end: String(at(6) / 1000), step: '1' })}`)).json()) as { data: { result: Array<{ values: Array<[number, string]> }> } };
  assert.deepEqual(range.data.result[0]?.values.map(([t, v]) => `${t - T / 1000}:${v}`), ['1:1', '2:1', '3:1', '4:1', '5:1', '6:1']);
  assert.deepEqual(await instant('count(up)', 6), ['1']);
  assert.deepEqual(await instant('count(up)', 6.2), ['1']);
  // Where the new shard's next scrape was due inside the read and is not there (its Prometheus stopped, no marker of
  // its own), the old shard's marker ends the series, as before this rule.
  assert.deepEqual(await instant('count(up)', 20), []);
  // Once the new shard's next scrape is there, it stands for the marker.
  await write(shards[1]!.url, [6.3]);
  assert.deepEqual(await instant('count(up)', 6.5), ['1']);
  const later = await remoteRead(`${front}/api/v1/read`, { startMs: at(0), endMs: at(20), matchers: [{ type: 'EQ', name: '__name__', value: 'up' }] });
  assert.deepEqual(later.results[0]!.map((s) => s.t.map((t) => (t - T) / 1000)), [[0.9, 1.9, 2.9, 3.9, 4.9, 6.3]]);
});
