/**
 * The pushdown executor's decisions (src/query/pushdown.ts): which queries it answers and why it leaves the others
 * to the remote-read path. Answers themselves are checked against real Prometheus in global-view.real.test.ts and
 * gaps.real.test.ts; here, a query that is pushed down goes to shards that do not answer, so its answer is partial.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ServerResponse, IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { QueryPushdown, type PushdownOptions } from '../../src/query/pushdown.js';
import { ApiClient } from '../../src/http/client.js';
import { silentLogger } from '../../src/logger.js';
import type { ReadShard } from '../../src/query/gateway.js';
import type { MoveHistory } from '../../src/coordinator/moves.js';

const NOW = 1_800_000_000_000;
const shard = (ordinal: number, replica = 0, readySinceMs: number | undefined = 0): ReadShard => ({ name: `replica-${replica}/shard-${ordinal}`, url: 'http://127.0.0.1:1', replica, ordinal, readySinceMs });
const noMoves: MoveHistory = { sinceMs: 0, marginMs: 0, moves: [] };

function pushdown(o: Partial<PushdownOptions> = {}): QueryPushdown {
  return new QueryPushdown({
    enabled: true, shards: () => [shard(0), shard(1)], client: new ApiClient({ timeoutMs: 2000, maxResponseBytes: 1 << 20 }), timeoutMs: 2000, partialResponse: true,
    lookbackDeltaMs: 300_000, moves: () => noMoves, querierNames: () => new Set(['job:up:count']), log: silentLogger(), now: () => NOW, ...o,
  });
}

/** A response that keeps what is written to it. */
function capture(): { res: ServerResponse; done: Promise<{ status: number; headers: Record<string, unknown>; body: string }> } {
  const req = new IncomingMessage(new Socket());
  const res = new ServerResponse(req);
  const chunks: Buffer[] = [];
  let resolve!: (v: { status: number; headers: Record<string, unknown>; body: string }) => void;
  const done = new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((r) => (resolve = r));
  res.write = ((c: string | Buffer) => (chunks.push(Buffer.from(c)), true)) as ServerResponse['write'];
  res.end = ((c?: string | Buffer) => {
    if (c) chunks.push(Buffer.from(c));
    resolve({ status: res.statusCode, headers: res.getHeaders(), body: Buffer.concat(chunks).toString('utf8') });
    return res;
  }) as ServerResponse['end'];
  return { res, done };
}

const instant = (query: string, time = String(NOW / 1000)) => new URLSearchParams({ query, time });

async function decide(p: QueryPushdown, params: URLSearchParams, path: '/api/v1/query' | '/api/v1/query_range' = '/api/v1/query'): Promise<string> {
  const { res } = capture();
  return (await p.serve(path, params, res)) ?? 'pushdown';
}

test('--query.pushdown=false, unreadable parameters and unplannable queries take the remote-read path, saying why', async () => {
  assert.equal(await decide(pushdown({ enabled: false }), instant('count(up)')), 'disabled');
  assert.equal(await decide(pushdown(), new URLSearchParams({ time: '1' })), 'params');
  assert.equal(await decide(pushdown(), instant('count(up)', 'yesterday')), 'params');
  assert.equal(await decide(pushdown(), new URLSearchParams({ query: 'count(up)', start: '10', end: '5', step: '1' }), '/api/v1/query_range'), 'params');
  assert.equal(await decide(pushdown(), instant('label_join(up, "a", ",", "b")')), 'unsupported');
  assert.equal(await decide(pushdown(), instant('vector(1)')), 'no_selector');
  assert.equal(await decide(pushdown(), instant('sum(')), 'parse');
});

