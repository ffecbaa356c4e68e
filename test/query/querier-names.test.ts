/**
 * QuerierNames (src/query/querier-names.ts) against two small HTTP servers standing in for the global querier before
 * and after it moved to another port: the names come from the querier's label values and rules, the URL is read at
 * each refresh, and a refresh that fails keeps the names last read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '../../src/logger.js';
import { QuerierNames } from '../../src/query/querier-names.js';

/** A querier's two endpoints that QuerierNames reads: its metric names and one recording rule. */
async function fakeQuerier(names: string[], recorded: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const data = req.url?.startsWith('/api/v1/label/__name__/values') ? names
      : req.url?.startsWith('/api/v1/rules') ? { groups: [{ name: 'g', rules: [{ type: 'recording', name: recorded }] }] }
      : null;
    res.writeHead(data === null ? 404 : 200, { 'content-type': 'application/json' }).end(JSON.stringify(data === null ? { status: 'error', error: 'no' } : { status: 'success', data }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

test('the querier\'s names are read from the URL it has at each refresh, and kept when a refresh fails', async () => {
  const before = await fakeQuerier(['ALERTS', 'x_before'], 'job:before:sum');
  const after = await fakeQuerier(['x_after'], 'job:after:sum');
  let url = before.url;
  const names = new QuerierNames(() => url, silentLogger());
  try {
    await names.refresh();
    assert.deepEqual([...names.current!].sort(), ['ALERTS', 'job:before:sum', 'x_before']);
    url = after.url; // the querier moved
    await names.refresh();
    assert.deepEqual([...names.current!].sort(), ['job:after:sum', 'x_after']);
    url = 'http://127.0.0.1:1'; // nothing answers: the names last read stay
    await names.refresh();
    assert.deepEqual([...names.current!].sort(), ['job:after:sum', 'x_after']);
  } finally {
    names.stop();
    before.server.close();
    after.server.close();
  }
});
