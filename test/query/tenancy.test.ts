import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { TenancyError, enforceParams, requestParams, tenantOf, tenantRoute, type TenancyOptions } from '../../src/query/tenancy.js';

const o: TenancyOptions = { header: 'thanos-tenant', labelName: 'tenant_id', admins: new Set(['ops']) };
const req = (...headers: string[]): IncomingMessage => ({ rawHeaders: headers }) as unknown as IncomingMessage;
const refused = (f: () => unknown, status: number): void => {
  assert.throws(f, (e: unknown) => e instanceof TenancyError && e.status === status);
};

test('the tenant comes from its header (any case); none is 401, two are 400; admins are marked', () => {
  assert.deepEqual(tenantOf(req('Thanos-Tenant', 'team-a'), o), { admin: false, name: 'team-a' });
  assert.deepEqual(tenantOf(req('THANOS-TENANT', 'ops'), o), { admin: true, name: 'ops' });
  refused(() => tenantOf(req('Other', 'x'), o), 401);
  refused(() => tenantOf(req('thanos-tenant', '  '), o), 401);
  refused(() => tenantOf(req('thanos-tenant', 'a', 'thanos-tenant', 'b'), o), 400);
  refused(() => tenantOf(req('thanos-tenant', 'a, b'), o), 400);
});

test('routes: data paths are rewritten, the rest is the admin\'s; health, metrics and reload are open', () => {
  assert.equal(tenantRoute('/api/v1/query'), 'query');
  assert.equal(tenantRoute('/api/v1/query_exemplars'), 'query');
  assert.equal(tenantRoute('/api/v1/label/job/values'), 'selectors');
  assert.equal(tenantRoute('/federate'), 'selectors');
  assert.equal(tenantRoute('/api/v1/read'), 'read');
  assert.equal(tenantRoute('/api/v1/metadata'), 'metadata');
  for (const p of ['/api/v1/targets', '/api/v1/status/config', '/graph', '/', '/api/v1/stores', '/api/v1/rules', '/static/x.js', '/api/v1/admin/tsdb/delete_series']) assert.equal(tenantRoute(p), 'admin', p);
  for (const p of ['/-/ready', '/-/healthy', '/metrics', '/-/reload']) assert.equal(tenantRoute(p), 'open', p);
});

test('parameters are read from a form body and the query string, as Go reads them; a non-form body is refused for tenants, ignored otherwise', () => {
  const p = requestParams(new URLSearchParams('query=b&time=1'), 'application/x-www-form-urlencoded; charset=utf-8', Buffer.from('query=a'), true);
  assert.deepEqual([...p], [['query', 'a'], ['query', 'b'], ['time', '1']]);
  refused(() => requestParams(new URLSearchParams(), 'multipart/form-data; boundary=x', Buffer.from('--x'), true), 415);
  assert.deepEqual([...requestParams(new URLSearchParams('q=1'), 'text/plain', Buffer.from('query=a'), false)], [['q', '1']]);
});

test('every query and every match[] is enforced; label calls without match[] get the tenant\'s selector', () => {
  const q = enforceParams(new URLSearchParams([['query', 'up'], ['query', 'sum(x)'], ['time', '5']]), 'query', '/api/v1/query', 'a', o);
  assert.deepEqual([...q], [['query', 'up{tenant_id=~"a"}'], ['query', 'sum(x{tenant_id=~"a"})'], ['time', '5']]);
  refused(() => enforceParams(new URLSearchParams([['query', 'up'], ['query', '{tenant_id="b"}']]), 'query', '/api/v1/query', 'a', o), 403);
  const s = enforceParams(new URLSearchParams([['match[]', 'up']]), 'selectors', '/api/v1/series', 'a', o);
  assert.equal(s.getAll('match[]').length, 1);
  assert.match(s.get('match[]')!, /tenant_id=~"a"/);
  const l = enforceParams(new URLSearchParams(), 'selectors', '/api/v1/labels', 'a.b', o);
  assert.deepEqual(l.getAll('match[]'), ['{tenant_id=~"a\\\\.b"}']);
  assert.deepEqual(enforceParams(new URLSearchParams(), 'selectors', '/api/v1/series', 'a', o).getAll('match[]'), []);
});
