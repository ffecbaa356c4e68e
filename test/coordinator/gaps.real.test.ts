/**
 * Gap test with real Prometheus: while 2 shards grow to 3 (a target grows and its shard is relieved) and shrink
 * back to 2 (the target shrinks; the highest shard is drained and removed), every target's `up` series has a
 * sample in every scrape interval: a moved target is scraped by both shards until the new one has it.
 *
 * Through the global view (the front door of `kvass up`), meanwhile: the series of the targets that do not change
 * are counted the same at every moment whatever the shard count, and a range query over the whole time has every
 * target's `up` exactly once at every step (a target scraped by two shards during its move is deduplicated).
 *
 * And at the finest grain: every second, `up[30s]` is read through the front door (an instant query of a range
 * selector: raw samples) and from every shard at the same evaluation time. In each answer of the view, every scrape
 * slot the shards hold is there exactly once and nothing else is; over the whole test, every slot any shard ever held
 * was in the view, and the view never had two consecutive slots more than 1.5 intervals apart. (A removed shard's
 * data leaves with it, so the view is compared with what the shards hold at the moment it is read.)
 *
 * Query pushdown beside a reference Prometheus scraping the same 4 targets: every 2 s, range queries (step 1 s) of
 * `count(up)` and `count(last_over_time(up[2s]))` over the whole time since the start and over the last 10 s go
 * through the front door and to the reference, and must be equal at every step. A window that reads across a move
 * (by the coordinator's move log, /api/v1/moves, with its margin) is answered by remote read with the reason `moved`,
 * any other window by pushdown; the shards' own answers summed (what a pushdown that ignores moves would give)
 * count a target twice in some window that crosses a move.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fetchShards, runKvass, type RunningKvass, type ShardRow } from '../helpers/kvass.js';
import { freePort, startPrometheus, waitFor, type RunningPrometheus } from '../helpers/prometheus.js';
import { metricsBody, startTarget, type TestTarget } from '../helpers/targets.js';
import { scrapeSlots } from '../helpers/slots.js';
import { remoteRead } from '../helpers/remote-read.js';
import { tempDir } from '../helpers/tmp.js';

const INTERVAL_S = 1;
let up: RunningKvass | undefined;
const targets: TestTarget[] = [];

let collecting = false;
let counting = false;
let comparing = false;
let reference: RunningPrometheus | undefined;

after(async () => {
  collecting = false; // a failed test must not leave the collector looping (it would keep the process alive)
  comparing = false;
  await up?.stop();
  await reference?.stop();
  for (const t of targets) await t.close();
});

test('no scrape interval without an `up` sample while shards go 2 → 3 → 2, on the shards and through the view', { timeout: 240_000 }, async (t) => {
  const sizes = [6000, 6000, 6000, 6000];
  const bodies = new Map<number, string>();
  const body = (n: number) => bodies.get(n) ?? (bodies.set(n, metricsBody(n)), bodies.get(n)!);
  for (let i = 0; i < 4; i++) {
    targets.push(await startTarget((_req, res) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(body(sizes[i]!))));
  }
  const dir = await tempDir('kvass-gaps-');
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, `global: {scrape_interval: ${INTERVAL_S}s, scrape_timeout: ${INTERVAL_S}s}
scrape_configs:
  - job_name: grow
    static_configs: [{targets: [${targets.map((t) => `'${t.address}'`).join(', ')}]}]
`);
  const apiPort = await freePort();
  const api = `http://127.0.0.1:${apiPort}`;
  reference = await startPrometheus(configFile);
  up = runKvass(['up', `--config.file=${configFile}`, `--data-dir=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${apiPort}`,
    '--shard.max-series=15000', '--shard.max-idle-time=8s', '--coordinator.interval=2s', '--log.level=info']);

  // Raw `up` samples of every instance, from every shard, collected as the shards come and go.
  const samples = new Map<string, Set<number>>();
  // Each second: `up[30s]` through the front door and from every shard, at one evaluation time.
  const polls: Array<{ at: number; view: Map<string, number[]>; shards: Map<string, number[][]>; stable: boolean }> = [];
  let shardCounts: number[] = [];
  // Through the front door: series of the 3 targets that keep their size, and `count(up)`, at each poll.
  const frontCounts: Array<{ shards: number; steady: number; up: number }> = [];
  const instant = async (q: string): Promise<number | undefined> => {
    const res = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(q)}`).catch(() => null);
    if (!res?.ok) return undefined;
    const r = ((await res.json()) as { data: { result: Array<{ value: [number, string] }> } }).data.result;
    return r.length === 1 ? Number(r[0]!.value[1]) : undefined;
  };
  const shards = async (): Promise<ShardRow[]> => (await fetchShards(api))[0]?.shards ?? [];
  collecting = true;
  const collector = (async () => {
    while (collecting) {
      const list = await shards();
      shardCounts.push(list.length);
      if (counting) {
        const [steady, ups] = await Promise.all([instant(`count(demo_metric{instance!="${targets[0]!.address}"})`), instant('count(up)')]);
        frontCounts.push({ shards: list.length, steady: steady ?? -1, up: ups ?? -1 });
      }
      // 2 s back: scrapes started before are in the heads by then.
      const at = (Date.now() / 1000 - 2).toFixed(3);
      const upRange = async (base: string): Promise<Map<string, number[]> | null> => {
        const res = await fetch(`${base}/api/v1/query?${new URLSearchParams({ query: 'up[30s]', time: at })}`).catch(() => null);
        if (!res?.ok) return null;
        const data = ((await res.json()) as { data: { result: Array<{ metric: { instance: string }; values: Array<[number, string]> }> } }).data;
        return new Map(data.result.map((r) => [r.metric.instance, r.values.map(([t]) => t)]));
      };
      const ready = list.filter((s) => s.ready);
      const [view, ...perShard] = await Promise.all([counting ? upRange(api) : Promise.resolve(null), ...ready.map((s) => upRange(s.url))]);
      const shardAnswers = new Map<string, number[][]>();
      for (const m of perShard) {
        for (const [instance, ts] of m ?? []) {
          shardAnswers.set(instance, [...(shardAnswers.get(instance) ?? []), ts]);
          const set = samples.get(instance) ?? samples.set(instance, new Set()).get(instance)!;
          for (const t of ts) set.add(t);
        }
      }
      if (view) {
        // The same shards, all of them answering, before and after: else a shard came or went in between.
        const after = await shards();
        const ids = (l: ShardRow[]) => l.filter((s) => s.ready).map((s) => s.id).join(',');
        polls.push({ at: Number(at), view, shards: shardAnswers, stable: ids(after) === ids(list) && perShard.every((m) => m !== null) });
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();

  const settledOn = (n: number) => async () => {
    if (up!.proc.exitCode !== null) throw new Error(`kvass up exited: ${up!.output()}`);
    const list = await shards();
    return list.length === n && list.every((s) => s.ready) && list.reduce((a, s) => a + s.targets, 0) === 4 ? list : undefined;
  };
  await waitFor('2 shards with the 4 targets', settledOn(2), 120_000, 500);
  const start = Date.now() / 1000;
  shardCounts = [];
  await waitFor('the reference to scrape the 4 targets', async () => (await reference!.query('count(up)'))[0]?.value[1] === '4', 30_000, 500);
  // The querier's lookback is 5m: once every target has been scraped, counts are complete.
  await new Promise((r) => setTimeout(r, 2000));
  counting = true;
  comparing = true;
  const comparer = compareWithReference(api, Math.ceil(start + 3));

  sizes[0] = 9000; // its shard goes over 15000: a target moves to a new shard
  await waitFor('3 shards', settledOn(3), 90_000, 500);
  // The move is complete (each target counted once): the old shard stops scraping the moved target and keeps its
  // samples. Polls now read the view across the hand-over, with both copies on the shards.
  await new Promise((r) => setTimeout(r, 8000));
  sizes[0] = 6000; // room again: the highest shard is drained and removed after --shard.max-idle-time
  // Drained (idle, its target handed back) and not removed yet: every sample of the test is still on some shard.
  // One range query over the whole time: every target's `up` at every step, never twice. (Once the idle shard is
  // removed, its data goes with it, see docs/global-view.md.)
  await waitFor('the highest shard drained', async () => {
    const list = await shards();
    return list.length === 3 && list[2]!.targets === 0 && list.reduce((a, s) => a + s.targets, 0) === 4;
  }, 120_000, 250);
  const drainedAt = Date.now() / 1000 - 2;
  const rangeRes = await fetch(`${api}/api/v1/query_range?query=${encodeURIComponent('up')}&start=${start + 3}&end=${drainedAt}&step=1`);
  const range = ((await rangeRes.json()) as { data: { result: Array<{ metric: { instance: string }; values: Array<[number, string]> }> } }).data.result;
  assert.ok((await shards()).length === 3, 'the range query ran before the idle shard was removed');
  assert.deepEqual(range.map((r) => r.metric.instance).sort(), targets.map((t) => t.address).sort(), 'each target once');
  const steps = Math.floor(drainedAt - (start + 3)) + 1;
  const rangePath = `${rangeRes.headers.get('x-kvass-query-path')} ${rangeRes.headers.get('x-kvass-pushdown-fallback') ?? ''}`;
  const missingSteps = (r: (typeof range)[number]) => Array.from({ length: steps }, (_, i) => start + 3 + i).filter((x) => !r.values.some(([ts]) => Math.abs(ts - x) < 0.01)).map((x) => x.toFixed(1));
  // On a failure, what the shards held around each missing step (raw, from the polls) and the moves: to tell a hole in a
  // shard's own data from one of the merge.
  const around = (instance: string, x: number): string => {
    const near = (ts: Iterable<number>) => [...ts].filter((t) => t > x - 3 && t < x + 2).sort((a, b) => a - b).map((t) => (t - x).toFixed(2));
    const perShard = polls.filter((p) => p.at > x + 1 && p.at < x + 8).flatMap((p) => [...(p.shards.get(instance) ?? [])].map((c, k) => `poll ${(p.at - x).toFixed(1)} copy ${k}: ${near(c)}`)).filter((l) => !l.endsWith(': '));
    return `around ${x.toFixed(1)}: union of shards ${near(samples.get(instance) ?? [])}; ${perShard.slice(-6).join('; ')}`;
  };
  // Raw samples (staleness markers as "stale") by remote read, from each shard and from the front door's gateway,
  // around a missing step: which copy holds what the range query lost.
  const raw = async (instance: string, x: number): Promise<string> => {
    const q = { startMs: Math.round((start - 5) * 1000), endMs: Math.round(drainedAt * 1000), matchers: [{ type: 'EQ' as const, name: '__name__', value: 'up' }, { type: 'EQ' as const, name: 'instance', value: instance }] };
    const near = (s: { t: number[]; v: number[] }) => s.t.map((t, i) => [t / 1000 - x, s.v[i]!] as const).filter(([d]) => d > -3 && d < 3).map(([d, v]) => `${d.toFixed(3)}${Number.isNaN(v) ? ' stale' : ''}`).join(',');
    const from = async (name: string, url: string) => {
      const a = await remoteRead(`${url}/api/v1/read`, q).catch((e: Error) => e);
      return a instanceof Error ? `${name}: ${a.message}` : `${name}: ${(a.results[0] ?? []).map(near).join(' / ')}`;
    };
    return (await Promise.all([from('view', api), ...(await shards()).map((s) => from(s.id, s.url))])).join('; ');
  };
  for (const r of range) {
    if (r.values.length === steps) continue;
    const missing = missingSteps(r);
    const rawNow = await Promise.all(missing.map((x) => raw(r.metric.instance, Number(x))));
    assert.fail(`${r.metric.instance}: ${r.values.length} of ${steps} steps have a value (answered by ${rangePath}; missing ${missing}; ${missing.map((x) => around(r.metric.instance, Number(x))).join(' | ')}; raw samples by remote read ${rawNow.join(' | ')}; moves ${JSON.stringify(await moveHistory(api))}; shards now ${JSON.stringify(await shards())})`);
  }
  await waitFor('back to 2 shards', settledOn(2), 120_000, 500);
  await new Promise((r) => setTimeout(r, 4000));
  // Until the last 10 s windows read after every move's margin (and a round more): pushed down again.
  const h = await moveHistory(api);
  const lastMove = Math.max(...(h?.moves ?? []).map((m) => Math.max(m.startMs, m.endMs ?? Date.now())));
  const clear = lastMove + (h?.marginMs ?? 0) + (2 + LAST_S + 2) * 1000 + 6000;
  await new Promise((r) => setTimeout(r, Math.min(20_000, Math.max(0, clear - Date.now()))));
  comparing = false;
  const compared = await comparer;
  collecting = false;
  await collector;
  const end = Date.now() / 1000 - 3;
  const out = up.output();

  // Range queries through the front door against the reference, and the path each took.
  reportComparison(t, compared);

  // Global view: constant counts while the shard count changed.
  assert.ok(new Set(frontCounts.map((c) => c.shards)).size >= 2, `the shard count changed while counting: ${JSON.stringify(frontCounts.map((c) => c.shards))}`);
  for (const c of frontCounts) {
    assert.equal(c.steady, 18000, `series of the steady targets through the front door with ${c.shards} shards: ${JSON.stringify(frontCounts)}`);
    assert.equal(c.up, 4, `count(up) through the front door with ${c.shards} shards`);
  }

  // Raw samples through the front door, poll by poll: each scrape slot the shards hold, exactly once.
  // (Over the whole test, where each sample's shard is not kept, slots are told by time alone.)
  const slotsOf = (ts: Iterable<number>): number[][] => scrapeSlots([...new Set(ts)].map((t) => [t]), INTERVAL_S);

  const stable = polls.filter((p) => p.stable);
  t.diagnostic(`${polls.length} polls of the view, ${polls.length - stable.length} left out because a shard came, went or failed to answer during the poll`);
  assert.ok(polls.length >= 10 && stable.length >= polls.length - 6, `${stable.length} of ${polls.length} polls with a stable shard list`);
  // The view was read while moved targets had samples on two shards (what the merge must stitch).
  const twoCopies = stable.flatMap((p) => [...p.shards.entries()].filter(([, copies]) => copies.length > 1).map(([instance]) => `${instance}@${p.at}`));
  t.diagnostic(`moved targets read from two shards in one poll: ${twoCopies.length}`);
  assert.ok(twoCopies.length >= 2, 'polls read a moved target from its two shards');
  const viewed = new Map<string, number[]>();
  for (const p of stable) {
    for (const tgt of targets) {
      const view = p.view.get(tgt.address) ?? [];
      const copies = p.shards.get(tgt.address) ?? [];
      const held = new Set(copies.flat());
      for (const x of view) assert.ok(held.has(x), `${tgt.address} at ${p.at}: the view's sample at ${x} is on no shard`);
      for (const slot of scrapeSlots(copies, INTERVAL_S)) {
        const n = view.filter((x) => slot.includes(x)).length;
        assert.equal(n, 1, `${tgt.address}, view at ${p.at}: ${n} samples in the scrape slot ${slot.join('/')} (view ${view}; shards ${[...held].sort()})`);
      }
      viewed.set(tgt.address, [...(viewed.get(tgt.address) ?? []), ...view]);
    }
  }
  // Over the whole test: every slot any shard held was seen through the view, and the view's slots are never more
  // than 1.5 intervals apart.
  for (const tgt of targets) {
    const seen = slotsOf((viewed.get(tgt.address) ?? []).filter((x) => x >= start && x <= end));
    for (let i = 1; i < seen.length; i++) {
      const gap = seen[i]![0]! - seen[i - 1]!.at(-1)!;
      assert.ok(gap <= 1.5 * INTERVAL_S, `${tgt.address}: a hole of ${gap.toFixed(3)} s in the view after ${seen[i - 1]!.at(-1)}`);
    }
    const seenSet = new Set(seen.flat());
    const [from, to] = [Math.max(start, stable[0]!.at - 30), Math.min(end, stable.at(-1)!.at)];
    const missing = slotsOf([...(samples.get(tgt.address) ?? [])].filter((x) => x >= from && x <= to)).filter((slot) => !slot.some((x) => seenSet.has(x)));
    assert.deepEqual(missing, [], `${tgt.address}: scrape slots held by a shard and never seen through the view`);
  }

  assert.ok(shardCounts.includes(3), 'went through 3 shards');
  assert.match(out, /transfer begun/);
  assert.match(out, /"reason":"overload"/);
  assert.match(out, /"reason":"scale-down"/);
  for (const t of targets) {
    const ts = [...(samples.get(t.address) ?? [])].filter((x) => x >= start && x <= end).sort((a, b) => a - b);
    assert.ok(ts.length >= (end - start) / INTERVAL_S * 0.8, `${t.address}: only ${ts.length} samples over ${Math.round(end - start)} s`);
    let worst = 0;
    for (let i = 1; i < ts.length; i++) worst = Math.max(worst, ts[i]! - ts[i - 1]!);
    assert.ok(worst <= 1.5 * INTERVAL_S, `${t.address}: a gap of ${worst.toFixed(2)} s between two up samples`);
  }
});

const LAST_S = 10;
/** The range queries compared with the reference, and what they read before the first step (the planner's reads). */
const RANGE_QUERIES: Array<{ q: string; readsBeforeMs: number }> = [
  { q: 'count(up)', readsBeforeMs: 300_000 }, // an instant selector: the querier's lookback delta (5m)
  { q: 'count(last_over_time(up[2s]))', readsBeforeMs: 2000 },
];

