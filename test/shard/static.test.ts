/**
 * StaticShardManager: Kvass's file format, errors with file and line, a bad file keeps the last good list,
 * `ready` follows the sidecar's /-/ready, scale() does nothing and says so once.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { parseStaticShards, StaticShardManager } from '../../src/shard/static.js';
import { LocatedConfigError } from '../../src/prom/errors.js';
import { tempDir } from '../helpers/tmp.js';

const dirs: string[] = [];
const servers: Server[] = [];
after(async () => {
  for (const s of servers) s.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function memoryLogger(): { log: pino.Logger; lines: () => Array<Record<string, unknown>> } {
  const out: string[] = [];
  const stream = new Writable({ write(chunk, _enc, cb) { out.push(chunk.toString()); cb(); } });
  return { log: pino({ level: 'debug' }, stream), lines: () => out.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** A fake sidecar whose /-/ready answers 200 while `ready.value`, else 503. */
async function fakeSidecar(): Promise<{ url: string; ready: { value: boolean } }> {
  const ready = { value: true };
  const s = createServer((req, res) => {
    if (req.url === '/-/ready') res.writeHead(ready.value ? 200 : 503).end();
    else res.writeHead(404).end();
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(s.address() as { port: number }).port}`, ready };
}

test('parses Kvass\'s format', () => {
  const shards = parseStaticShards(`replicas:
- shards:
  - id: shard-0
    url: http://1.1.1.1:8080
  - id: shard-1
    url: http://1.1.1.2:8080/
- shards:
  - {id: a, url: 'https://h:1'}
  - {id: b, url: 'https://h:2'}
`, 'f.yml');
  assert.deepEqual(shards, [
    [{ id: 'shard-0', url: 'http://1.1.1.1:8080' }, { id: 'shard-1', url: 'http://1.1.1.2:8080' }],
    [{ id: 'a', url: 'https://h:1' }, { id: 'b', url: 'https://h:2' }],
  ]);
  assert.deepEqual(parseStaticShards('replicas:\n- shards: []\n', 'f.yml'), [[]]);
});

test('errors name the file, line and column', () => {
  const cases: Array<[string, RegExp]> = [
    ['replicas:\n- shards:\n  - id: a\n    url: [x\n', /^f\.yml:\d+:\d+: invalid YAML/],
    ['replica:\n- shards: []\n', /^f\.yml:1:1: field "replica" not found/],
    ['replicas:\n- shards:\n  - id: a\n', /^f\.yml:3:5: replica 0, shard 0: "url" is missing/],
    ['replicas:\n- shards:\n  - id: a\n    url: nope\n', /^f\.yml:4:10: .*invalid url "nope"/],
    ['replicas:\n- shards:\n  - id: a\n    url: ftp://x\n', /^f\.yml:4:10: .*http or https/],
    ['replicas:\n- shards:\n  - {id: a, url: "http://x:1"}\n  - {id: a, url: "http://x:2"}\n', /^f\.yml:4:10: replica 0: duplicate shard id "a"/],
    ['replicas:\n- shards:\n  - {id: a, url: "http://x:1"}\n  - {id: b, url: "http://x:1/"}\n', /^f\.yml:4:18: .*url "http:\/\/x:1" is also replica 0, shard "a"/],
    ['replicas:\n- shards:\n  - {id: a, url: "http://x:1"}\n- shards: []\n', /^f\.yml:4:3: replica 1 has 0 shard\(s\) but replica 0 has 1/],
    ['replicas:\n- shards:\n  - {id: a, url: "http://x:1", weight: 2}\n', /^f\.yml:3:32: .*field "weight" not found/],
    ['', /^f\.yml:1:1: empty file/],
    ['replicas: 3\n', /^f\.yml:1:11: "replicas" must be a list/],
  ];
  for (const [text, re] of cases) {
    assert.throws(() => parseStaticShards(text, 'f.yml'), (e: unknown) => {
      assert.ok(e instanceof LocatedConfigError, String(e));
      assert.match(e.message, re);
      return true;
    }, text);
  }
});

test('list(): re-read every time, bad file keeps the last good list, ready follows the sidecar', async () => {
  const dir = await tempDir('kvass-static-');
  dirs.push(dir);
  const a = await fakeSidecar();
  const b = await fakeSidecar();
  const file = join(dir, 'shards.yml');
  await writeFile(file, `replicas:\n- shards:\n  - id: shard-0\n    url: ${a.url}\n  - id: shard-1\n    url: ${b.url}/\n`);
  const { log, lines } = memoryLogger();
  const m = new StaticShardManager({ file, log, readyTimeoutMs: 1000 });
  assert.equal(m.kind, 'static');
  assert.equal(m.scalable, false);
  assert.equal(m.replicas(), 1);

  b.ready.value = false;
  let list = await m.list();
  assert.deepEqual(list, [[
    { replica: 0, id: 0, name: 'shard-0', apiUrl: a.url, prometheusUrl: a.url, ready: true },
    { replica: 0, id: 1, name: 'shard-1', apiUrl: b.url, prometheusUrl: b.url, ready: false },
  ]]);
  b.ready.value = true;
  assert.deepEqual((await m.list())[0]!.map((s) => s.ready), [true, true]);

  // A sidecar that is gone is not ready.
  await writeFile(file, `replicas:\n- shards:\n  - id: shard-0\n    url: ${a.url}\n  - id: shard-1\n    url: http://127.0.0.1:1\n`);
  list = await m.list();
  assert.deepEqual(list[0]!.map((s) => [s.apiUrl, s.ready]), [[a.url, true], ['http://127.0.0.1:1', false]]);

  // Two replicas now.
  await writeFile(file, `replicas:\n- shards:\n  - {id: s0, url: "${a.url}"}\n- shards:\n  - {id: s0, url: "${b.url}"}\n`);
  list = await m.list();
  assert.equal(m.replicas(), 2);
  assert.deepEqual(list.map((row) => row.map((s) => [s.replica, s.id, s.name, s.apiUrl])), [[[0, 0, 's0', a.url]], [[1, 0, 's0', b.url]]]);

  // A bad file: the last good list stays, the error is logged once with file and line.
  await writeFile(file, `replicas:\n- shards:\n  - {id: s0, url: "${a.url}"}\n- shards:\n  - {id: s0, url: "not a url"}\n`);
  const before = list;
  assert.deepEqual(await m.list(), before);
  assert.deepEqual(await m.list(), before);
  assert.match(m.error, /shards\.yml:5:19: replica 1, shard "s0": invalid url/);
  let errors = lines().filter((l) => l.level === 50);
  assert.equal(errors.length, 1, JSON.stringify(errors));
  assert.equal(errors[0]!.file, file);
  assert.equal(errors[0]!.line, 5);

  // A missing file: the same.
  await rm(file);
  assert.deepEqual(await m.list(), before);
  errors = lines().filter((l) => l.level === 50);
  assert.equal(errors.length, 2);
  assert.match(String(errors[1]!.err), /ENOENT/);

  // Good again.
  await writeFile(file, `replicas:\n- shards:\n  - {id: only, url: "${b.url}"}\n`);
  assert.deepEqual((await m.list()).map((row) => row.map((s) => s.name)), [['only']]);
  assert.equal(m.error, '');
  assert.equal(m.replicas(), 1);

  // scale() does nothing and logs once.
  await m.scale(5);
  await m.scale(7);
  assert.deepEqual((await m.list()).map((row) => row.length), [1]);
  const warnings = lines().filter((l) => l.level === 40 && /cannot be scaled/.test(String(l.msg)));
  assert.equal(warnings.length, 1);
  await m.close();
});

test('a bad file at start throws with file and line', async () => {
  const dir = await tempDir('kvass-static-');
  dirs.push(dir);
  const file = join(dir, 'shards.yml');
  await writeFile(file, 'replicas:\n- shards:\n  - id: a\n');
  assert.throws(() => new StaticShardManager({ file, log: memoryLogger().log }), /shards\.yml:3:5: .*"url" is missing/);
  assert.throws(() => new StaticShardManager({ file: join(dir, 'none.yml'), log: memoryLogger().log }), /ENOENT/);
});
