import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeApiServer } from '../../helpers/fake-apiserver.js';
import { canon, readCfg, run } from './helpers.js';

const M = '__meta_kubernetes_';

describe('kubernetes_sd role: node', () => {
  let api: FakeApiServer;
  before(async () => {
    api = await FakeApiServer.start();
  });
  after(async () => {
    await api.stop();
  });

  it('labels nodes and picks the address by type priority with the kubelet port', async () => {
    api.upsert('nodes', {
      metadata: {
        name: 'ip-10-0-1-5.ec2.internal',
        labels: { 'kubernetes.io/hostname': 'ip-10-0-1-5', 'node-role.kubernetes.io/worker': '' },
        annotations: { 'node.alpha.kubernetes.io/ttl': '0' },
      },
      spec: { providerID: 'aws:///eu-west-1a/i-0abc' },
      status: {
        addresses: [
          { type: 'Hostname', address: 'ip-10-0-1-5' },
          { type: 'ExternalIP', address: '54.1.2.3' },
          { type: 'InternalIP', address: '10.0.1.5' },
          { type: 'InternalIP', address: '10.0.1.6' },
          { type: 'InternalDNS', address: 'ip-10-0-1-5.ec2.internal' },
        ],
        daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      },
    });
    api.upsert('nodes', { metadata: { name: 'bare' }, status: { addresses: [{ type: 'Hostname', address: 'bare' }] } });
    api.upsert('nodes', { metadata: { name: 'no-address' }, status: {} });
    // The namespace restriction does not apply to nodes.
    const r = run(readCfg({ role: 'node', api_server: api.url, namespaces: { names: ['kube-system'] } }));
    try {
      await r.waitFor(() => r.emits.length > 0, 'initial emit');
      assert.deepEqual(r.emits[0]!.map((g) => g.source).sort(), ['node/bare', 'node/ip-10-0-1-5.ec2.internal'], 'a node without addresses sends nothing');
      const g = r.groups.get('node/ip-10-0-1-5.ec2.internal')!;
      assert.deepEqual(g.labels, {
        [`${M}node_name`]: 'ip-10-0-1-5.ec2.internal',
        [`${M}node_provider_id`]: 'aws:///eu-west-1a/i-0abc',
        [`${M}node_label_kubernetes_io_hostname`]: 'ip-10-0-1-5',
        [`${M}node_labelpresent_kubernetes_io_hostname`]: 'true',
        [`${M}node_label_node_role_kubernetes_io_worker`]: '',
        [`${M}node_labelpresent_node_role_kubernetes_io_worker`]: 'true',
        [`${M}node_annotation_node_alpha_kubernetes_io_ttl`]: '0',
        [`${M}node_annotationpresent_node_alpha_kubernetes_io_ttl`]: 'true',
      });
      assert.deepEqual(g.targets, [{
        __address__: '10.0.1.5:10250',
        instance: 'ip-10-0-1-5.ec2.internal',
        [`${M}node_address_Hostname`]: 'ip-10-0-1-5',
        [`${M}node_address_ExternalIP`]: '54.1.2.3',
        [`${M}node_address_InternalIP`]: '10.0.1.5',
        [`${M}node_address_InternalDNS`]: 'ip-10-0-1-5.ec2.internal',
      }]);
      assert.deepEqual(r.groups.get('node/bare')!.targets, [{ __address__: 'bare:0', instance: 'bare', [`${M}node_address_Hostname`]: 'bare' }]);
      assert.deepEqual(api.listRequests('/nodes').map((q) => q.path), ['/api/v1/nodes']);

      // A node that loses its addresses sends nothing: its last group stays.
      const emits = r.emits.length;
      api.upsert('nodes', { metadata: { name: 'bare' }, status: {} });
      api.upsert('nodes', { metadata: { name: 'late' }, status: { addresses: [{ type: 'ExternalDNS', address: 'late.example.com' }] } });
      await r.waitGroup('node/late');
      assert.ok(r.emits.slice(emits).flat().every((x) => x.source !== 'node/bare'));
      assert.ok(r.groups.has('node/bare'));
      api.remove('nodes', '', 'late');
      await r.waitFor(() => !r.groups.has('node/late'), 'node deletion');
    } finally {
      await r.stop();
    }
  });
});

