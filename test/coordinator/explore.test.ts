/** The explorer's queue (src/coordinator/explore.ts): every wanted target probed once, at most `concurrency` at a time. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Explorer, type Probed } from '../../src/coordinator/explore.js';
import { parseConfig, type ScrapeConfig } from '../../src/config/config.js';
import { silentLogger } from '../../src/logger.js';

test('explorer: 5,000 wanted targets are each probed once, with the config asked for, at most 4 in flight; results count as changes', async () => {
  const [sc, other] = parseConfig('scrape_configs: [{job_name: j}, {job_name: k}]\n', 'p.yml').scrapeConfigs as [ScrapeConfig, ScrapeConfig];
  // Every third target's job is k: its probe must run with k's config (queued beside it, past the queue's trims).
  const scOf = (i: number): ScrapeConfig => (i % 3 === 1 ? other : sc);
  let wrongConfig = 0;
  let inFlight = 0;
  let most = 0;
  const probed = new Map<string, number>();
  const explorer = new Explorer(4, silentLogger(), Date.now, async (_client, t) => {
    inFlight++;
    most = Math.max(most, inFlight);
    probed.set(t.target.hash, (probed.get(t.target.hash) ?? 0) + 1);
    if (t.sc !== scOf(Number(t.target.hash.slice(1)))) wrongConfig++;
    await new Promise((r) => setImmediate(r));
    inFlight--;
    return { series: Number(t.target.hash.slice(1)) % 7, error: '' };
  });
  const target = (i: number): Probed => ({ hash: `h${i}`, seat: i, scrapeUrl: `http://t${i}:9100/metrics`, labels: {}, timeout: 1000 });
  for (let i = 0; i < 5000; i++) explorer.want(target(i), scOf(i));
  for (let i = 0; i < 5000; i += 3) explorer.want(target(i), scOf(i)); // already queued: not twice
  for (let k = 0; k < 10_000 && explorer.pending > 0; k++) await new Promise((r) => setImmediate(r));
  assert.equal(explorer.pending, 0);
  assert.equal(probed.size, 5000);
  assert.ok([...probed.values()].every((n) => n === 1), 'each probed once');
  assert.equal(wrongConfig, 0, 'each probed with its own job\'s config');
  assert.ok(most <= 4 && most >= 2, `in flight at most 4 (saw ${most})`);
  assert.equal(explorer.result(target(12))!.series, 12 % 7);
  assert.equal(explorer.takeChanged().length, 5000, 'every result is a change');
  explorer.want(target(12), sc); // done and ok: not again
  assert.equal(explorer.pending, 0);
  assert.equal(explorer.takeChanged().length, 0, 'nothing new since');
  explorer.retain(new Map([['h1', target(1)]]));
  assert.equal(explorer.size, 1);
  const forgotten = explorer.takeChanged();
  assert.equal(forgotten.length, 4999);
  assert.ok(!forgotten.includes('h1') && forgotten.includes('h2'), 'the forgotten ones are the changes');
  await explorer.close();
});

test('explorer: results are kept as later targets take new slots (the columns grow), failed ones with their error and next try; probes of targets asked for again wait across the growth', async () => {
  const sc = parseConfig('scrape_configs: [{job_name: j}]\n', 'p.yml').scrapeConfigs[0]!;
  const now = 5_000_000;
  const explorer = new Explorer(8, silentLogger(), () => now, async (_client, t) => {
    const i = Number(t.target.hash.slice(1));
    return i % 5 === 0 ? { series: 0, error: `refused ${i}` } : { series: i * 3, error: '' };
  });
  const target = (i: number): Probed => ({ hash: `h${i}`, seat: i, scrapeUrl: `http://t${i}:9100/metrics`, labels: {}, timeout: 1000 });
  const settle = async (): Promise<void> => {
    for (let k = 0; k < 10_000 && explorer.pending > 0; k++) await new Promise((r) => setImmediate(r));
  };
  // Answered in three waves, each past the columns' length so far: each wave's answers are written before the next
  // wave's asks make the columns grow. Before each later wave, the first 100 targets are forgotten and asked for
  // again: their slots' generations were raised, and their probes wait while the columns grow.
  for (const [from, to] of [[0, 700], [700, 2500], [2500, 9000]] as const) {
    if (from > 0) for (let i = 0; i < 100; i++) (explorer.forget(target(i)), explorer.want(target(i), sc));
    for (let i = from; i < to; i++) explorer.want(target(i), sc);
    await settle();
  }
  for (let i = 0; i < 9000; i++) {
    const r = explorer.result(target(i))!;
    const failed = i % 5 === 0;
    assert.deepEqual({ ok: r.ok, series: r.series, error: r.error, attempts: r.attempts, retryAtMs: r.retryAtMs },
      { ok: !failed, series: failed ? 0 : i * 3, error: failed ? `refused ${i}` : '', attempts: 1, retryAtMs: failed ? now + 5000 : 0 }, `h${i}`);
  }
  await explorer.close();
});

test('explorer: a failed probe is retried after its back-off; a target forgotten while queued is not probed, while running its answer is dropped; one seated afresh keeps its result, its queued retry asked for again from its new seat', async () => {
  const sc = parseConfig('scrape_configs: [{job_name: j}]\n', 'p.yml').scrapeConfigs[0]!;
  let now = 1_000_000;
  const probed: string[] = [];
  let fail = true;
  const gates: Array<() => void> = [];
  const explorer = new Explorer(1, silentLogger(), () => now, async (_client, t) => {
    probed.push(t.target.hash);
    await new Promise<void>((r) => gates.push(r));
    return fail ? { series: 0, error: 'refused' } : { series: 3, error: '' };
  });
  const target = (h: string): Probed => ({ hash: h, seat: h.charCodeAt(0) - 97, scrapeUrl: `http://${h}:9100/metrics`, labels: {}, timeout: 1000 });
  const settle = async (): Promise<void> => {
    for (let k = 0; k < 100 && (gates.length > 0 || explorer.pending > 0); k++) {
      gates.splice(0).forEach((open) => open());
      await new Promise((r) => setImmediate(r));
    }
  };
  explorer.want(target('a'), sc);
  assert.equal(explorer.result(target('a')), undefined, 'no result before the first probe ends');
  await settle();
  const { ok, series, error, attempts, retryAtMs } = explorer.result(target('a'))!;
  assert.deepEqual({ ok, series, error, attempts, retryAtMs }, { ok: false, series: 0, error: 'refused', attempts: 1, retryAtMs: now + 5000 });
  assert.deepEqual([...explorer.takeChanged()], ['a']);
  explorer.want(target('a'), sc);
  assert.equal(explorer.pending, 0, 'not again before its retry time');
  now += 5000;
  fail = false;
  explorer.want(target('a'), sc);
  explorer.want(target('a'), sc);
  assert.equal(explorer.pending, 1, 'the retry is asked for once');
  await settle();
  assert.equal(explorer.result(target('a'))!.ok, true);
  assert.equal(explorer.result(target('a'))!.attempts, 2);
  // b runs (concurrency 1), c waits; both are forgotten.
  explorer.want(target('b'), sc);
  explorer.want(target('c'), sc);
  assert.equal(explorer.pending, 2);
  explorer.retain(new Map([['a', target('a')]]));
  await settle();
  assert.deepEqual(probed, ['a', 'a', 'b'], 'c was forgotten before its turn');
  assert.equal(explorer.result(target('b')), undefined, "b's answer came to nobody");
  assert.deepEqual([...explorer.takeChanged()], ['a'], 'forgetting targets without a result changes nothing');
  assert.equal(explorer.size, 1);
  // z fails; its retry is queued behind a running probe when the population seats every target afresh: z's result
  // moves to its new seat, the queued retry is of the old seat (not run), and the next ask queues it again.
  fail = true;
  explorer.want(target('z'), sc);
  await settle();
  now += 5000;
  explorer.want(target('y'), sc);
  explorer.want(target('z'), sc);
  assert.equal(explorer.pending, 2, 'y running, z queued');
  const z = { ...target('z'), seat: 30 };
  explorer.retain(new Map([['a', target('a')], ['y', target('y')], ['z', z]]));
  assert.equal(explorer.result(z)?.attempts, 1, "z's result at its new seat");
  assert.equal(explorer.result(target('z')), undefined, 'none at its old one');
  explorer.want(z, sc);
  assert.equal(explorer.pending, 3, 'z asked for again at its seat');
  await settle();
  assert.deepEqual(probed.slice(-3), ['z', 'y', 'z'], "z's retry ran once, from its new seat");
  assert.equal(explorer.result(z)?.attempts, 2);
  await explorer.close();
});

/** What a model explorer holds per target: its first probe pending, or its last result. */
type ModelState = 'first' | { ok: boolean; series: number; error: string; attempts: number; retryAtMs: number; busy: boolean };

