/** The explorer's queue (src/coordinator/explore.ts): every wanted target probed once, at most `concurrency` at a time. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
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
  const target = (i: number): Probed => ({ hash: `h${i}`, scrapeUrl: `http://t${i}:9100/metrics`, labels: {}, timeout: 1000 });
  for (let i = 0; i < 5000; i++) explorer.want(target(i), scOf(i));
  for (let i = 0; i < 5000; i += 3) explorer.want(target(i), scOf(i)); // already queued: not twice
  for (let k = 0; k < 10_000 && explorer.pending > 0; k++) await new Promise((r) => setImmediate(r));
  assert.equal(explorer.pending, 0);
  assert.equal(probed.size, 5000);
  assert.ok([...probed.values()].every((n) => n === 1), 'each probed once');
  assert.equal(wrongConfig, 0, 'each probed with its own job\'s config');
  assert.ok(most <= 4 && most >= 2, `in flight at most 4 (saw ${most})`);
  assert.equal(explorer.result('h12')!.series, 12 % 7);
  assert.equal(explorer.takeChanged().size, 5000, 'every result is a change');
  explorer.want(target(12), sc); // done and ok: not again
  assert.equal(explorer.pending, 0);
  assert.equal(explorer.takeChanged().size, 0, 'nothing new since');
  explorer.retain(new Set(['h1']));
  assert.equal(explorer.size, 1);
  const forgotten = explorer.takeChanged();
  assert.equal(forgotten.size, 4999);
  assert.ok(!forgotten.has('h1') && forgotten.has('h2'), 'the forgotten ones are the changes');
  await explorer.close();
});

test('explorer: a failed probe is retried after its back-off; a target forgotten while queued is not probed, while running its answer is dropped', async () => {
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
  const target = (h: string): Probed => ({ hash: h, scrapeUrl: `http://${h}:9100/metrics`, labels: {}, timeout: 1000 });
  const settle = async (): Promise<void> => {
    for (let k = 0; k < 100 && (gates.length > 0 || explorer.pending > 0); k++) {
      gates.splice(0).forEach((open) => open());
      await new Promise((r) => setImmediate(r));
    }
  };
  explorer.want(target('a'), sc);
  assert.equal(explorer.result('a'), undefined, 'no result before the first probe ends');
  await settle();
  const { ok, series, error, atMs, attempts, retryAtMs } = explorer.result('a')!;
  assert.deepEqual({ ok, series, error, atMs, attempts, retryAtMs }, { ok: false, series: 0, error: 'refused', atMs: now, attempts: 1, retryAtMs: now + 5000 });
  assert.deepEqual([...explorer.takeChanged()], ['a']);
  explorer.want(target('a'), sc);
  assert.equal(explorer.pending, 0, 'not again before its retry time');
  now += 5000;
  fail = false;
  explorer.want(target('a'), sc);
  explorer.want(target('a'), sc);
  assert.equal(explorer.pending, 1, 'the retry is asked for once');
  await settle();
  assert.equal(explorer.result('a')!.ok, true);
  assert.equal(explorer.result('a')!.attempts, 2);
  // b runs (concurrency 1), c waits; both are forgotten.
  explorer.want(target('b'), sc);
  explorer.want(target('c'), sc);
  assert.equal(explorer.pending, 2);
  explorer.retain(new Set(['a']));
  await settle();
  assert.deepEqual(probed, ['a', 'a', 'b'], 'c was forgotten before its turn');
  assert.equal(explorer.result('b'), undefined, "b's answer came to nobody");
  assert.deepEqual([...explorer.takeChanged()], ['a'], 'forgetting targets without a result changes nothing');
  assert.equal(explorer.size, 1);
  await explorer.close();
});
