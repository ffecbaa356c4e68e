/** The HTTP layer (src/http/): request targets, bounded bodies, the per-request guard, access levels, the pass-through and the client. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { compressSync } from 'snappy';
import { silentLogger } from '../../src/logger.js';
import { parseTarget, HttpError } from '../../src/http/request.js';
import { gunzipBounded, snappyDecode } from '../../src/http/body.js';
import { createKvassServer, type KvassServer } from '../../src/http/server.js';
import { AllowList, passThrough } from '../../src/http/passthrough.js';
import { ApiClient } from '../../src/http/client.js';
import { apiSuccess } from '../../src/http/respond.js';
import type { Access } from '../../src/http/auth.js';

const closers: Array<() => void> = [];
after(() => {
  for (const c of closers) c();
});

async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

/** A raw request line, as curl --request-target sends it; returns the status line. */
async function raw(base: string, lines: string): Promise<string> {
  const { port } = new URL(base);
  const sock = connect(Number(port), '127.0.0.1');
  await once(sock, 'connect');
  sock.write(lines);
  let out = '';
  sock.on('data', (c) => (out += c.toString()));
  await Promise.race([once(sock, 'close'), new Promise((r) => setTimeout(r, 2000))]);
  sock.destroy();
  return out.split('\r\n')[0] ?? '';
}

const req = (url: string) => ({ url, headers: {} }) as IncomingMessage;

test('parseTarget: origin-form only; bad escapes are 400; the path is decoded and trimmed', () => {
  const t = parseTarget(req('/api/v1/label/a%20b/values/?match[]=up&x=%41'));
  assert.equal(t.path, '/api/v1/label/a b/values');
  assert.equal(t.rawPath, '/api/v1/label/a%20b/values/');
  assert.equal(t.query.get('x'), 'A');
  assert.equal(parseTarget(req('/')).path, '/');
  for (const bad of ['http://a:99999/x', '//otherhost:81/x', '*', 'example.com:443', '', '/x%zz', '/x?q=%4', '/%C0%AF']) {
    assert.throws(() => parseTarget(req(bad)), (e: unknown) => e instanceof HttpError && e.status === 400, bad);
  }
});

test('snappy and gzip bodies are checked against their limit before they are inflated', async () => {
  const big = Buffer.alloc(10 << 20, 'a');
  assert.equal(snappyDecode(compressSync(Buffer.from('hello')), 100).toString(), 'hello');
  assert.throws(() => snappyDecode(compressSync(big), 1 << 20), (e: unknown) => e instanceof HttpError && e.status === 413);
  assert.throws(() => snappyDecode(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), 1 << 20), (e: unknown) => e instanceof HttpError && e.status === 400);
  assert.throws(() => snappyDecode(Buffer.from([0x05, 0x01, 0x02]), 1 << 20), (e: unknown) => e instanceof HttpError && e.status === 400);
  assert.equal((await gunzipBounded(gzipSync('hello'), 100)).toString(), 'hello');
  await assert.rejects(gunzipBounded(gzipSync(big), 1 << 20), (e: unknown) => e instanceof HttpError && e.status === 413);
  await assert.rejects(gunzipBounded(Buffer.from('not gzip'), 1 << 20), (e: unknown) => e instanceof HttpError && e.status === 400);
});

async function kvass(access: (m: string, p: string) => Access, handler: Parameters<typeof createKvassServer>[0]['handler'], token?: string): Promise<{ base: string; s: KvassServer }> {
  const s = await createKvassServer({ name: 'test', log: silentLogger(), access, handler, token });
  closers.push(() => s.close());
  return { base: await listen(s.server), s };
}

