/** The coordinator–sidecar contract: which target labels can be assigned, and answers checked against their schema. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AssignmentError, ContractError, readAssignment, readRuntimeInfo, readTargetStatusDelta, readTargetStatuses, targetLabelProblem } from '../../src/shard/contract.js';

test('targetLabelProblem: host:port addresses, http(s) schemes, paths and durations pass; anything else is named', () => {
  const good: Array<Record<string, string>> = [
    { __address__: '127.0.0.1:9100' }, { __address__: 'node-1.example.com:443', __scheme__: 'https' }, { __address__: '[::1]:9090' },
    { __address__: '[fe80::1%eth0]:9100' }, { __address__: 'a:1', __metrics_path__: '/probe' }, { __address__: 'a:1', __metrics_path__: 'metrics' },
    { __address__: 'a:1', __scrape_interval__: '15s', __scrape_timeout__: '10s' },
  ];
  for (const ok of good) assert.equal(targetLabelProblem(ok), undefined, JSON.stringify(ok));
  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ __address__: 'evil.example' }, /__address__ must be host:port/],
    [{ __address__: 'user:pass@evil:80' }, /__address__/],
    [{ __address__: 'evil:80/x' }, /__address__/],
    [{ __address__: 'evil:80?x=1' }, /__address__/],
    [{ __address__: 'a b:80' }, /__address__/],
    [{ __address__: 'evil:99999' }, /__address__/],
    [{ __address__: 'evil:0' }, /__address__/],
    [{ __address__: 'a:1', __scheme__: 'ftp' }, /__scheme__ must be http or https/],
    [{ __address__: 'a:1', __scheme__: 'HTTP' }, /__scheme__/],
    [{ __address__: 'a:1', __metrics_path__: '//evil:81/x' }, /__metrics_path__/],
    [{ __address__: 'a:1', __metrics_path__: '/m?x=1' }, /__metrics_path__/],
    [{ __address__: 'a:1', __metrics_path__: '/m#f' }, /__metrics_path__/],
    [{ __address__: 'a:1', __scrape_interval__: '15 seconds' }, /__scrape_interval__/],
    [{ __address__: 'a:1', __scrape_timeout__: '0s' }, /__scrape_timeout__ must be above 0/],
  ];
  for (const [labels, why] of bad) assert.match(targetLabelProblem(labels) ?? '', why, JSON.stringify(labels));
});

test('readAssignment: a target that cannot be scraped as it is refuses the whole request, naming the target and the field', () => {
  const good = { job: 'j', labels: { __address__: 'a:1' } };
  assert.throws(() => readAssignment({ targets: [good, { job: 'j', labels: { __address__: 'evil:81', __scheme__: 'gopher' } }] }), (e: unknown) => e instanceof AssignmentError && /targets\[1\] \(job "j", __address__ "evil:81"\): __scheme__ must be http or https/.test((e as Error).message));
  assert.equal(readAssignment({ targets: [good] }).length, 1);
});

test('readRuntimeInfo and readTargetStatuses: a malformed answer is an error naming the field, never a crash later', () => {
  const rt = { headSeries: 1, headSeriesError: '', processSeries: 1, targets: 1, configHash: 'x', idleSince: null, prometheusReady: true, lastReloadError: '' };
  assert.equal(readRuntimeInfo(rt).ready, true, 'an older sidecar without "ready" counts as ready');
  assert.equal(readRuntimeInfo({ ...rt, ready: false, notReadyReason: 'disk' }).notReadyReason, 'disk');
  for (const bad of [{}, null, [], 'x', { ...rt, headSeries: '1' }, { ...rt, headSeries: Number.NaN }, { ...rt, idleSince: 5 }, { ...rt, ready: 'yes' }]) {
    assert.throws(() => readRuntimeInfo(bad), ContractError, JSON.stringify(bad));
  }
  const st = { hash: 'h', job: 'j', labels: { __address__: 'a:1' }, state: 'normal', health: 'up', lastError: '', lastScrape: null, lastScrapeDuration: 0, series: 1, lastSeries: 1, samples: 1, bytes: 1, scrapesSinceAssigned: 1, assignedAt: 't' };
  assert.equal(readTargetStatuses({ targets: [st] }).length, 1);
  for (const bad of [{}, { targets: {} }, { targets: [null] }, { targets: [{ ...st, state: 'moving' }] }, { targets: [{ ...st, labels: { a: 1 } }] }, { targets: [{ ...st, series: null }] }, { targets: [{ ...st, health: 'ok' }] }]) {
    assert.throws(() => readTargetStatuses(bad), ContractError, JSON.stringify(bad));
  }
  // The runtime info that comes with the statuses (runtime=true) is checked as runtimeinfo's own.
  assert.equal(readTargetStatusDelta({ targets: [st], version: 'v' }).runtime, undefined);
  assert.equal(readTargetStatusDelta({ targets: [st], runtime: rt }).runtime?.configHash, 'x');
  for (const bad of [null, 'x', { ...rt, configHash: 1 }]) {
    assert.throws(() => readTargetStatusDelta({ targets: [st], runtime: bad }), ContractError, JSON.stringify(bad));
  }
});
