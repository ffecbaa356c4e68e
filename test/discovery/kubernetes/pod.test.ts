import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeApiServer } from '../../helpers/fake-apiserver.js';
import { canon, readCfg, run } from './helpers.js';

const M = '__meta_kubernetes_';

export function webPod(over: Record<string, unknown> = {}) {
  return {
    metadata: {
      name: 'web-7d4b9c-abcde',
      namespace: 'default',
      uid: '6f1c1a52-0001',
      labels: { app: 'web', 'app.kubernetes.io/name': 'web', 'pod-template-hash': '7d4b9c' },
      annotations: { 'prometheus.io/scrape': 'true' },
      ownerReferences: [
        { apiVersion: 'v1', kind: 'Node', name: 'not-the-controller', uid: 'x' },
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d4b9c', uid: 'rs-uid', controller: true },
      ],
    },
    spec: {
      nodeName: 'node-a',
      initContainers: [
        { name: 'init-db', image: 'busybox:1.36' },
        { name: 'init-metrics', image: 'exporter:2', ports: [{ containerPort: 9999, protocol: 'TCP' }] },
      ],
      containers: [
        { name: 'app', image: 'nginx:1.25', ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }, { name: 'metrics', containerPort: 9113, protocol: 'TCP' }] },
        { name: 'sidecar', image: 'envoy:1.28' },
        { name: 'dns', image: 'coredns:1.11', ports: [{ containerPort: 53, protocol: 'UDP' }] },
      ],
    },
    status: {
      phase: 'Running',
      podIP: '10.1.2.3',
      hostIP: '192.168.0.10',
      conditions: [{ type: 'Initialized', status: 'True' }, { type: 'Ready', status: 'True' }],
      containerStatuses: [{ name: 'app', containerID: 'containerd://aaa' }, { name: 'sidecar', containerID: 'containerd://bbb' }],
      initContainerStatuses: [{ name: 'init-db', containerID: 'containerd://ccc' }],
    },
    ...over,
  };
}

const WEB_LABELS = {
  [`${M}namespace`]: 'default',
  [`${M}pod_name`]: 'web-7d4b9c-abcde',
  [`${M}pod_ip`]: '10.1.2.3',
  [`${M}pod_ready`]: 'true',
  [`${M}pod_phase`]: 'Running',
  [`${M}pod_node_name`]: 'node-a',
  [`${M}pod_host_ip`]: '192.168.0.10',
  [`${M}pod_uid`]: '6f1c1a52-0001',
  [`${M}pod_controller_kind`]: 'ReplicaSet',
  [`${M}pod_controller_name`]: 'web-7d4b9c',
  [`${M}pod_label_app`]: 'web',
  [`${M}pod_labelpresent_app`]: 'true',
  [`${M}pod_label_app_kubernetes_io_name`]: 'web',
  [`${M}pod_labelpresent_app_kubernetes_io_name`]: 'true',
  [`${M}pod_label_pod_template_hash`]: '7d4b9c',
  [`${M}pod_labelpresent_pod_template_hash`]: 'true',
  [`${M}pod_annotation_prometheus_io_scrape`]: 'true',
  [`${M}pod_annotationpresent_prometheus_io_scrape`]: 'true',
};

function ct(name: string, id: string, image: string, init: boolean, addr: string, port?: [string, string, string]) {
  const t: Record<string, string> = {
    __address__: addr,
    [`${M}pod_container_name`]: name,
    [`${M}pod_container_id`]: id,
    [`${M}pod_container_image`]: image,
    [`${M}pod_container_init`]: String(init),
  };
  if (port) {
    t[`${M}pod_container_port_number`] = port[0];
    t[`${M}pod_container_port_name`] = port[1];
    t[`${M}pod_container_port_protocol`] = port[2];
  }
  return t;
}

