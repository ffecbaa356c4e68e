import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeApiServer } from '../../helpers/fake-apiserver.js';
import { readCfg, run } from './helpers.js';

function pod(name: string, ns = 'default', ip = '10.0.0.1', labels: Record<string, string> = {}) {
  return {
    metadata: { name, namespace: ns, uid: `uid-${name}`, labels },
    spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'img', ports: [{ containerPort: 8080, protocol: 'TCP' }] }] },
    status: { phase: 'Running', podIP: ip },
  };
}

const lbl = (k: string) => `__meta_kubernetes_pod_label_${k}`;

describe('kubernetes_sd list/watch behaviour', () => {
  for (const goneAs of ['event', 'status'] as const) {
    it(`re-lists after 410 Gone (${goneAs}) and reports what changed meanwhile`, async () => {
      const api = await FakeApiServer.start({ goneAs });
      api.upsert('pods', pod('a'));
      api.upsert('pods', pod('b'));
      const r = run(readCfg({ role: 'pod', api_server: api.url }));
      try {
        await r.waitFor(() => r.emits.length > 0 && api.watchCount('pods') === 1, 'initial emit and watch');
        const lists = api.listRequests('/pods').length;
        api.silently(() => {
          api.upsert('pods', pod('a', 'default', '10.0.0.1', { v: '2' }));
          api.remove('pods', 'default', 'b');
          api.upsert('pods', pod('c'));
        });
        api.closeWatches();
        await r.waitGroup('pod/default/c');
        await r.waitFor(() => !r.groups.has('pod/default/b'), 'b deleted by the re-list');
        await r.waitGroup('pod/default/a', (g) => g.labels[lbl('v')] === '2');
        assert.equal(api.listRequests('/pods').length, lists + 1, 'exactly one re-list');
        const rewatch = api.watchRequests('/pods').at(-1)!;
        assert.ok(Number(rewatch.query.get('resourceVersion')) >= 1);
        assert.deepEqual(r.fails, [], '410 is not a failure');
      } finally {
        await r.stop();
        await api.stop();
      }
    });
  }

  it('resumes a normally ended watch from the last resourceVersion without listing, honouring bookmarks', async () => {
    const api = await FakeApiServer.start();
    api.upsert('pods', pod('a'));
    const r = run(readCfg({ role: 'pod', api_server: api.url }));
    try {
      await r.waitFor(() => api.watchCount('pods') === 1, 'watch');
      api.upsert('nodes', { metadata: { name: 'unrelated' } }); // moves the global resourceVersion on
      api.bookmark();
      await new Promise((res) => setTimeout(res, 50));
      api.closeWatches();
      await r.waitFor(() => api.watchRequests('/pods').length === 2, 're-watch');
      const [first, second] = api.watchRequests('/pods');
      assert.ok(Number(second!.query.get('resourceVersion')) > Number(first!.query.get('resourceVersion')), 'bookmark moved the resourceVersion');
      assert.equal(api.listRequests('/pods').length, 1);
      assert.equal(second!.query.get('watch'), 'true');
      assert.equal(second!.query.get('allowWatchBookmarks'), 'true');
      api.upsert('pods', pod('b'));
      await r.waitGroup('pod/default/b');
      assert.deepEqual(r.fails, []);
    } finally {
      await r.stop();
      await api.stop();
    }
  });

  it('keeps the last groups through a server outage, reports the failure and catches up after restart', async () => {
    const api = await FakeApiServer.start();
    api.upsert('pods', pod('a'));
    api.upsert('pods', pod('b'));
    const r = run(readCfg({ role: 'pod', api_server: api.url }));
    try {
      await r.waitFor(() => r.groups.size === 2 && api.watchCount('pods') === 1, 'initial groups');
      const emits = r.emits.length;
      await api.stop();
      await r.waitFor(() => r.fails.length >= 2, 'failures reported while the server is down');
      assert.equal(r.emits.length, emits, 'no emits while failing: last good groups stay');
      assert.equal(r.groups.size, 2);
      api.remove('pods', 'default', 'b');
      api.upsert('pods', pod('c'));
      await api.restart();
      await r.waitGroup('pod/default/c', undefined, 8000);
      await r.waitFor(() => !r.groups.has('pod/default/b'), 'b deleted after restart');
      assert.ok(r.groups.has('pod/default/a'));
    } finally {
      await r.stop();
      await api.stop();
    }
  });

  it('retries a failing initial list and waits for every namespace before the first emit', async () => {
    const api = await FakeApiServer.start();
    api.upsert('pods', pod('a', 'ns1'));
    api.upsert('pods', pod('b', 'ns2'));
    api.failNext((q) => !q.watch && q.path === '/api/v1/namespaces/ns2/pods', 500, 3);
    const r = run(readCfg({ role: 'pod', api_server: api.url, namespaces: { names: ['ns1', 'ns2'] } }));
    try {
      await r.waitFor(() => r.emits.length > 0, 'initial emit');
      assert.deepEqual(r.emits[0]!.map((g) => g.source).sort(), ['pod/ns1/a', 'pod/ns2/b']);
      assert.equal(r.fails.length, 3);
      assert.match(r.fails[0]!.message, /500/);
    } finally {
      await r.stop();
      await api.stop();
    }
  });

  it('reads paginated lists (limit/continue) into one initial emit', async () => {
    const api = await FakeApiServer.start();
    for (let i = 0; i < 1203; i++) api.upsert('pods', pod(`p${i}`));
    const r = run(readCfg({ role: 'pod', api_server: api.url }));
    try {
      await r.waitFor(() => r.emits.length > 0, 'initial emit', 10_000);
      assert.equal(r.emits[0]!.length, 1203);
      const lists = api.listRequests('/pods');
      assert.equal(lists.length, 3);
      assert.equal(lists[0]!.query.get('limit'), '500');
      assert.ok(lists[1]!.query.get('continue'));
    } finally {
      await r.stop();
      await api.stop();
    }
  });

  it('reads a list of 150,000 pods answered whole (a server that ignores limit) into one initial emit', async () => {
    // The informer appended each page with push(...items): past about 120,000 items that overflowed the stack, and
    // the list failed on every retry.
    const n = 150_000;
    const api = await FakeApiServer.start({ ignoreLimit: true });
    for (let i = 0; i < n; i++) api.upsert('pods', pod(`p${i}`));
    const r = run(readCfg({ role: 'pod', api_server: api.url }));
    try {
      await r.waitFor(() => r.emits.length > 0 || r.fails.length > 0, 'initial emit', 60_000);
      assert.deepEqual(r.fails.map((e) => e.message), []);
      assert.equal(r.emits[0]!.length, n);
      assert.equal(api.listRequests('/pods').length, 1, 'one page: the whole list');
    } finally {
      await r.stop();
      await api.stop();
    }
  });

  it('stops promptly when aborted, even while retrying', async () => {
    const api = await FakeApiServer.start();
    const url = api.url;
    await api.stop();
    const r = run(readCfg({ role: 'endpoints', api_server: url }));
    await r.waitFor(() => r.fails.length > 0, 'a failure');
    const t0 = Date.now();
    await r.stop();
    assert.ok(Date.now() - t0 < 1000);
    assert.equal(r.emits.length, 0);
  });
});
