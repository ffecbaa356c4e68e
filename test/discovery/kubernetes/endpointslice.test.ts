import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeApiServer } from '../../helpers/fake-apiserver.js';
import { canon, readCfg, run } from './helpers.js';
import { M, SERVICE_LABELS, apiPod, apiPodLabels, apiService, container } from './fixtures.js';

function slice(topologyField: 'deprecatedTopology' | 'topology') {
  return {
    metadata: {
      name: 'api-abc12', namespace: 'shop',
      labels: { 'kubernetes.io/service-name': 'api', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
    },
    addressType: 'IPv4',
    endpoints: [
      {
        addresses: ['10.1.0.5'], conditions: { ready: true, serving: true, terminating: false }, hostname: 'api-1', nodeName: 'node-a',
        targetRef: { kind: 'Pod', namespace: 'shop', name: 'api-1' }, [topologyField]: { 'kubernetes.io/hostname': 'node-a' },
      },
      { addresses: ['10.1.0.6'], conditions: { ready: false }, targetRef: { kind: 'Pod', namespace: 'shop', name: 'api-2' } },
      { addresses: ['192.0.2.10'], conditions: {} },
    ],
    ports: [{ name: 'http', port: 8080, protocol: 'TCP', appProtocol: 'http' }, { name: '', port: 9100, protocol: 'TCP' }],
  };
}

const SL = `${M}endpointslice_`;

function sp(addr: string, port: string, name: string, app?: string) {
  const t: Record<string, string> = { __address__: addr, [`${SL}port_name`]: name, [`${SL}port_protocol`]: 'TCP', [`${SL}port`]: port };
  if (app) t[`${SL}port_app_protocol`] = app;
  return t;
}

const EP1 = {
  [`${SL}endpoint_conditions_ready`]: 'true', [`${SL}endpoint_conditions_serving`]: 'true', [`${SL}endpoint_conditions_terminating`]: 'false',
  [`${SL}endpoint_hostname`]: 'api-1', [`${SL}address_target_kind`]: 'Pod', [`${SL}address_target_name`]: 'api-1',
  [`${SL}endpoint_topology_kubernetes_io_hostname`]: 'node-a', [`${SL}endpoint_topology_present_kubernetes_io_hostname`]: 'true',
};
const EP2 = { [`${SL}endpoint_conditions_ready`]: 'false', [`${SL}address_target_kind`]: 'Pod', [`${SL}address_target_name`]: 'api-2' };

async function setup(gitVersion: string, topologyField: 'deprecatedTopology' | 'topology') {
  const api = await FakeApiServer.start({ gitVersion });
  api.upsert('services', apiService());
  api.upsert('pods', apiPod('api-1', '10.1.0.5', 'node-a'));
  api.upsert('pods', apiPod('api-2', '10.1.0.6', 'node-b'));
  api.upsert('endpointslices', slice(topologyField));
  return api;
}

describe('kubernetes_sd role: endpointslice', () => {
  it('labels discovery.k8s.io/v1 slices, their pods and service', async () => {
    const api = await setup('v1.26.1', 'deprecatedTopology');
    const r = run(readCfg({ role: 'endpointslice', api_server: api.url }));
    try {
      await r.waitFor(() => r.emits.length > 0, 'initial emit');
      const g = r.groups.get('endpointslice/shop/api-abc12')!;
      assert.deepEqual(g.labels, {
        [`${M}namespace`]: 'shop', [`${SL}name`]: 'api-abc12', [`${SL}address_type`]: 'IPv4', ...SERVICE_LABELS,
      });
      const p1 = apiPodLabels('api-1', '10.1.0.5', 'node-a');
      const p2 = apiPodLabels('api-2', '10.1.0.6', 'node-b');
      assert.deepEqual(canon(g.targets), canon([
        { ...sp('10.1.0.5:8080', '8080', 'http', 'http'), ...EP1, ...p1, ...container('app', 'shop/api:3.1', '8080', 'http') },
        { ...sp('10.1.0.5:9100', '9100', ''), ...EP1, ...p1, ...container('app', 'shop/api:3.1', '9100', 'metrics') },
        { ...sp('10.1.0.6:8080', '8080', 'http', 'http'), ...EP2, ...p2, ...container('app', 'shop/api:3.1', '8080', 'http') },
        { ...sp('10.1.0.6:9100', '9100', ''), ...EP2, ...p2, ...container('app', 'shop/api:3.1', '9100', 'metrics') },
        sp('192.0.2.10:8080', '8080', 'http', 'http'),
        sp('192.0.2.10:9100', '9100', ''),
        { __address__: '10.1.0.5:15090', ...p1, ...container('envoy', 'envoy:1.28', '15090', 'envoy-prom') },
      ]));
      assert.deepEqual(api.listRequests('endpointslices').map((q) => q.path), ['/apis/discovery.k8s.io/v1/endpointslices']);

      // Service changes rebuild the slices that name it.
      api.upsert('services', apiService({ app: 'api', tier: 'backend' }));
      await r.waitGroup('endpointslice/shop/api-abc12', (x) => x.labels[`${M}service_label_tier`] === 'backend');
      api.remove('endpointslices', 'shop', 'api-abc12');
      await r.waitFor(() => !r.groups.has('endpointslice/shop/api-abc12'), 'deleted slice');
    } finally {
      await r.stop();
      await api.stop();
    }
  });

  it('falls back to discovery.k8s.io/v1beta1 (topology field) before Kubernetes 1.21 and attaches node labels', async () => {
    const api = await setup('v1.20.15', 'topology');
    api.upsert('nodes', { metadata: { name: 'node-a', labels: { 'topology.kubernetes.io/zone': 'z1' } } });
    const r = run(readCfg({ role: 'endpointslice', api_server: api.url, namespaces: { names: ['shop'] }, attach_metadata: { node: true } }));
    try {
      const g = await r.waitGroup('endpointslice/shop/api-abc12');
      assert.deepEqual(api.listRequests('endpointslices').map((q) => q.path), ['/apis/discovery.k8s.io/v1beta1/namespaces/shop/endpointslices']);
      const t = g.targets.find((x) => x.__address__ === '10.1.0.5:8080')!;
      assert.equal(t[`${SL}endpoint_topology_kubernetes_io_hostname`], 'node-a');
      assert.equal(t[`${M}node_name`], 'node-a');
      assert.equal(t[`${M}node_label_topology_kubernetes_io_zone`], 'z1');
      assert.equal(g.targets.find((x) => x.__address__ === '10.1.0.6:8080')![`${M}node_name`], undefined, 'no nodeName, no node labels');
    } finally {
      await r.stop();
      await api.stop();
    }
  });
});
