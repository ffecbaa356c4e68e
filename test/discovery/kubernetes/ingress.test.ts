import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeApiServer } from '../../helpers/fake-apiserver.js';
import { canon, readCfg, run } from './helpers.js';

const M = '__meta_kubernetes_';

const SHOP = {
  metadata: { name: 'shop', namespace: 'web', labels: { app: 'shop' }, annotations: { 'kubernetes.io/ingress.class': 'nginx' } },
  spec: {
    ingressClassName: 'nginx',
    tls: [{ hosts: ['shop.example.com'], secretName: 'shop-tls' }, { hosts: ['*.api.example.com'] }],
    rules: [
      { host: 'shop.example.com', http: { paths: [{ path: '/', pathType: 'Prefix' }, { path: '/cart', pathType: 'Prefix' }] } },
      { host: 'v1.api.example.com', http: { paths: [{ path: '', pathType: 'ImplementationSpecific' }] } },
      { host: 'a.b.api.example.com', http: { paths: [{ path: '/x', pathType: 'Exact' }] } },
      { host: 'plain.example.com' },
      { host: 'empty.example.com', http: { paths: [] } },
    ],
  },
};

function t(host: string, scheme: string, path: string) {
  return { __address__: host, [`${M}ingress_scheme`]: scheme, [`${M}ingress_host`]: host, [`${M}ingress_path`]: path };
}

describe('kubernetes_sd role: ingress', () => {
  it('emits one target per rule path, https when a TLS host (or wildcard) matches', async () => {
    const api = await FakeApiServer.start();
    api.upsert('ingresses', SHOP);
    api.upsert('ingresses', { metadata: { name: 'bare', namespace: 'web' }, spec: { rules: [{ host: 'bare.example.com' }] } });
    const r = run(readCfg({ role: 'ingress', api_server: api.url }));
    try {
      await r.waitFor(() => r.emits.length > 0, 'initial emit');
      const g = r.groups.get('ingress/web/shop')!;
      assert.deepEqual(g.labels, {
        [`${M}namespace`]: 'web',
        [`${M}ingress_name`]: 'shop',
        [`${M}ingress_class_name`]: 'nginx',
        [`${M}ingress_label_app`]: 'shop',
        [`${M}ingress_labelpresent_app`]: 'true',
        [`${M}ingress_annotation_kubernetes_io_ingress_class`]: 'nginx',
        [`${M}ingress_annotationpresent_kubernetes_io_ingress_class`]: 'true',
      });
      assert.deepEqual(canon(g.targets), canon([
        t('shop.example.com', 'https', '/'),
        t('shop.example.com', 'https', '/cart'),
        t('v1.api.example.com', 'https', '/'),
        t('a.b.api.example.com', 'http', '/x'),
        t('plain.example.com', 'http', '/'),
      ]));
      const bare = r.groups.get('ingress/web/bare')!;
      assert.equal(bare.labels[`${M}ingress_class_name`], undefined);
      assert.deepEqual(bare.targets, [t('bare.example.com', 'http', '/')]);
      assert.deepEqual(api.listRequests('ingresses').map((q) => q.path), ['/apis/networking.k8s.io/v1/ingresses']);

      api.remove('ingresses', 'web', 'bare');
      await r.waitFor(() => !r.groups.has('ingress/web/bare'), 'ingress deletion');
    } finally {
      await r.stop();
      await api.stop();
    }
  });

  it('uses networking.k8s.io/v1beta1 on servers older than 1.19', async () => {
    const api = await FakeApiServer.start({ gitVersion: 'v1.18.20-gke.900' });
    api.upsert('ingresses', SHOP);
    const r = run(readCfg({ role: 'ingress', api_server: api.url, namespaces: { names: ['web'] } }));
    try {
      await r.waitGroup('ingress/web/shop');
      assert.deepEqual(api.listRequests('ingresses').map((q) => q.path), ['/apis/networking.k8s.io/v1beta1/namespaces/web/ingresses']);
    } finally {
      await r.stop();
      await api.stop();
    }
  });
});
