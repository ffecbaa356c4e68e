import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeApiServer } from '../../helpers/fake-apiserver.js';
import { canon, readCfg, run } from './helpers.js';
import { M, SERVICE_LABELS, apiPod, apiPodLabels, apiService, container } from './fixtures.js';

function apiEndpoints(extra: Record<string, unknown> = {}) {
  return {
    metadata: { name: 'api', namespace: 'shop', labels: { app: 'api', 'app.kubernetes.io/managed-by': 'helm' } },
    subsets: [{
      addresses: [
        { ip: '10.1.0.5', nodeName: 'node-a', targetRef: { kind: 'Pod', namespace: 'shop', name: 'api-1', uid: 'uid-api-1' } },
        { ip: '10.1.0.9', hostname: 'ext-1' },
      ],
      notReadyAddresses: [{ ip: '10.1.0.6', nodeName: 'node-b', targetRef: { kind: 'Pod', namespace: 'shop', name: 'api-2' } }],
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    }],
    ...extra,
  };
}

function ep(addr: string, ready: string, extra: Record<string, string> = {}) {
  return { __address__: addr, [`${M}endpoint_port_name`]: 'http', [`${M}endpoint_port_protocol`]: 'TCP', [`${M}endpoint_ready`]: ready, ...extra };
}

const podRef = (name: string, node: string) => ({
  [`${M}endpoint_address_target_kind`]: 'Pod', [`${M}endpoint_address_target_name`]: name, [`${M}endpoint_node_name`]: node,
});

