/**
 * Reading a file_sd JSON array in pieces: the same elements as JSON.parse of the whole text, or false (the caller
 * then reads the whole text and reports its error) for anything else. Large inputs make the batches really cut.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forEachJsonArrayElement } from '../../src/discovery/json-array.js';

const dir = mkdtempSync(join(tmpdir(), 'kvass-json-array-'));
let n = 0;

async function read(text: string | Buffer): Promise<unknown[] | false> {
  const file = join(dir, `f${n++}.json`);
  writeFileSync(file, text);
  const fh = await open(file, 'r');
  try {
    const out: unknown[] = [];
    const ok = await forEachJsonArrayElement(fh, (v, i) => {
      assert.equal(i, out.length);
      out.push(v);
    });
    return ok ? out : false;
  } finally {
    await fh.close();
  }
}

/** Groups whose label values hold what looks like element boundaries, brackets, escapes and non-ASCII text. */
function groups(count: number, pretty: boolean): string {
  const tricky = ['}, {"targets": ["x"]}, {', '},{', '\\"},{\\"', 'a\\\\', '[{]}', 'é日本\u{1F600}', '\n}\n,\n{\n'];
  const gs = Array.from({ length: count }, (_, i) => ({ targets: [`10.0.${i >> 8}.${i & 255}:80`], labels: { a: tricky[i % tricky.length]!, b: 'x'.repeat(i % 300), i: String(i) } }));
  return pretty ? JSON.stringify(gs, null, 2) : JSON.stringify(gs);
}

test('large arrays, compact and indented, read in cut batches give what JSON.parse gives', async () => {
  for (const pretty of [false, true]) {
    const text = groups(60_000, pretty); // well over one batch
    assert.ok(text.length > 9 << 20);
    assert.deepEqual(await read(text), JSON.parse(text));
    assert.deepEqual(await read('\n\t ' + text + ' \n\n'), JSON.parse(text));
  }
});

test('small and empty arrays', async () => {
  assert.deepEqual(await read('[]'), []);
  assert.deepEqual(await read(' [ ]\n'), []);
  assert.deepEqual(await read('[{"targets":["a"]}]'), [{ targets: ['a'] }]);
  assert.deepEqual(await read('[1, "x", null, [2]]'), [1, 'x', null, [2]]);
});

test('anything but a well-formed array is refused, so the whole-text path reports it', async () => {
  for (const text of ['', '   ', 'null', '{}', '"x"', '[', '[{}', '[{},]', '[,{}]', '[{}] x', '[{}]]', '\ufeff[]', '[{"a": }]']) {
    assert.equal(await read(text), false, JSON.stringify(text));
  }
  // The same faults deep inside a large file.
  const big = groups(30_000, false);
  assert.equal(await read(big.slice(0, -1) + ',]'), false);
  const at = big.indexOf(',{"targets"', 5_000_000) + 1;
  assert.equal(await read(big.slice(0, at) + '}' + big.slice(at)), false);
  assert.equal(await read(big + 'x'), false);
  assert.equal(await read(big.slice(0, -1)), false);
});

test('invalid UTF-8 decodes as the whole-text path decodes it', async () => {
  const text = groups(20_000, false);
  const buf = Buffer.from(text);
  const at = buf.indexOf('"b":"', 6_000_000) + 5;
  buf[at] = 0xff;
  buf[at + 1] = 0xc3;
  assert.deepEqual(await read(buf), JSON.parse(buf.toString('utf8')));
});