interface MoveHistory { sinceMs: number | null; marginMs: number; moves: Array<{ from: number; to: number; startMs: number; endMs: number | null }> }

async function moveHistory(api: string): Promise<MoveHistory | null> {
  const res = await fetch(`${api}/api/v1/moves`).catch(() => null);
  if (!res?.ok) return null;
  return ((await res.json()) as { data: MoveHistory }).data;
}

/** The moves a read of [fromMs, toMs] crosses, as the front door decides (coordinator/moves.ts, movedWithin). */
function movesCrossed(h: MoveHistory, fromMs: number, toMs: number): MoveHistory['moves'] {
  return h.moves.filter((m) => fromMs <= (m.endMs ?? Number.POSITIVE_INFINITY) + h.marginMs && toMs >= m.startMs - h.marginMs);
}

/** Why a read of [fromMs, toMs] may not be pushed down by the move log: before its history, across a move, or null. */
function moveReason(h: MoveHistory | null, fromMs: number, toMs: number): 'history' | 'moved' | null {
  if (h === null || fromMs < (h.sinceMs ?? Number.POSITIVE_INFINITY)) return 'history';
  return movesCrossed(h, fromMs, toMs).length > 0 ? 'moved' : null;
}

type Values = Array<[number, string]>;
interface Compared {
  q: string;
  window: 'whole' | 'last';
  start: number;
  end: number;
  path: string | null;
  reason: string | null;
  /** By the move log before and after the query (they differ if a move was logged meanwhile): why not pushed down, or null. */
  expected: [string | null, string | null];
  /** The read crosses a move to or from a shard removed (or drained and idle) by the time of the query: its data leaves with it. */
  removedData: boolean;
  shardsChanged: boolean;
  view: Values | null;
  viewError?: string;
  ref: Values | null;
  refError?: string;
  /** Per step, the sum of every shard's own answer; null if a shard did not answer. */
  naive: Values | null;
  /** When the front door did not count 4 at some step: right after, which instances each shard and the view had when. */
  detail?: string;
}