type Op = { want: number } | { forget: number } | { again: number } | { retain: number[] } | { reseat: number } | { answer: [number, boolean] } | { tick: number } | { take: true };

/** Hashes as the coordinator's (16 hex digits) and others (tests' short names). */
const POOL = ['0123456789abcdef', 'fedcba9876543210', '00000000000000ff', 'a', 'b', 'c'];

const exploreOp: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.nat(POOL.length - 1).map((want) => ({ want })), weight: 6 },
  { arbitrary: fc.nat(POOL.length - 1).map((forget) => ({ forget })), weight: 2 },
  // A target gone and back at once (forgotten, then asked for): its queued or running probe is of the old one.
  { arbitrary: fc.nat(POOL.length - 1).map((again) => ({ again })), weight: 2 },
  { arbitrary: fc.subarray(POOL.map((_, k) => k)).map((retain) => ({ retain })), weight: 1 },
  // The population seated afresh (after a failed update): each target held gets another seat, rotated by `reseat`.
  { arbitrary: fc.nat(POOL.length - 1).map((reseat) => ({ reseat })), weight: 1 },
  { arbitrary: fc.tuple(fc.nat(5), fc.boolean()).map((answer) => ({ answer })), weight: 5 },
  { arbitrary: fc.constantFrom(1000, 5000, 20_000).map((tick) => ({ tick })), weight: 1 },
  { arbitrary: fc.constant({ take: true as const }), weight: 1 },
);