describe('kubernetes_sd role: endpoints', () => {
  let api: FakeApiServer;
  before(async () => {
    api = await FakeApiServer.start();
    api.upsert('services', apiService());
    api.upsert('pods', apiPod('api-1', '10.1.0.5', 'node-a'));
    api.upsert('pods', apiPod('api-2', '10.1.0.6', 'node-b'));
    api.upsert('endpoints', apiEndpoints());
  });
  after(async () => {
    await api.stop();
  });

  it('emits ready and not-ready addresses, pod metadata, and uncovered container ports', async () => {
    const r = run(readCfg({ role: 'endpoints', api_server: api.url }));
    try {
      await r.waitFor(() => r.emits.length > 0, 'initial emit');
      assert.equal(r.emits[0]!.length, 1);
      const g = r.groups.get('endpoints/shop/api')!;
      assert.deepEqual(g.labels, {
        [`${M}namespace`]: 'shop',
        [`${M}endpoints_name`]: 'api',
        [`${M}endpoints_label_app`]: 'api',
        [`${M}endpoints_labelpresent_app`]: 'true',
        [`${M}endpoints_label_app_kubernetes_io_managed_by`]: 'helm',
        [`${M}endpoints_labelpresent_app_kubernetes_io_managed_by`]: 'true',
        ...SERVICE_LABELS,
      });
      const p1 = apiPodLabels('api-1', '10.1.0.5', 'node-a');
      const p2 = apiPodLabels('api-2', '10.1.0.6', 'node-b');
      assert.deepEqual(canon(g.targets), canon([
        { ...ep('10.1.0.5:8080', 'true', podRef('api-1', 'node-a')), ...p1, ...container('app', 'shop/api:3.1', '8080', 'http') },
        ep('10.1.0.9:8080', 'true', { [`${M}endpoint_hostname`]: 'ext-1' }),
        { ...ep('10.1.0.6:8080', 'false', podRef('api-2', 'node-b')), ...p2, ...container('app', 'shop/api:3.1', '8080', 'http') },
        { __address__: '10.1.0.5:9100', ...p1, ...container('app', 'shop/api:3.1', '9100', 'metrics') },
        { __address__: '10.1.0.5:15090', ...p1, ...container('envoy', 'envoy:1.28', '15090', 'envoy-prom') },
        { __address__: '10.1.0.6:9100', ...p2, ...container('app', 'shop/api:3.1', '9100', 'metrics') },
      ]));
    } finally {
      await r.stop();
    }
  });

  it('follows endpoints and service changes (pod changes alone do not rebuild, as in 2.42)', async () => {
    const r = run(readCfg({ role: 'endpoints', api_server: api.url }));
    try {
      await r.waitGroup('endpoints/shop/api');
      api.upsert('services', apiService({ app: 'api', tier: 'backend' }));
      await r.waitGroup('endpoints/shop/api', (g) => g.labels[`${M}service_label_tier`] === 'backend');

      const emits = r.emits.length;
      api.upsert('pods', apiPod('api-1', '10.1.0.5', 'node-a', { version: 'v2' }));
      await new Promise((res) => setTimeout(res, 150));
      assert.equal(r.emits.length, emits, 'a pod update does not re-emit the endpoints group');

      api.upsert('endpoints', apiEndpoints({ metadata: { name: 'api', namespace: 'shop', labels: { app: 'api' } } }));
      const g = await r.waitGroup('endpoints/shop/api', (x) => x.labels[`${M}endpoints_label_app_kubernetes_io_managed_by`] === undefined);
      const t = g.targets.find((x) => x.__address__ === '10.1.0.5:8080')!;
      assert.equal(t[`${M}pod_label_version`], 'v2', 'the rebuilt group sees the current pod');

      api.remove('endpoints', 'shop', 'api');
      await r.waitFor(() => !r.groups.has('endpoints/shop/api'), 'deleted endpoints');
      assert.deepEqual(r.emits.at(-1), [{ source: 'endpoints/shop/api', targets: [], labels: {} }]);
    } finally {
      await r.stop();
      api.upsert('services', apiService());
      api.upsert('pods', apiPod('api-1', '10.1.0.5', 'node-a'));
      api.upsert('endpoints', apiEndpoints());
    }
  });

  it('passes each selector role to its own list/watch and attaches node labels', async () => {
    api.upsert('nodes', { metadata: { name: 'node-a', labels: { zone: 'a' } } });
    api.upsert('nodes', { metadata: { name: 'node-b', labels: { zone: 'b' } } });
    const start = api.requests.length;
    const r = run(readCfg({
      role: 'endpoints', api_server: api.url, namespaces: { names: ['shop'] }, attach_metadata: { node: true },
      selectors: [
        { role: 'endpoints', label: 'app=api' },
        { role: 'service', field: 'metadata.name=api' },
        { role: 'pod', label: 'app' },
      ],
    }));
    try {
      const g = await r.waitGroup('endpoints/shop/api');
      const reqs = api.requests.slice(start);
      const sel = (part: string) => reqs.filter((q) => q.path.endsWith(part)).map((q) => [q.query.get('labelSelector'), q.query.get('fieldSelector')]);
      assert.deepEqual(sel('/namespaces/shop/endpoints')[0], ['app=api', null]);
      assert.deepEqual(sel('/namespaces/shop/services')[0], [null, 'metadata.name=api']);
      assert.deepEqual(sel('/namespaces/shop/pods')[0], ['app', null]);
      assert.deepEqual(sel('/api/v1/nodes')[0], [null, null]);

      const ready = g.targets.find((x) => x.__address__ === '10.1.0.5:8080')!;
      assert.equal(ready[`${M}node_name`], 'node-a');
      assert.equal(ready[`${M}node_label_zone`], 'a');
      assert.equal(ready[`${M}node_labelpresent_zone`], 'true');
      const notReady = g.targets.find((x) => x.__address__ === '10.1.0.6:8080')!;
      assert.equal(notReady[`${M}node_label_zone`], 'b');
      const external = g.targets.find((x) => x.__address__ === '10.1.0.9:8080')!;
      assert.equal(external[`${M}node_name`], undefined);

      api.upsert('nodes', { metadata: { name: 'node-a', labels: { zone: 'a2' } } });
      await r.waitGroup('endpoints/shop/api', (x) => x.targets.some((t) => t[`${M}node_label_zone`] === 'a2'));
    } finally {
      await r.stop();
    }
  });
});