/**
 * Every 2 s until `comparing` is false: each of RANGE_QUERIES over [from, now − 2 s] and over its last 10 s, step
 * 1 s, through the front door, from the reference and from every shard.
 */
async function compareWithReference(api: string, from: number): Promise<Compared[]> {
  const out: Compared[] = [];
  const seen = new Set<number>();
  const ordinal = (s: ShardRow) => Number(/(\d+)$/.exec(s.id)?.[1] ?? -1);
  const matrix = async (base: string, q: string, start: number, end: number): Promise<{ values: Values | null; path: string | null; reason: string | null; error?: string }> => {
    const res = await fetch(`${base}/api/v1/query_range?${new URLSearchParams({ query: q, start: String(start), end: String(end), step: '1' })}`).catch((e: Error) => e);
    if (res instanceof Error) return { values: null, path: null, reason: null, error: res.message };
    const [path, reason] = [res.headers.get('x-kvass-query-path'), res.headers.get('x-kvass-pushdown-fallback')];
    // A Prometheus that is shutting down (a shard being removed) answers 503 in plain text: that shard did not answer
    // (from the front door, it is a failure the comparison reports), not a crash of the test.
    const text = await res.text().catch((e: Error) => e);
    if (text instanceof Error) return { values: null, path, reason, error: text.message };
    let body: { status: string; error?: string; data: { result: Array<{ values: Values }> } };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      return { values: null, path, reason, error: `HTTP ${res.status}, not JSON: ${text.slice(0, 100)}` };
    }
    if (body.status !== 'success') return { values: null, path, reason, error: body.error };
    if (body.data.result.length > 1) return { values: null, path, reason, error: `${body.data.result.length} series` };
    return { values: body.data.result[0]?.values ?? [], path, reason };
  };
  while (comparing) {
    const round = Date.now();
    const end = Math.floor(Date.now() / 1000) - 2;
    if (end >= from + 2) {
      const [before, list] = await Promise.all([moveHistory(api), fetchShards(api).then((r) => r[0]?.shards ?? [])]);
      for (const s of list) seen.add(ordinal(s));
      const jobs = RANGE_QUERIES.flatMap(({ q, readsBeforeMs }) => (['whole', 'last'] as const).map(async (window) => {
        const start = window === 'whole' ? from : Math.max(from, end - LAST_S);
        const [view, ref, ...shards] = await Promise.all([matrix(api, q, start, end), matrix(reference!.url, q, start, end), ...list.map((s) => matrix(s.url, q, start, end))]);
        let naive: Values | null = null;
        if (shards.every((a) => a.values !== null)) {
          const sum = new Map<number, number>();
          for (const a of shards) for (const [t, v] of a.values!) sum.set(t, (sum.get(t) ?? 0) + Number(v));
          naive = [...sum].sort((x, y) => x[0] - y[0]).map(([t, v]) => [t, String(v)]);
        }
        return { q, window, start, end, readsBeforeMs, view, ref, naive };
      }));
      const answers = await Promise.all(jobs);
      const [after, listAfter] = await Promise.all([moveHistory(api), fetchShards(api).then((r) => r[0]?.shards ?? [])]);
      // Gone, or drained and idle (removed after --shard.max-idle-time, its data with it, maybe while still listed).
      const present = new Set([...list, ...listAfter].filter((s) => !(s.targets === 0 && s.idleSince !== null)).map(ordinal));
      const removed = [...seen].filter((o) => !present.has(o));
      const ids = (l: ShardRow[]) => l.map((s) => s.id).join(',');
      for (const a of answers) {
        const [fromMs, toMs] = [a.start * 1000 - a.readsBeforeMs, a.end * 1000];
        let detail: string | undefined;
        if (a.view.values?.some(([, v]) => v !== '4')) {
          // Where the instances were: per instance, the first and last step it has, in the view and on each shard.
          const spans = async (base: string) => {
            const res = await fetch(`${base}/api/v1/query_range?${new URLSearchParams({ query: 'count by (instance) (up)', start: String(a.start), end: String(a.end), step: '1' })}`).catch(() => null);
            const r = res?.ok ? ((await res.json()) as { data: { result: Array<{ metric: { instance: string }; values: Values }> } }).data.result : [];
            return r.map((x) => `${x.metric.instance.replace(/.*:/, ':')} ${x.values.length}@${x.values[0]?.[0]}..${x.values.at(-1)?.[0]}`).join(', ');
          };
          const [view, ...per] = await Promise.all([spans(api), ...listAfter.map((s) => spans(s.url))]);
          detail = `view (again): ${view}; ${listAfter.map((s, i) => `${s.id}${s.ready ? '' : ' (not ready)'}: ${per[i]}`).join('; ')}; moves ${JSON.stringify(after?.moves)}`;
        }
        out.push({
          q: a.q, window: a.window, start: a.start, end: a.end, path: a.view.path, reason: a.view.reason,
          expected: [moveReason(before, fromMs, toMs), moveReason(after, fromMs, toMs)],
          removedData: before === null || movesCrossed(before, fromMs, toMs).some((m) => removed.includes(m.from) || removed.includes(m.to)),
          shardsChanged: ids(list) !== ids(listAfter),
          view: a.view.values, viewError: a.view.error, ref: a.ref.values, refError: a.ref.error, naive: a.naive, detail,
        });
      }
    }
    await new Promise((r) => setTimeout(r, Math.max(0, 2000 - (Date.now() - round))));
  }
  return out;
}