test('explorer: results (at their seats only), pending probes, changes and the probes run follow a model through asks, answers, forgets, retains and seats handed over or given afresh, in any order', async () => {
  const sc = parseConfig('scrape_configs: [{job_name: j}]\n', 'p.yml').scrapeConfigs[0]!;
  // Cases the model must meet, counted over all runs: an answer for a target forgotten while its probe ran (dropped),
  // a queued probe of a forgotten target (skipped), and a hash forgotten and answered again between two takes.
  let dropped = 0;
  let skipped = 0;
  let relisted = 0;
  let handedOver = 0;
  let movedWithResult = 0;
  await fc.assert(fc.asyncProperty(fc.array(exploreOp, { maxLength: 80 }), fc.integer({ min: 1, max: 2 }), async (ops, concurrency) => {
    let now = 1_000_000;
    const running: Array<{ hash: string; answer: (r: { series: number; error: string }) => void }> = [];
    const probed: string[] = [];
    const explorer = new Explorer(concurrency, silentLogger(), () => now, (_client, t) => new Promise((answer) => {
      probed.push(t.target.hash);
      running.push({ hash: t.target.hash, answer });
    }));
    // Seats as the population gives them (seats.ts): a hash known to the model holds one, given back when it is
    // forgotten and taken by the next new hash (last given back, first taken).
    const seatOf = new Map<string, number>();
    const lastHolder = new Map<number, string>();
    let freeSeats: number[] = [];
    let nextSeat = 0;
    const target = (hash: string): Probed => ({ hash, seat: seatOf.get(hash)!, scrapeUrl: `http://${hash}:9100/metrics`, labels: {}, timeout: 1000 });
    const seated = (hash: string): Probed => {
      if (!seatOf.has(hash)) {
        const seat = freeSeats.pop() ?? nextSeat++;
        if (lastHolder.has(seat) && lastHolder.get(seat) !== hash) handedOver++;
        seatOf.set(hash, seat);
        lastHolder.set(seat, hash);
      }
      return target(hash);
    };

    // The model: a map of states, a generation per hash raised when it is forgotten, a queue and the running probes.
    const state = new Map<string, ModelState>();
    const generation = new Map<string, number>();
    const queue: Array<{ hash: string; gen: number }> = [];
    const mRunning: Array<{ hash: string; gen: number }> = [];
    const mProbed: string[] = [];
    const changed = new Set<string>();
    const forgottenSinceTake = new Set<string>();
    const current = (hash: string, gen: number): boolean => state.has(hash) && (generation.get(hash) ?? 0) === gen;
    const pump = (): void => {
      while (mRunning.length < concurrency && queue.length > 0) {
        const q = queue.shift()!;
        if (!current(q.hash, q.gen)) {
          skipped++;
          continue;
        }
        mRunning.push(q);
        mProbed.push(q.hash);
      }
    };
    const forget = (hash: string): void => {
      const st = state.get(hash);
      if (st === undefined) return;
      if (st !== 'first') changed.add(hash);
      state.delete(hash);
      generation.set(hash, (generation.get(hash) ?? 0) + 1);
      forgottenSinceTake.add(hash);
      freeSeats.push(seatOf.get(hash)!);
      seatOf.delete(hash);
    };
    /** Forgets `hash` in the model and the explorer (with the seat it held). */
    const forgetBoth = (hash: string): void => {
      const t = seatOf.has(hash) ? target(hash) : undefined;
      forget(hash);
      if (t) explorer.forget(t);
    };

    const want = (hash: string): void => {
      const st = state.get(hash);
      let ask = false;
      if (st === undefined) {
        state.set(hash, 'first');
        ask = true;
      } else if (st !== 'first' && !st.busy && !st.ok && now >= st.retryAtMs) {
        st.busy = true;
        ask = true;
      }
      if (ask) queue.push({ hash, gen: generation.get(hash) ?? 0 });
      pump();
      explorer.want(seated(hash), sc);
    };

    const take = (): void => {
      const took = explorer.takeChanged();
      assert.equal(new Set(took).size, took.length, 'each hash once');
      assert.deepEqual([...took].sort(), [...changed].sort());
      changed.clear();
      forgottenSinceTake.clear();
    };

    for (const o of ops) {
      if ('want' in o) want(POOL[o.want]!);
      else if ('forget' in o) forgetBoth(POOL[o.forget]!);
      else if ('again' in o) {
        forgetBoth(POOL[o.again]!);
        want(POOL[o.again]!);
      } else if ('retain' in o) {
        const keep = new Set(o.retain.map((k) => POOL[k]!));
        for (const hash of [...state.keys()]) if (!keep.has(hash)) forget(hash);
        explorer.retain(new Map([...state.keys()].map((h) => [h, target(h)])));
      } else if ('reseat' in o) {
        // Seats given afresh from 0, in the held hashes' order rotated: a target whose seat changed keeps its result
        // (not asked again), a probe of it queued or running is answered to nobody, and one without a result is
        // forgotten quietly (its first probe is asked for again by the next want).
        const held = [...seatOf.keys()];
        const order = held.map((_, k) => held[(k + o.reseat) % held.length]!);
        const before = new Map(seatOf);
        seatOf.clear();
        order.forEach((h, seat) => seatOf.set(h, seat));
        freeSeats = [];
        nextSeat = held.length;
        explorer.retain(new Map(held.map((h) => [h, target(h)])));
        for (const h of held) {
          const st = state.get(h);
          if (st === undefined || seatOf.get(h) === before.get(h)) continue;
          generation.set(h, (generation.get(h) ?? 0) + 1);
          if (st === 'first') state.delete(h);
          else {
            st.busy = false;
            movedWithResult++;
          }
        }
      } else if ('answer' in o) {
        if (running.length === 0) continue;
        const k = o.answer[0] % running.length;
        const [ran] = running.splice(k, 1);
        const [m] = mRunning.splice(k, 1);
        assert.equal(ran!.hash, m!.hash, 'the same probe runs at the same place');
        const r = o.answer[1] ? { series: m!.hash.length, error: '' } : { series: 0, error: 'refused' };
        if (current(m!.hash, m!.gen)) {
          const st = state.get(m!.hash)!;
          const attempts = st === 'first' ? 1 : st.attempts + 1;
          const ok = r.error === '';
          if (forgottenSinceTake.has(m!.hash) && changed.has(m!.hash)) relisted++;
          state.set(m!.hash, { ok, series: r.series, error: r.error, attempts, retryAtMs: ok ? 0 : now + Math.min(300_000, 5000 * 2 ** (attempts - 1)), busy: false });
          changed.add(m!.hash);
        } else dropped++;
        pump();
        ran!.answer(r);
        await new Promise((resolve) => setImmediate(resolve));
      } else if ('tick' in o) now += o.tick;
      else take();
      assert.equal(explorer.size, state.size);
      assert.equal(explorer.pending, queue.length + mRunning.length);
      for (const hash of POOL) {
        const st = state.get(hash);
        for (let seat = 0; seat <= POOL.length; seat++) {
          const got = explorer.result({ hash, seat });
          if (st === undefined || st === 'first' || seatOf.get(hash) !== seat) assert.equal(got, undefined, `${hash} at ${seat}`);
          else {
            const { ok, series, error, attempts, retryAtMs } = got!;
            assert.deepEqual({ ok, series, error, attempts, retryAtMs }, { ok: st.ok, series: st.series, error: st.error, attempts: st.attempts, retryAtMs: st.retryAtMs }, hash);
          }
        }
      }
    }
    take(); // what the last steps changed, told too
    assert.deepEqual(probed, mProbed);
    await explorer.close();
  }), { numRuns: 2000 });
  assert.ok(dropped >= 50 && skipped >= 15 && relisted >= 4 && handedOver >= 40 && movedWithResult >= 15,
    `the edge cases were drawn (dropped ${dropped}, skipped ${skipped}, relisted ${relisted}, seats handed over ${handedOver}, moved with a result ${movedWithResult})`);
});