test('a handler that throws or rejects answers 500 and the server goes on; bad targets answer 400', async () => {
  const { base } = await kvass(() => 'read', (_req, res, t) => {
    if (t.path === '/throw') throw new Error('boom');
    if (t.path === '/reject') return Promise.reject(new Error('late boom'));
    if (t.path === '/half') {
      res.writeHead(200);
      res.write('partial');
      throw new Error('after the headers');
    }
    apiSuccess(res, 'ok');
  });
  assert.equal((await fetch(`${base}/throw`)).status, 500);
  assert.deepEqual(await (await fetch(`${base}/reject`)).json(), { status: 'error', errorType: 'internal', error: 'late boom' });
  await assert.rejects(fetch(`${base}/half`).then((r) => r.text()), 'a response begun is cut, not completed');
  assert.match(await raw(base, 'GET http://a:99999/x HTTP/1.1\r\nhost: x\r\n\r\n'), / 400 /);
  assert.match(await raw(base, 'GET //otherhost:81/x HTTP/1.1\r\nhost: x\r\n\r\n'), / 400 /);
  assert.match(await raw(base, `GET /ok HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20000)}\r\n\r\n`), / 431 /);
  assert.equal((await fetch(`${base}/ok`)).status, 200, 'still serving');
});

test('a kvass server announces a keep-alive timeout above a Go client\'s idle timeout (5 minutes)', async () => {
  const { base } = await kvass(() => 'read', (_req, res) => apiSuccess(res, 'ok'));
  const res = await new Promise<IncomingMessage>((resolve, reject) => httpRequest(`${base}/ok`, { headers: { connection: 'keep-alive' } }, resolve).on('error', reject).end());
  res.resume();
  const timeout = Number(/^timeout=(\d+)$/.exec(String(res.headers['keep-alive']))?.[1]);
  assert.ok(timeout > 300, `keep-alive: ${res.headers['keep-alive']}`);
  res.socket.destroy();
});

test('access levels: open, read and control with a token; control without any credential configured is open', async () => {
  const access = (_m: string, p: string): Access => (p === '/open' ? 'open' : p === '/control' ? 'control' : 'read');
  const ok = (_q: unknown, res: Parameters<typeof apiSuccess>[0]) => apiSuccess(res, 'ok');
  const withToken = (await kvass(access, ok, 's3cret')).base;
  const call = (base: string, p: string, auth?: string) => fetch(base + p, { headers: auth ? { authorization: auth } : {} }).then((r) => r.status);
  assert.equal(await call(withToken, '/open'), 200);
  assert.equal(await call(withToken, '/read'), 200);
  assert.equal(await call(withToken, '/control'), 401);
  assert.equal(await call(withToken, '/control', 'Bearer wrong'), 401);
  assert.equal(await call(withToken, '/control', 'Bearer s3cret'), 200);
  assert.equal(await call(withToken, '/control', 'bearer s3cret'), 200, 'the scheme is case-insensitive');
  const open = (await kvass(access, ok)).base;
  assert.equal(await call(open, '/control'), 200);
});