test('remote stores, ingestors, the querier\'s own series and an unknown move log keep a query off the shards', async () => {
  const store: ReadShard = { ...shard(-1), store: { client: new ApiClient({ timeoutMs: 1, maxResponseBytes: 1 }), timeoutMs: 1, externalLabels: {} } };
  assert.equal(await decide(pushdown({ shards: () => [shard(0), store] }), instant('count(up)')), 'stores');
  assert.equal(await decide(pushdown({ shards: () => [{ ...shard(0), copies: { group: 'g', replication: 2 } }] }), instant('count(up)')), 'replicas');
  assert.equal(await decide(pushdown(), instant('sum(job:up:count)')), 'rules', 'a recording rule\'s name');
  assert.equal(await decide(pushdown(), instant('count({__name__=~"job:.*"})')), 'rules', 'a regex that matches it');
  assert.equal(await decide(pushdown(), instant('count({job="x"})')), 'rules', 'no name: it could be anything');
  assert.equal(await decide(pushdown({ querierNames: () => null }), instant('count(up)')), 'rules', 'not read yet');
  assert.equal(await decide(pushdown({ moves: () => null }), instant('count(up)')), 'no_coordinator');
});

test('a move within the window read, lookback and range and offset included, takes the remote-read path; one before it does not', async () => {
  const moved = (startMs: number, endMs: number | null): MoveHistory => ({ sinceMs: 0, marginMs: 0, moves: [{ hash: 'h', job: 'j', from: 0, to: 1, startMs, endMs }] });
  // count(up) at NOW reads [NOW - 5m, NOW].
  assert.equal(await decide(pushdown({ moves: () => moved(NOW - 200_000, NOW - 100_000) }), instant('count(up)')), 'moved');
  assert.equal(await decide(pushdown({ moves: () => moved(NOW - 400_000, NOW - 301_000) }), instant('count(up)')), 'pushdown');
  // A 10m range reaches it; an offset of 1h reads before it.
  assert.equal(await decide(pushdown({ moves: () => moved(NOW - 500_000, NOW - 450_000) }), instant('sum(rate(up[10m]))')), 'moved');
  assert.equal(await decide(pushdown({ moves: () => moved(NOW - 200_000, NOW - 100_000) }), instant('count(up offset 1h)')), 'pushdown');
  assert.equal(await decide(pushdown({ moves: () => moved(NOW - 200_000, null) }), instant('count(up)')), 'moved', 'a transfer still going');
  assert.equal(await decide(pushdown({ moves: () => moved(NOW - 200_000, null) }), instant('count(up offset 1h)')), 'pushdown', 'it began after the window');
  assert.equal(await decide(pushdown({ moves: () => ({ sinceMs: NOW - 100_000, marginMs: 0, moves: [] }) }), instant('count(up)')), 'history');
  const range = new URLSearchParams({ query: 'count(up)', start: String((NOW - 3600_000) / 1000), end: String(NOW / 1000), step: '60' });
  assert.equal(await decide(pushdown({ moves: () => moved(NOW - 3000_000, NOW - 2900_000) }), range, '/api/v1/query_range'), 'moved');
});

test('with replicas, one seen ready since before the window is read; none such: remote read', async () => {
  const both = (since0: number | undefined, since1: number | undefined) => () => [shard(0, 0, since0), shard(0, 1, since1)];
  assert.equal(await decide(pushdown({ shards: both(NOW - 60_000, NOW - 30_000) }), instant('count(up)')), 'replicas', 'both came up within the 5m lookback');
  assert.equal(await decide(pushdown({ shards: both(undefined, NOW - 400_000) }), instant('count(up)')), 'pushdown', 'replica 1 was ready throughout');
});

test('a pushed-down query whose shards do not answer is partial, with a warning naming each shard; or 503 without partial responses', async () => {
  const { res, done } = capture();
  assert.equal(await pushdown().serve('/api/v1/query', instant('count(up)'), res), null);
  const got = await done;
  assert.equal(got.status, 200);
  assert.equal(got.headers['x-kvass-query-path'], 'pushdown');
  const body = JSON.parse(got.body) as { status: string; data: { resultType: string; result: unknown[] }; warnings: string[] };
  assert.equal(body.status, 'success');
  assert.deepEqual(body.data, { resultType: 'vector', result: [] });
  assert.equal(body.warnings.length, 2);
  assert.match(body.warnings[0]!, /^shard replica-0\/shard-0 \(http:\/\/127\.0\.0\.1:1\): /);

  const strict = capture();
  await pushdown({ partialResponse: false }).serve('/api/v1/query', instant('count(up)'), strict.res);
  const failed = await strict.done;
  assert.equal(failed.status, 503);
  assert.match(JSON.parse(failed.body).error, /partial response disabled/);
});