test("explorer: a forgotten target's seat taken by another: the other's answer is a change, the old one's queued probe does not run; a target back and answered again is told once; a seat taken without its last target forgotten forgets it", async () => {
  const sc = parseConfig('scrape_configs: [{job_name: j}]\n', 'p.yml').scrapeConfigs[0]!;
  const running: Array<{ hash: string; answer: (r: { series: number; error: string }) => void }> = [];
  const explorer = new Explorer(1, silentLogger(), () => 0, (_client, t) => new Promise((answer) => running.push({ hash: t.target.hash, answer })));
  const target = (hash: string, seat: number): Probed => ({ hash, seat, scrapeUrl: `http://${hash}:9100/metrics`, labels: {}, timeout: 1000 });
  const answerNext = async (): Promise<string> => {
    const r = running.shift()!;
    r.answer({ series: 1, error: '' });
    await new Promise((resolve) => setImmediate(resolve));
    return r.hash;
  };
  const none = explorer.takeChanged();
  // a answered, then forgotten (a change), and b takes its seat: b's answer is a change too.
  explorer.want(target('0000000000000001', 0), sc);
  await answerNext();
  explorer.forget(target('0000000000000001', 0));
  explorer.want(target('0000000000000002', 0), sc);
  assert.equal(await answerNext(), '0000000000000002');
  assert.deepEqual([...explorer.takeChanged()].sort(), ['0000000000000001', '0000000000000002']);
  assert.equal(explorer.result(target('0000000000000001', 0)), undefined, "the seat's state is b's");
  // b answered, forgotten, asked for again at another seat and answered before the next take: told once.
  explorer.forget(target('0000000000000002', 0));
  explorer.want(target('0000000000000002', 1), sc);
  assert.equal(await answerNext(), '0000000000000002');
  assert.deepEqual([...explorer.takeChanged()], ['0000000000000002']);
  // c runs; d waits in the queue, is forgotten, and e takes its seat: d is not probed, e is, once.
  explorer.want(target('0000000000000003', 0), sc);
  explorer.want(target('0000000000000004', 2), sc);
  explorer.forget(target('0000000000000004', 2));
  explorer.want(target('0000000000000005', 2), sc);
  assert.equal(explorer.pending, 3, 'c running, the queued d (not run) and e');
  assert.equal(await answerNext(), '0000000000000003');
  assert.equal(await answerNext(), '0000000000000005');
  assert.equal(running.length, 0, 'nothing else probed');
  assert.equal(explorer.pending, 0);
  assert.deepEqual([...explorer.takeChanged()].sort(), ['0000000000000003', '0000000000000005']);
  assert.equal(explorer.result(target('0000000000000004', 2)), undefined);
  assert.equal(explorer.size, 3);
  // f's seat asked for by g, f not forgotten first: f is forgotten then (a change), g is probed.
  explorer.want(target('0000000000000006', 3), sc);
  await answerNext();
  explorer.takeChanged();
  explorer.want(target('0000000000000007', 3), sc);
  assert.equal(await answerNext(), '0000000000000007');
  assert.deepEqual([...explorer.takeChanged()].sort(), ['0000000000000006', '0000000000000007']);
  assert.equal(explorer.result(target('0000000000000006', 3)), undefined);
  assert.equal(explorer.size, 4);
  // A release told late (f's, seat 3, now g's) forgets nothing of g.
  explorer.forget(target('0000000000000006', 3));
  assert.equal(explorer.result(target('0000000000000007', 3))?.series, 1, "g's result stays");
  assert.equal(explorer.size, 4);
  assert.equal(none.length, 0, 'a take with nothing changed is not filled by the answers after it');
  await explorer.close();
});
