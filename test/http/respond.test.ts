/**
 * The streamed envelope (src/http/respond.ts `apiSuccessLists`), over real loopback HTTP: the same bytes as
 * `apiSuccess`; written as it is made (shown by a client that reads nothing: only a few items are made), and
 * stopping for a client that went away.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import fc from 'fast-check';
import { apiSuccessLists } from '../../src/http/respond.js';

const closers: Array<() => void> = [];
after(() => {
  for (const c of closers) c();
});

type Lists = Array<[string, unknown[]]>;

/** A server answering every request with `answer(res)`; returns its port. */
async function serve(answer: (res: ServerResponse) => Promise<void>): Promise<number> {
  const server = createServer((_req, res) => void answer(res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return (server.address() as { port: number }).port;
}

/** Items made one at a time, counting how many were asked for. */
function counted(n: number, item: (i: number) => unknown): { items: Iterable<unknown>; pulled: number } {
  const c = { items: [] as Iterable<unknown>, pulled: 0 };
  c.items = (function* () {
    for (let i = 0; i < n; i++) {
      c.pulled++;
      yield item(i);
    }
  })();
  return c;
}

test('the same bytes as JSON.stringify of the envelope, for any lists (generators included)', async () => {
  let lists: Lists = [];
  let asGenerators = false;
  const port = await serve((res) => apiSuccessLists(res, lists.map(([k, xs]) => [k, asGenerators ? (function* () { yield* xs; })() : xs])));
  // JSON values only: what JSON.stringify writes for an item is what the list holds. Keys start with a letter: an
  // object puts integer-like keys first, and the lists' order is the answer's.
  const item = fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)) as unknown);
  await fc.assert(fc.asyncProperty(fc.uniqueArray(fc.tuple(fc.string().map((k) => `k${k}`), fc.array(item, { maxLength: 6 })), { maxLength: 3, selector: ([k]) => k }), fc.boolean(), async (ls, gen) => {
    lists = ls;
    asGenerators = gen;
    const res = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.equal(await res.text(), JSON.stringify({ status: 'success', data: Object.fromEntries(ls) }));
  }), { numRuns: 200 });
});

test('a large answer arrives whole, chunked, without a Content-Length', async () => {
  const n = 20_000;
  const entry = (i: number) => ({ labels: { instance: `10.0.${i >> 8}.${i & 255}:9100`, job: 'pods' }, padding: 'x'.repeat(200) });
  const port = await serve((res) => apiSuccessLists(res, [['activeTargets', counted(n, entry).items], ['droppedTargets', []]]));
  const res = await fetch(`http://127.0.0.1:${port}/`);
  assert.equal(res.headers.get('content-length'), null);
  assert.equal(res.headers.get('transfer-encoding'), 'chunked');
  const body = (await res.json()) as { status: string; data: { activeTargets: unknown[]; droppedTargets: unknown[] } };
  assert.equal(body.status, 'success');
  assert.equal(body.data.activeTargets.length, n);
  assert.deepEqual(body.data.activeTargets[n - 1], entry(n - 1));
  assert.deepEqual(body.data.droppedTargets, []);
});

test('a client that does not read holds the writer back; one that goes away ends it', { timeout: 20_000 }, async () => {
  // About 200 MB of items: far more than the socket's buffers hold.
  const n = 100_000;
  const made = counted(n, (i) => ({ i, padding: 'y'.repeat(2000) }));
  let finished: Promise<void> = Promise.resolve();
  const port = await serve((res) => (finished = apiSuccessLists(res, [['items', made.items]])));
  const sock = connect(port, '127.0.0.1');
  await once(sock, 'connect');
  sock.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await once(sock, 'data');
  sock.pause();
  await new Promise((r) => setTimeout(r, 300));
  const whilePaused = made.pulled;
  assert.ok(whilePaused > 0 && whilePaused < n / 4, `items made while the client read nothing: ${whilePaused} of ${n}`);
  sock.destroy();
  await finished;
  assert.ok(made.pulled < n / 4, `items made in all, the client gone: ${made.pulled} of ${n}`);
});
