/** Objects of a small "shop" application shared by the endpoints and endpointslice tests. */
import type { Labels } from '../../../src/prom/labels.js';

export const M = '__meta_kubernetes_';

export function apiService(labels: Record<string, string> = { app: 'api' }) {
  return {
    metadata: { name: 'api', namespace: 'shop', labels, annotations: { 'prometheus.io/scrape': 'true' } },
    spec: { type: 'ClusterIP', clusterIP: '10.96.0.20', ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] },
  };
}

export function apiPod(name: string, ip: string, node: string, extraLabels: Record<string, string> = {}) {
  const containers: unknown[] = [
    { name: 'app', image: 'shop/api:3.1', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }, { name: 'metrics', containerPort: 9100, protocol: 'TCP' }] },
  ];
  if (name === 'api-1') containers.push({ name: 'envoy', image: 'envoy:1.28', ports: [{ name: 'envoy-prom', containerPort: 15090, protocol: 'TCP' }] });
  return {
    metadata: { name, namespace: 'shop', uid: `uid-${name}`, labels: { app: 'api', ...extraLabels } },
    spec: { nodeName: node, containers, initContainers: [{ name: 'migrate', image: 'shop/migrate:1', ports: [{ containerPort: 7000 }] }] },
    status: { phase: 'Running', podIP: ip, hostIP: '192.168.0.1', conditions: [{ type: 'Ready', status: name === 'api-1' ? 'True' : 'False' }] },
  };
}

/** The pod labels Prometheus attaches to endpoint targets backed by the apiPod of that name. */
export function apiPodLabels(name: string, ip: string, node: string, extraLabels: Record<string, string> = {}): Labels {
  const ls: Labels = {
    [`${M}pod_name`]: name,
    [`${M}pod_ip`]: ip,
    [`${M}pod_ready`]: name === 'api-1' ? 'true' : 'false',
    [`${M}pod_phase`]: 'Running',
    [`${M}pod_node_name`]: node,
    [`${M}pod_host_ip`]: '192.168.0.1',
    [`${M}pod_uid`]: `uid-${name}`,
  };
  for (const [k, v] of Object.entries({ app: 'api', ...extraLabels })) {
    ls[`${M}pod_label_${k.replace(/[^a-zA-Z0-9_]/g, '_')}`] = v;
    ls[`${M}pod_labelpresent_${k.replace(/[^a-zA-Z0-9_]/g, '_')}`] = 'true';
  }
  return ls;
}

export function container(name: string, image: string, port: string, portName: string, protocol = 'TCP'): Labels {
  return {
    [`${M}pod_container_name`]: name,
    [`${M}pod_container_image`]: image,
    [`${M}pod_container_port_name`]: portName,
    [`${M}pod_container_port_number`]: port,
    [`${M}pod_container_port_protocol`]: protocol,
  };
}

export const SERVICE_LABELS: Labels = {
  [`${M}service_name`]: 'api',
  [`${M}service_label_app`]: 'api',
  [`${M}service_labelpresent_app`]: 'true',
  [`${M}service_annotation_prometheus_io_scrape`]: 'true',
  [`${M}service_annotationpresent_prometheus_io_scrape`]: 'true',
};
