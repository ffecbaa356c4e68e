import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeQuery, formatUrl, goEscape } from '../../src/target/url.js';
import { fnv1a64Hex, targetHash } from '../../src/target/hash.js';

test('Go url.URL.String for scrape URLs', () => {
  assert.equal(formatUrl('http', '127.0.0.1:9100', '/metrics', ''), 'http://127.0.0.1:9100/metrics');
  assert.equal(formatUrl('https', '[::1]:443', '/m', 'a=b'), 'https://[::1]:443/m?a=b');
  // a path without a leading slash gets one when there is a host
  assert.equal(formatUrl('http', 'h:1', 'metrics', ''), 'http://h:1/metrics');
  // '?' and spaces are escaped in paths; ':' '@' '&' '=' '+' '$' ',' ';' are not
  assert.equal(formatUrl('http', 'h:1', '/a b?c:@&=+$,;', ''), 'http://h:1/a%20b%3Fc:@&=+$,;');
  assert.equal(formatUrl('http', 'h:1', '/ü', ''), 'http://h:1/%C3%BC');
  assert.equal(formatUrl('http', 'h:1', '', ''), 'http://h:1');
});

test('Go url.QueryEscape and sorted url.Values.Encode', () => {
  assert.equal(goEscape('a b/c?d=e&f+g~h', 'query'), 'a+b%2Fc%3Fd%3De%26f%2Bg~h');
  const q = new Map([['module', ['http_2xx', 'x']], ['a', ['1']], ['target', ['http://example.com/x y']]]);
  assert.equal(encodeQuery(q), 'a=1&module=http_2xx&module=x&target=http%3A%2F%2Fexample.com%2Fx+y');
});

test('host escaping keeps sub-delims and brackets, escapes non-ASCII', () => {
  assert.equal(goEscape("a!$&'()*+,;=:[]<>\"b", 'host'), "a!$&'()*+,;=:[]<>\"b");
  assert.equal(goEscape('é', 'host'), '%C3%A9');
  assert.equal(goEscape('a b', 'host'), 'a%20b');
});

test('FNV-1a 64 matches the reference vectors', () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  assert.equal(fnv1a64Hex(enc('')), 'cbf29ce484222325');
  assert.equal(fnv1a64Hex(enc('a')), 'af63dc4c8601ec8c');
  assert.equal(fnv1a64Hex(enc('foobar')), '85944171f73967e8');
});

test('FNV-1a 64 equals a BigInt reference for any bytes, every digit written (leading zeros too)', () => {
  const reference = (bytes: Uint8Array): string => {
    let h = 0xcbf29ce484222325n;
    for (const b of bytes) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
    return h.toString(16).padStart(16, '0');
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => assert.equal(fnv1a64Hex(bytes), reference(bytes))), { numRuns: 3000 });
});

test('target hash: the UTF-8 bytes of names, values and URL as TextEncoder writes them (any string, lone surrogates too)', () => {
  const enc = new TextEncoder();
  const bytesOf = (labels: Record<string, string>, url: string): Uint8Array => {
    const parts: number[] = [];
    for (const name of Object.keys(labels).sort()) parts.push(...enc.encode(name), 0xff, ...enc.encode(labels[name]!), 0xff);
    parts.push(...enc.encode(url));
    return Uint8Array.from(parts);
  };
  const surrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
  const text = fc.oneof(fc.string({ unit: 'grapheme-composite' }), fc.string({ unit: fc.oneof(surrogate, fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })) }), fc.string());
  fc.assert(
    fc.property(fc.dictionary(fc.oneof(fc.string({ minLength: 1, maxLength: 4 }), fc.string({ unit: 'binary', minLength: 1, maxLength: 3 })), text, { maxKeys: 4 }), text, (labels, url) => {
      assert.equal(targetHash(labels, url), fnv1a64Hex(bytesOf(labels, url)));
      // The same names in the same order with other values: the sorted order kept from the last call serves.
      const other = Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, v + 'x']));
      assert.equal(targetHash(other, url), fnv1a64Hex(bytesOf(other, url)));
    }),
    { numRuns: 2000 },
  );
});

test('target hash: stable, order-independent, sensitive to every label and the URL', () => {
  const a = targetHash({ job: 'j', instance: 'i' }, 'http://i/metrics');
  assert.equal(a, targetHash({ instance: 'i', job: 'j' }, 'http://i/metrics'));
  assert.match(a, /^[0-9a-f]{16}$/);
  assert.notEqual(a, targetHash({ job: 'j', instance: 'i2' }, 'http://i/metrics'));
  assert.notEqual(a, targetHash({ job: 'j', instance: 'i' }, 'http://i/metrics2'));
  // the separator cannot be forged by a value
  assert.notEqual(targetHash({ a: 'b\u00ffc' }, ''), targetHash({ a: 'b', c: '' }, ''));
  // a long value grows the scratch buffer without changing the result's form
  assert.match(targetHash({ big: 'x'.repeat(100_000) }, 'u'), /^[0-9a-f]{16}$/);
});