describe('kubernetes_sd role: pod', () => {
  let api: FakeApiServer;
  before(async () => {
    api = await FakeApiServer.start();
  });
  after(async () => {
    await api.stop();
  });

  it('emits one target per container port, bare-IP targets for port-less containers and init containers', async () => {
    api.upsert('pods', webPod());
    const r = run(readCfg({ role: 'pod', api_server: api.url }));
    try {
      await r.waitFor(() => r.emits.length > 0, 'initial emit');
      assert.equal(r.emits[0]!.length, 1, 'the first emit carries the full initial list');
      const g = r.emits[0]![0]!;
      assert.equal(g.source, 'pod/default/web-7d4b9c-abcde');
      assert.deepEqual(g.labels, WEB_LABELS);
      assert.deepEqual(canon(g.targets), canon([
        ct('app', 'containerd://aaa', 'nginx:1.25', false, '10.1.2.3:80', ['80', 'http', 'TCP']),
        ct('app', 'containerd://aaa', 'nginx:1.25', false, '10.1.2.3:9113', ['9113', 'metrics', 'TCP']),
        ct('sidecar', 'containerd://bbb', 'envoy:1.28', false, '10.1.2.3'),
        ct('dns', '', 'coredns:1.11', false, '10.1.2.3:53', ['53', '', 'UDP']),
        ct('init-db', 'containerd://ccc', 'busybox:1.36', true, '10.1.2.3'),
        ct('init-metrics', '', 'exporter:2', true, '10.1.2.3:9999', ['9999', '', 'TCP']),
      ]));
    } finally {
      await r.stop();
      api.remove('pods', 'default', 'web-7d4b9c-abcde');
    }
  });

  it('reflects watch updates: add, modify, delete; pods without an IP have no targets', async () => {
    const r = run(readCfg({ role: 'pod', api_server: api.url }));
    try {
      await r.waitFor(() => r.emits.length > 0, 'initial emit');
      assert.deepEqual(r.emits[0], [], 'an empty cluster gives an empty first emit');

      api.upsert('pods', { metadata: { name: 'pending', namespace: 'default', uid: 'u2' }, spec: { containers: [{ name: 'c' }] }, status: { phase: 'Pending' } });
      await r.waitFor(() => r.emits.flat().some((g) => g.source === 'pod/default/pending'), 'pending pod group');
      const pending = r.emits.flat().find((g) => g.source === 'pod/default/pending')!;
      assert.deepEqual(pending, { source: 'pod/default/pending', targets: [], labels: {} });

      api.upsert('pods', {
        metadata: { name: 'pending', namespace: 'default', uid: 'u2' },
        spec: { containers: [{ name: 'c', image: 'img', ports: [{ containerPort: 8080, protocol: 'TCP' }] }] },
        status: { phase: 'Running', podIP: 'fd00::7', conditions: [{ type: 'Ready', status: 'False' }] },
      });
      const g = await r.waitGroup('pod/default/pending');
      assert.equal(g.targets[0]!.__address__, '[fd00::7]:8080');
      assert.equal(g.labels[`${M}pod_ready`], 'false');
      assert.equal(g.labels[`${M}pod_node_name`], '');
      assert.equal(g.labels[`${M}pod_controller_kind`], undefined);

      api.upsert('pods', {
        metadata: { name: 'pending', namespace: 'default', uid: 'u2', labels: { 'team/owner': 'sre' } },
        spec: { containers: [{ name: 'c', image: 'img', ports: [{ containerPort: 8080, protocol: 'TCP' }] }] },
        status: { phase: 'Running', podIP: 'fd00::7' },
      });
      const g2 = await r.waitGroup('pod/default/pending', (x) => x.labels[`${M}pod_label_team_owner`] === 'sre');
      assert.equal(g2.labels[`${M}pod_ready`], 'unknown', 'no Ready condition');

      api.remove('pods', 'default', 'pending');
      await r.waitFor(() => !r.groups.has('pod/default/pending'), 'deleted pod');
      const last = r.emits.at(-1)!;
      assert.deepEqual(last, [{ source: 'pod/default/pending', targets: [], labels: {} }]);
    } finally {
      await r.stop();
    }
  });

  it('watches only the configured namespaces and passes selectors to the server', async () => {
    api.upsert('pods', webPod());
    api.upsert('pods', webPod({ metadata: { name: 'p-prod', namespace: 'prod', labels: { app: 'web' } } }));
    api.upsert('pods', webPod({ metadata: { name: 'p-prod-other', namespace: 'prod', labels: { app: 'db' } } }));
    api.upsert('pods', webPod({ metadata: { name: 'p-stage', namespace: 'staging', labels: { app: 'web' } } }));
    const before = api.requests.length;
    const r = run(readCfg({
      role: 'pod', api_server: api.url,
      namespaces: { names: ['prod', 'staging'] },
      selectors: [{ role: 'pod', label: 'app=web', field: 'spec.nodeName=node-a' }],
    }));
    try {
      await r.waitFor(() => r.emits.length > 0, 'initial emit');
      assert.deepEqual(r.emits[0]!.map((g) => g.source).sort(), ['pod/prod/p-prod', 'pod/staging/p-stage']);
      const reqs = api.requests.slice(before);
      const lists = reqs.filter((q) => !q.watch).map((q) => q.path).sort();
      assert.deepEqual(lists, ['/api/v1/namespaces/prod/pods', '/api/v1/namespaces/staging/pods']);
      for (const q of reqs) {
        assert.equal(q.query.get('labelSelector'), 'app=web');
        assert.equal(q.query.get('fieldSelector'), 'spec.nodeName=node-a');
      }
      await r.waitFor(() => api.requests.slice(before).filter((q) => q.watch).length >= 2, 'two watches');
      const watches = api.requests.slice(before).filter((q) => q.watch);
      for (const w of watches) assert.ok(Number(w.query.get('resourceVersion')) > 0, 'watch resumes from the list resourceVersion');

      // An event in a namespace that is not watched changes nothing.
      api.upsert('pods', webPod({ metadata: { name: 'other', namespace: 'default', labels: { app: 'web' } } }));
      api.upsert('pods', webPod({ metadata: { name: 'p-prod2', namespace: 'prod', labels: { app: 'web' } } }));
      await r.waitGroup('pod/prod/p-prod2');
      assert.equal(r.groups.has('pod/default/other'), false);
    } finally {
      await r.stop();
      for (const [ns, n] of [['default', 'web-7d4b9c-abcde'], ['prod', 'p-prod'], ['prod', 'p-prod-other'], ['staging', 'p-stage'], ['default', 'other'], ['prod', 'p-prod2']] as const) {
        api.remove('pods', ns, n);
      }
    }
  });

  it('attach_metadata.node adds the node name and labels, and follows node changes', async () => {
    api.upsert('nodes', { metadata: { name: 'node-a', labels: { 'topology.kubernetes.io/zone': 'eu-1a' }, annotations: { note: 'x' } } });
    api.upsert('pods', webPod());
    const r = run(readCfg({ role: 'pod', api_server: api.url, attach_metadata: { node: true } }));
    try {
      const g = await r.waitGroup('pod/default/web-7d4b9c-abcde');
      assert.equal(g.labels[`${M}node_name`], 'node-a');
      assert.equal(g.labels[`${M}node_label_topology_kubernetes_io_zone`], 'eu-1a');
      assert.equal(g.labels[`${M}node_labelpresent_topology_kubernetes_io_zone`], 'true');
      assert.equal(g.labels[`${M}node_annotation_note`], undefined, 'only node labels are attached');
      api.upsert('nodes', { metadata: { name: 'node-a', labels: { 'topology.kubernetes.io/zone': 'eu-1b' } } });
      await r.waitGroup('pod/default/web-7d4b9c-abcde', (x) => x.labels[`${M}node_label_topology_kubernetes_io_zone`] === 'eu-1b');
    } finally {
      await r.stop();
      api.remove('pods', 'default', 'web-7d4b9c-abcde');
      api.remove('nodes', '', 'node-a');
    }
  });

  it('a node change reaches every pod on it after pods in its namespaces went and came (the cache read namespace by namespace)', async () => {
    api.upsert('nodes', { metadata: { name: 'node-a', labels: { zone: 'one' } } });
    for (const [ns, name] of [['default', 'p1'], ['default', 'p2'], ['prod', 'p3']] as const) api.upsert('pods', webPod({ metadata: { name, namespace: ns, uid: name } }));
    const r = run(readCfg({ role: 'pod', api_server: api.url, attach_metadata: { node: true } }));
    const zone = `${M}node_label_zone`;
    try {
      await r.waitGroup('pod/prod/p3');
      api.remove('pods', 'default', 'p1'); // one of two in its namespace
      api.remove('pods', 'prod', 'p3'); // its namespace empties
      await r.waitFor(() => !r.groups.has('pod/default/p1') && !r.groups.has('pod/prod/p3'), 'p1 and p3 gone');
      api.upsert('pods', webPod({ metadata: { name: 'p4', namespace: 'prod', uid: 'p4' } })); // and fills again
      await r.waitGroup('pod/prod/p4');
      api.upsert('nodes', { metadata: { name: 'node-a', labels: { zone: 'two' } } });
      for (const source of ['pod/default/p2', 'pod/prod/p4']) await r.waitGroup(source, (g) => g.labels[zone] === 'two', 5000);
    } finally {
      await r.stop();
      for (const [ns, name] of [['default', 'p2'], ['prod', 'p4']] as const) api.remove('pods', ns, name);
      api.remove('nodes', '', 'node-a');
    }
  });
});