test('pass-through: fixed upstream, allow-list, hop-by-hop headers dropped, size and time bounded', async () => {
  const seen: Array<{ url: string; headers: IncomingMessage['headers'] }> = [];
  const upstream = await listen(createServer((r, res) => {
    seen.push({ url: r.url!, headers: r.headers });
    if (r.url === '/big') return void res.writeHead(200, { 'content-type': 'text/plain' }).end(Buffer.alloc(2 << 20));
    if (r.url === '/big-declared') return void res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(2 << 20) }).end(Buffer.alloc(2 << 20));
    if (r.url === '/slow') return void setTimeout(() => res.writeHead(200).end('late'), 3000);
    res.writeHead(200, { 'content-type': 'text/plain', connection: 'x-hop', 'x-hop': 'secret', 'x-up': '1' }).end(`upstream saw ${r.url}`);
  }));
  let canary = 0;
  await listen(createServer((_q, res) => { canary++; res.end(); }));
  const allow = new AllowList([{ methods: ['GET'], path: /^\/(ok|big|big-declared|slow)$/ }]);
  const { base } = await kvass(() => 'read', async (q, res, t) => {
    if (!allow.allows(q.method ?? 'GET', t.path)) return apiSuccess(res, 'not forwarded');
    await passThrough(q, res, t, { upstream, name: 'up', timeoutMs: 1000, maxRequestBytes: 1024, maxResponseBytes: 1 << 20, dropRequestHeaders: ['authorization'] });
  });
  const r = await new Promise<IncomingMessage & { text: string }>((resolve, reject) => {
    const q = httpRequest(`${base}/ok?a=1`, { headers: { authorization: 'Bearer x', 'x-keep': 'y', connection: 'keep-alive, x-hop-in', 'x-hop-in': 'z' } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve(Object.assign(res, { text })));
    });
    q.on('error', reject);
    q.end();
  });
  assert.equal(r.text, 'upstream saw /ok?a=1');
  assert.equal(r.headers['x-up'], '1');
  assert.equal(r.headers['x-hop'], undefined, 'a header the upstream named in Connection stays behind');
  const last = seen.at(-1)!;
  assert.equal(last.headers.authorization, undefined);
  assert.equal(last.headers['x-keep'], 'y');
  assert.equal(last.headers['x-hop-in'], undefined);
  assert.equal(last.headers.host, new URL(upstream).host, 'the upstream gets its own host, whatever the client said');
  assert.deepEqual(await (await fetch(`${base}/-/quit`, { method: 'POST' })).json(), { status: 'success', data: 'not forwarded' });
  assert.equal((await fetch(`${base}/big-declared`)).status, 502, 'an answer declared too big is refused before it starts');
  await assert.rejects(fetch(`${base}/big`).then((x) => x.arrayBuffer()), 'an answer that turns out too big is cut');
  assert.equal((await fetch(`${base}/slow`)).status, 504);
  assert.equal(canary, 0);
});

test('client: timeout, answer cap and the envelope are errors of the call', async () => {
  const server = await listen(createServer((r, res) => {
    if (r.url === '/slow') return void setTimeout(() => res.end('{}'), 2000);
    if (r.url === '/big') return void res.writeHead(200).end(Buffer.alloc(1 << 20, 'a'));
    if (r.url === '/bad') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"error","errorType":"x","error":"nope"}');
    if (r.url === '/html') return void res.writeHead(200).end('<html>');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'success', data: { auth: r.headers.authorization ?? null } }));
  }));
  const c = new ApiClient({ token: 't0k', timeoutMs: 500, maxResponseBytes: 1000 });
  assert.deepEqual((await c.data(`${server}/ok`)).data, { auth: 'Bearer t0k' });
  await assert.rejects(c.data(`${server}/slow`), /no answer within 0.5s/);
  await assert.rejects(c.data(`${server}/big`), /over the limit of 1000/);
  await assert.rejects(c.data(`${server}/bad`), /HTTP 200: nope/);
  await assert.rejects(c.data(`${server}/html`), /not JSON/);
  await c.close();
});

test('a request body over its limit is refused with 413, also when Content-Length lies', async () => {
  const { readBody } = await import('../../src/http/body.js');
  const { base } = await kvass(() => 'read', async (q, res) => apiSuccess(res, (await readBody(q, 1000)).length));
  assert.equal((await fetch(`${base}/x`, { method: 'POST', body: Buffer.alloc(2000) })).status, 413);
  assert.deepEqual(await (await fetch(`${base}/x`, { method: 'POST', body: Buffer.alloc(10) })).json(), { status: 'success', data: 10 });
  // Chunked, no length: cut once past the limit.
  const status = await new Promise<number>((resolve, reject) => {
    const r = httpRequest(`${base}/x`, { method: 'POST' }, (res) => resolve(res.statusCode!));
    r.on('error', reject);
    for (let i = 0; i < 5; i++) r.write(Buffer.alloc(500));
    r.end();
  });
  assert.equal(status, 413);
});
