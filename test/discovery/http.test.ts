import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { httpSd } from '../../src/discovery/http.js';
import { harness } from '../helpers/discovery.js';


type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function serve(t: { after: (fn: () => Promise<void>) => void }, handler: { current: Handler }): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => handler.current(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/sd` };
}

const json = (body: unknown, status = 200, type = 'application/json'): Handler => (_req, res) => {
  res.writeHead(status, { 'content-type': type });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
};

function start(raw: Record<string, unknown>) {
  const h = harness();
  const cfg = httpSd.read(raw, ['http_sd_configs', 0], { configDir: '/tmp', jobName: 'job' });
  const done = httpSd.create(cfg, { configDir: '/tmp', jobName: 'job' }).run(h.ctx);
  return { ...h, stop: async () => { h.ac.abort(); await done; } };
}

test('validates http_sd_configs as Prometheus 2.42 does', () => {
  const read = (raw: unknown) => httpSd.read(raw, ['x'], { configDir: '/etc/prom', jobName: 'j' });
  const cfg = read({ url: 'http://sd.example:8080/targets', bearer_token_file: 'tok' });
  assert.equal(cfg.url, 'http://sd.example:8080/targets');
  assert.equal(cfg.refreshInterval, 60_000);
  assert.deepEqual(cfg.http.authorization, { type: 'Bearer', credentials: undefined, credentialsFile: '/etc/prom/tok' });
  assert.equal(read({ url: 'HTTPS://h/x', refresh_interval: '15s' }).refreshInterval, 15_000);
  assert.throws(() => read({}), /URL is missing/);
  assert.throws(() => read({ url: 'ftp://h/x' }), /URL scheme must be 'http' or 'https'/);
  assert.throws(() => read({ url: 'h:80/x' }), /URL scheme must be/);
  assert.throws(() => read({ url: 'http:///x' }), /host is missing in URL/);
  assert.throws(() => read({ url: 'http:x' }), /host is missing in URL/);
  assert.throws(() => read({ url: 'http://h/%zz' }), /invalid URL escape "%zz"/);
  assert.throws(() => read({ url: 'http://h/x', foo: 1 }), /field foo not found/);
  assert.throws(() => read({ url: 'http://h/x', bearer_token: 'a', basic_auth: { username: 'u' } }), /at most one of/);
});

test('fetches groups with auth and the refresh header; sources and __meta_url', async (t) => {
  const seen: IncomingMessage[] = [];
  const handler = { current: json([{ targets: ['a:1', 'b:2'], labels: { env: 'prod' } }, { targets: ['c:3'] }]) };
  const inner = handler.current;
  handler.current = (req, res) => { seen.push(req); inner(req, res); };
  const { url } = await serve(t, handler);
  const d = start({ url, refresh_interval: '90s', basic_auth: { username: 'user', password: 'pw' } });
  try {
    await d.until(() => d.emits.length > 0, 'first emit');
    assert.deepEqual(d.emits[0], [
      { source: `${url}:0`, targets: [{ __address__: 'a:1' }, { __address__: 'b:2' }], labels: { env: 'prod', __meta_url: url } },
      { source: `${url}:1`, targets: [{ __address__: 'c:3' }], labels: { __meta_url: url } },
    ]);
    const req = seen[0]!;
    assert.equal(req.headers.authorization, `Basic ${Buffer.from('user:pw').toString('base64')}`);
    assert.equal(req.headers['x-prometheus-refresh-interval-seconds'], '90');
    assert.equal(req.headers.accept, 'application/json');
    assert.equal(req.method, 'GET');
  } finally {
    await d.stop();
  }
});

test('bearer token is sent', async (t) => {
  let auth: string | undefined;
  const handler = { current: ((req, res) => { auth = req.headers.authorization; json([])(req, res); }) as Handler };
  const { url } = await serve(t, handler);
  const d = start({ url, bearer_token: 's3cret' });
  try {
    await d.until(() => d.emits.length > 0, 'first emit');
    assert.deepEqual(d.emits[0], []);
    assert.equal(auth, 'Bearer s3cret');
  } finally {
    await d.stop();
  }
});

test('refresh picks up changes; errors keep the last good groups and are reported', async (t) => {
  const handler = { current: json([{ targets: ['a:1'] }, { targets: ['b:1'] }]) };
  const { url } = await serve(t, handler);
  const d = start({ url, refresh_interval: '50ms' });
  try {
    await d.until(() => d.addresses().join() === 'a:1,b:1', 'initial targets');
    handler.current = json([{ targets: ['a:2'] }]);
    await d.until(() => d.addresses().join() === 'a:2', 'changed targets, vanished group cleared');
    assert.ok(d.emits.some((e) => e.some((g) => g.source === `${url}:1` && g.targets.length === 0)));
    const emitted = d.emits.length;

    handler.current = json({ error: 'boom' }, 500);
    // Found among the failures, not as the first: the request's timeout is the refresh interval (as in Prometheus),
    // 50 ms here, which a loaded machine can exceed before the 500 is answered.
    const is500 = new RegExp(`${url}.*server returned HTTP status 500 Internal Server Error`);
    await d.until(() => d.fails.some((e) => is500.test(e.message)), '500 reported');

    handler.current = json('[{"targets": ["x:1"]', 200);
    await d.until(() => d.fails.some((e) => /invalid JSON/.test(e.message)), 'bad JSON reported');
    handler.current = json([{ targets: ['x:1'] }], 200, 'text/plain');
    await d.until(() => d.fails.some((e) => /unsupported content type "text\/plain"/.test(e.message)), 'bad content type reported');
    handler.current = json([{ targets: ['x:1'], extra: true }]);
    await d.until(() => d.fails.some((e) => /unknown field "extra"/.test(e.message)), 'bad group reported');
    assert.equal(d.emits.length, emitted, 'nothing emitted while failing');
    assert.deepEqual(d.addresses(), ['a:2']);

    handler.current = json([{ targets: ['a:2'] }], 200, 'application/json; charset=utf-8');
    await d.until(() => d.emits.length > emitted, 'recovery with the same groups clears the failure');
    assert.deepEqual(d.emits.at(-1), []);
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(d.emits.length, emitted + 1, 'no emits while nothing changes');
    handler.current = json([{ targets: ['a:3'] }]);
    await d.until(() => d.addresses().join() === 'a:3', 'changed again');
  } finally {
    await d.stop();
  }
});

test('an unreachable endpoint is reported with its URL and nothing is emitted', async (t) => {
  const { server, url } = await serve(t, { current: json([]) });
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  const d = start({ url, refresh_interval: '50ms' });
  try {
    await d.until(() => d.fails.length >= 2, 'repeated reports');
    assert.ok(d.fails[0]!.message.includes(url));
    assert.match(d.fails[0]!.message, /ECONNREFUSED|fetch failed/);
    assert.equal(d.emits.length, 0);
  } finally {
    await d.stop();
  }
});
