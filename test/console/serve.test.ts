/** serveConsole: what it answers under /kvass/, with which types and headers, and what it refuses. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { CONSOLE_DIST_DIR, consoleHandler, serveConsole } from '../../src/console/serve.js';
import { parseTarget } from '../../src/http/request.js';
import { tempDir } from '../helpers/tmp.js';

let server: Server;
let port = 0;
let tmp = '';
let dir = '';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request with the path exactly as given (fetch would normalise `..` away). */
function get(path: string, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

before(async () => {
  // A folder of "compiled" files with a secret beside it: traversal must never reach the secret.
  tmp = await tempDir('kvass-console-');
  dir = join(tmp, 'console');
  await mkdir(dir);
  await mkdir(join(dir, 'sub.js'));
  await writeFile(join(dir, 'app.js'), 'console.log("app");\n');
  await writeFile(join(dir, 'app.js.map'), '{"version":3}\n');
  await writeFile(join(tmp, 'secret.js'), 'SECRET\n');
  await writeFile(join(dir, 'notes.txt'), 'SECRET\n');
  const handle = consoleHandler({ dir });
  server = createServer((req, res) => {
    void (async () => {
      // Both ways of mounting: /real/* through serveConsole with the built files, the rest through consoleHandler.
      if (req.url?.startsWith('/real/')) {
        if (await serveConsole(req.url.slice('/real'.length), res, { method: req.method })) return;
      } else if (await handle(req, res, parseTarget(req))) return;
      res.writeHead(418, { 'content-type': 'text/plain' }).end('not the console');
    })().catch((e: Error) => res.writeHead(500).end(e.message));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  await rm(tmp, { recursive: true, force: true });
});

test('/kvass redirects to kvass/ (relative: a route prefix in front stays)', async () => {
  const a = await get('/kvass');
  assert.equal(a.status, 301);
  assert.equal(a.headers.location, 'kvass/');
  assert.equal(a.headers['cache-control'], 'no-cache');
});

test('/kvass/ (and index.html, and with a query string) is the page: HTML, no-cache, a same-origin-only CSP', async () => {
  for (const path of ['/kvass/', '/kvass/index.html', '/kvass/?view=targets']) {
    const a = await get(path);
    assert.equal(a.status, 200, path);
    assert.equal(a.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(a.headers['cache-control'], 'no-cache');
    assert.equal(a.headers['x-content-type-options'], 'nosniff');
    assert.match(String(a.headers['content-security-policy']), /default-src 'none'; script-src 'self'/);
    assert.match(a.body, /<script type="module" src="app.js"><\/script>/);
    assert.match(a.body, /<link rel="stylesheet" href="console.css">/);
    assert.doesNotMatch(a.body, /https?:\/\//, 'nothing from another origin');
    assert.equal(Number(a.headers['content-length']), Buffer.byteLength(a.body));
  }
});

test('the style sheet and the compiled browser files have their content types', async () => {
  const css = await get('/kvass/console.css');
  assert.equal(css.status, 200);
  assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
  assert.match(css.body, /\.bar-fill/);
  const js = await get('/kvass/app.js');
  assert.equal(js.status, 200);
  assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
  assert.equal(js.headers['cache-control'], 'no-cache');
  assert.equal(js.body, 'console.log("app");\n');
  const map = await get('/kvass/app.js.map');
  assert.equal(map.headers['content-type'], 'application/json; charset=utf-8');
  // The real build: every module the page loads is there (npm run build compiled src/console/web/).
  for (const name of ['app.js', 'api.js', 'stream.js', 'table.js', 'targets.js', 'views.js']) {
    const real = await get(`/real/kvass/${name}`);
    assert.equal(real.status, 200, name);
    assert.equal(real.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(real.body, await readFile(join(CONSOLE_DIST_DIR, name), 'utf8'));
  }
});

test('HEAD answers the headers without a body; other methods are a 405', async () => {
  const h = await get('/kvass/app.js', 'HEAD');
  assert.equal(h.status, 200);
  assert.equal(h.body, '');
  assert.equal(h.headers['content-length'], String(Buffer.byteLength('console.log("app");\n')));
  const p = await get('/kvass/', 'POST');
  assert.equal(p.status, 405);
  assert.equal(p.headers.allow, 'GET, HEAD');
});

test('unknown files under /kvass/ are a 404', async () => {
  for (const path of ['/kvass/nope.js', '/kvass/nope.js.map', '/kvass/notes.txt', '/kvass/app.ts', '/kvass/favicon.ico', '/kvass/sub.js']) {
    const a = await get(path);
    assert.equal(a.status, 404, path);
    assert.equal(a.headers['content-type'], 'text/plain; charset=utf-8');
    assert.doesNotMatch(a.body, /SECRET/);
  }
});

test('path traversal is refused (400) however it is spelled', async () => {
  for (const path of ['/kvass/../secret.js', '/kvass/..', '/kvass/%2e%2e/secret.js', '/kvass/..%2fsecret.js', '/kvass/%2E%2E%2Fsecret.js', '/kvass/..%5csecret.js', '/kvass/..\\secret.js', '/kvass/a/../../secret.js', '/kvass//etc/passwd', '/kvass/.hidden.js', '/kvass/%00app.js', '/kvass/app.js%00']) {
    const a = await get(path);
    assert.equal(a.status, 400, path);
    assert.doesNotMatch(a.body, /SECRET|root:/, path);
  }
});

test('other paths are not the console\'s: it answers false and writes nothing', async () => {
  for (const path of ['/', '/kvassx', '/kvass.js', '/api/v1/shards', '/classic/graph', '/KVASS/']) {
    const a = await get(path);
    assert.equal(a.status, 418, path);
    assert.equal(a.body, 'not the console');
  }
});