/** Asserts what compareWithReference saw (see the file's comment) and reports it. */
function reportComparison(t: { diagnostic(m: string): void }, all: Compared[]): void {
  const failures: string[] = [];
  const same = (a: Values, b: Values) => a.length === b.length && a.every(([t, v], i) => t === b[i]![0] && v === b[i]![1]);
  const n = { pushdown: 0, moved: 0, crossedUnsure: 0, compared: 0, removedData: 0, shardsChanged: 0, naiveWrong: 0, refSteps: 0, refMissed: 0 };
  for (const c of all) {
    const what = `${c.q} over ${c.window} [${c.start}, ${c.end}] (${c.path}${c.reason ? ` ${c.reason}` : ''})`;
    if (c.path === 'pushdown') n.pushdown++;
    if (c.path === 'remote-read' && c.reason === 'moved') n.moved++;
    const [expected, expectedAfter] = c.expected;
    if (expected !== expectedAfter) n.crossedUnsure++; // a move logged while the query ran: either path is right
    else if (expected !== null && (c.path !== 'remote-read' || c.reason !== expected)) failures.push(`${what}: reads across a move (or before the move log), not answered by remote read (${expected})`);
    else if (expected === null && (c.path !== 'pushdown' || c.reason !== null)) failures.push(`${what}: reads across no move, not pushed down`);
    if (c.view === null) {
      failures.push(`${what}: ${c.viewError}`);
      continue;
    }
    if (c.ref === null) {
      failures.push(`${what}: the reference failed: ${c.refError}`);
      continue;
    }
    // `up` is written at every scrape, failed or not: the reference counts 4 at every step unless a scrape of its own
    // came more than 2 s late (count(last_over_time(up[2s]))). There the 4 targets, scraped all along by the
    // shards (the gap checks below), are the truth the front door is held to.
    const steps = Array.from({ length: c.end - c.start + 1 }, (_, i) => c.start + i);
    const refAt = new Map(c.ref.map(([t, v]) => [t, v]));
    n.refSteps += steps.length;
    n.refMissed += steps.filter((t) => refAt.get(t) !== '4').length;
    if (c.ref.some(([t, v]) => t < c.start || t > c.end || (v !== '4' && v !== '3'))) failures.push(`${what}: the reference counts ${JSON.stringify(c.ref.filter(([, v]) => v !== '4'))}`);
    const want: Values = steps.map((t) => [t, '4']);
    if (expected === 'moved' && c.naive?.some(([, v]) => Number(v) > 4)) n.naiveWrong++;
    // Data of a removed shard left with it (docs/global-view.md); a shard that came or went during the query: not comparable.
    if (c.removedData) {
      n.removedData++;
      continue;
    }
    if (c.shardsChanged) {
      n.shardsChanged++;
      continue;
    }
    n.compared++;
    if (!same(c.view, want)) failures.push(`${what}: the front door ${JSON.stringify(c.view.filter(([, v]) => v !== '4').slice(0, 5))} in ${c.view.length} steps; 4 targets at each of ${steps.length} steps (the reference: ${steps.length - steps.filter((t) => refAt.get(t) !== '4').length}); ${c.detail}`);
  }
  t.diagnostic(`${all.length} range queries through the front door: ${n.pushdown} pushed down, ${n.moved} by remote read across a move, ${n.crossedUnsure} with a move logged meanwhile; ${n.compared} compared with the reference at every step, ${n.removedData} not (they read data of a shard removed or about to be), ${n.shardsChanged} not (a shard came or went meanwhile); the shards' answers summed count more than 4 targets in ${n.naiveWrong} windows across a move; the reference missed a target at ${n.refMissed} of ${n.refSteps} steps`);
  assert.deepEqual(failures.slice(0, 10), [], `${failures.length} of ${all.length} range queries wrong`);
  assert.ok(n.pushdown >= 2, `${n.pushdown} windows pushed down`);
  assert.ok(n.moved >= 2, `${n.moved} windows answered by remote read across a move`);
  assert.ok(n.compared >= 20, `${n.compared} of ${all.length} compared with the reference`);
  assert.ok(n.refMissed <= n.refSteps * 0.02, `the reference missed a target at ${n.refMissed} of ${n.refSteps} steps`);
  assert.ok(n.naiveWrong >= 1, 'in some window across a move, the shards\' answers summed count a moved target twice (what the remote-read path avoids)');
}
