/**
 * Reading a file_sd JSON array in pieces: the same elements as JSON.parse of the whole text, or false (the caller
 * then reads the whole text and reports its error) for anything else. Large inputs make the batches really cut.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { forEachJsonArrayElement } from '../../src/discovery/json-array.js';
import { tempDirSync } from '../helpers/tmp.js';

const dir = tempDirSync('kvass-json-array-');
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

test('batches of ASCII text only and batches with other text, escapes in both, give what JSON.parse gives', async () => {
  // ASCII bytes are read as Latin-1 (the same text, a cheaper copy). The file: ≈6 MB of groups written in ASCII only
  // (their other characters as escapes), ≈4 MB of groups with UTF-8 text other than ASCII, ≈6 MB in ASCII only again.
  const group = (i: number) => ({ targets: [`h${i}:80`], labels: { a: 'caf\u00e9 \u{1F600} \\ "q"', b: 'x'.repeat(i % 200), i: String(i) } });
  const escaped = (gs: unknown[]) => JSON.stringify(gs).slice(1, -1).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const utf8 = Array.from({ length: 20_000 }, (_, i) => ({ targets: [`u${i}:80`], labels: { a: `é日本 ${i}`, b: 'ü'.repeat(i % 100) } }));
  const parts = [escaped(Array.from({ length: 40_000 }, (_, i) => group(i))), JSON.stringify(utf8).slice(1, -1), escaped(Array.from({ length: 40_000 }, (_, i) => group(40_000 + i)))];
  const text = `[${parts.join(',')}]`;
  const other = /[^\x00-\x7f]/;
  assert.ok(!other.test(parts[0]!) && other.test(parts[1]!) && !other.test(parts[2]!) && parts[0]!.length > 5 << 20 && parts[2]!.length > 5 << 20);
  assert.deepEqual(await read(text), JSON.parse(text));
});

test('elements longer than a batch, after batches already cut, are read whole', async () => {
  // The reading buffer still holds bytes of earlier batches past what is read: no cut may be looked for there. Here
  // the first batch finds its cut only after the first long element (the buffer grows), and the second batch none
  // before the end of what it read (inside the second long element), while the stale bytes after it hold cuts.
  const small = (from: number, count: number) => Array.from({ length: count }, (_, i) => ({ targets: [`h${from + i}:80`], labels: { i: String(from + i), pad: 'p'.repeat(40) } }));
  const long = (v: number) => ({ targets: [`long${v}:80`], labels: { v: 'x'.repeat(v) } });
  const gs = [...small(0, 40_000), long(2_600_000), ...small(40_000, 39_000), long(2_500_000), ...small(79_000, 15_000)];
  const text = JSON.stringify(gs);
  assert.ok(text.length > 12 << 20);
  assert.deepEqual(await read(text), gs);
});

test('a file longer than its size when opened (written to meanwhile) is read to its end', async () => {
  const text = groups(30_000, false);
  const file = join(dir, `f${n++}.json`);
  writeFileSync(file, text);
  const fh = await open(file, 'r');
  try {
    // The size the reader sizes its buffer by is from before the writer's last bytes.
    const grown = { stat: async () => ({ size: 100 }), read: fh.read.bind(fh) } as unknown as typeof fh;
    const out: unknown[] = [];
    assert.equal(await forEachJsonArrayElement(grown, (v) => out.push(v)), true);
    assert.deepEqual(out, JSON.parse(text));
  } finally {
    await fh.close();
  }
});
