import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, parseDuration } from '../../src/prom/duration.js';

test('parses Prometheus durations', () => {
  assert.equal(parseDuration('0'), 0);
  assert.equal(parseDuration('15s'), 15_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('1d'), 86_400_000);
  assert.equal(parseDuration('1w'), 7 * 86_400_000);
  assert.equal(parseDuration('1y'), 365 * 86_400_000);
  assert.equal(parseDuration('100ms'), 100);
  assert.equal(parseDuration('1m0s'), 60_000);
});

test('refuses what Prometheus refuses', () => {
  for (const bad of ['', '1', '1.5s', '5 s', '1s1m', '-1s', 's', '1S', '1h ']) assert.throws(() => parseDuration(bad), bad);
  assert.throws(() => parseDuration('99999999y'), /out of range/);
});

test('formats as model.Duration.String', () => {
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(90_000), '1m30s');
  assert.equal(formatDuration(3_600_000), '1h');
  assert.equal(formatDuration(86_400_000), '1d');
  assert.equal(formatDuration(8 * 86_400_000), '8d');
  assert.equal(formatDuration(14 * 86_400_000), '2w');
  assert.equal(formatDuration(1500), '1s500ms');
});