describe('kubernetes_sd role: service', () => {
  let api: FakeApiServer;
  before(async () => {
    api = await FakeApiServer.start();
  });
  after(async () => {
    await api.stop();
  });

  it('emits one target per service port with type-dependent labels', async () => {
    const meta = (name: string) => ({ name, namespace: 'shop', labels: { app: 'shop', 'app.kubernetes.io/part-of': 'store' }, annotations: { 'prometheus.io/port': '9090' } });
    api.upsert('services', {
      metadata: meta('api'),
      spec: { type: 'ClusterIP', clusterIP: '10.96.0.12', ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }, { name: 'grpc', port: 9090, protocol: 'TCP' }] },
    });
    api.upsert('services', { metadata: meta('ext'), spec: { type: 'ExternalName', externalName: 'db.example.com', ports: [{ port: 5432, protocol: 'TCP' }] } });
    api.upsert('services', { metadata: meta('lb'), spec: { type: 'LoadBalancer', clusterIP: '10.96.0.13', loadBalancerIP: '203.0.113.7', ports: [{ name: 'https', port: 443, protocol: 'TCP' }] } });
    api.upsert('services', { metadata: meta('headless'), spec: { type: 'ClusterIP', clusterIP: 'None' } });
    const r = run(readCfg({ role: 'service', api_server: api.url }));
    try {
      await r.waitFor(() => r.emits.length > 0, 'initial emit');
      assert.equal(r.emits[0]!.length, 4);
      const api1 = r.groups.get('svc/shop/api')!;
      assert.deepEqual(api1.labels, {
        [`${M}namespace`]: 'shop',
        [`${M}service_name`]: 'api',
        [`${M}service_label_app`]: 'shop',
        [`${M}service_labelpresent_app`]: 'true',
        [`${M}service_label_app_kubernetes_io_part_of`]: 'store',
        [`${M}service_labelpresent_app_kubernetes_io_part_of`]: 'true',
        [`${M}service_annotation_prometheus_io_port`]: '9090',
        [`${M}service_annotationpresent_prometheus_io_port`]: 'true',
      });
      const base = (port: string, name: string) => ({
        [`${M}service_port_name`]: name, [`${M}service_port_number`]: port, [`${M}service_port_protocol`]: 'TCP',
      });
      assert.deepEqual(canon(api1.targets), canon([
        { __address__: 'api.shop.svc:80', ...base('80', 'http'), [`${M}service_type`]: 'ClusterIP', [`${M}service_cluster_ip`]: '10.96.0.12' },
        { __address__: 'api.shop.svc:9090', ...base('9090', 'grpc'), [`${M}service_type`]: 'ClusterIP', [`${M}service_cluster_ip`]: '10.96.0.12' },
      ]));
      assert.deepEqual(r.groups.get('svc/shop/ext')!.targets, [
        { __address__: 'ext.shop.svc:5432', ...base('5432', ''), [`${M}service_type`]: 'ExternalName', [`${M}service_external_name`]: 'db.example.com' },
      ]);
      assert.deepEqual(r.groups.get('svc/shop/lb')!.targets, [{
        __address__: 'lb.shop.svc:443', ...base('443', 'https'), [`${M}service_type`]: 'LoadBalancer',
        [`${M}service_cluster_ip`]: '10.96.0.13', [`${M}service_loadbalancer_ip`]: '203.0.113.7',
      }]);
      const headless = r.emits[0]!.find((g) => g.source === 'svc/shop/headless')!;
      assert.deepEqual(headless.targets, []);

      api.upsert('services', { metadata: meta('api'), spec: { type: 'ClusterIP', clusterIP: '10.96.0.12', ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] } });
      await r.waitGroup('svc/shop/api', (g) => g.targets.length === 1 && g.targets[0]!.__address__ === 'api.shop.svc:8080');
      api.remove('services', 'shop', 'api');
      await r.waitFor(() => !r.groups.has('svc/shop/api'), 'service deletion');
    } finally {
      await r.stop();
    }
  });
});
