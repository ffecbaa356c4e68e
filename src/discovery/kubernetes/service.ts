/** role: service (Prometheus 2.42 discovery/kubernetes/service.go). */
import type { Labels } from '../../prom/labels.js';
import type { TargetGroup } from '../types.js';
import { META_PREFIX, NAMESPACE_LABEL, addMapLabels, joinHostPort } from './meta.js';
import { nameOf, namespaceOf, type Service } from './objects.js';
import type { RoleFactory } from './unit.js';

const SERVICE_NAME = `${META_PREFIX}service_name`;
const SERVICE_LABEL = `${META_PREFIX}service_label_`;
const SERVICE_LABEL_PRESENT = `${META_PREFIX}service_labelpresent_`;
const SERVICE_ANNOTATION = `${META_PREFIX}service_annotation_`;
const SERVICE_ANNOTATION_PRESENT = `${META_PREFIX}service_annotationpresent_`;
const SERVICE_PORT_NAME = `${META_PREFIX}service_port_name`;
const SERVICE_PORT_NUMBER = `${META_PREFIX}service_port_number`;
const SERVICE_PORT_PROTOCOL = `${META_PREFIX}service_port_protocol`;
const SERVICE_CLUSTER_IP = `${META_PREFIX}service_cluster_ip`;
const SERVICE_LOADBALANCER_IP = `${META_PREFIX}service_loadbalancer_ip`;
const SERVICE_EXTERNAL_NAME = `${META_PREFIX}service_external_name`;
const SERVICE_TYPE = `${META_PREFIX}service_type`;

export function serviceSource(namespace: string, name: string): string {
  return `svc/${namespace}/${name}`;
}

/** Service metadata labels (with the namespace), shared with the endpoints and endpointslice roles. */
export function serviceLabels(svc: Service): Labels {
  const ls: Labels = { [SERVICE_NAME]: nameOf(svc), [NAMESPACE_LABEL]: namespaceOf(svc) };
  addMapLabels(ls, svc.metadata?.labels, SERVICE_LABEL, SERVICE_LABEL_PRESENT);
  addMapLabels(ls, svc.metadata?.annotations, SERVICE_ANNOTATION, SERVICE_ANNOTATION_PRESENT);
  return ls;
}

export function buildService(svc: Service): TargetGroup {
  const tg: TargetGroup = { source: serviceSource(namespaceOf(svc), nameOf(svc)), labels: serviceLabels(svc), targets: [] };
  const type = svc.spec?.type ?? '';
  for (const port of svc.spec?.ports ?? []) {
    const num = String(Math.trunc(port.port ?? 0));
    const t: Labels = {
      __address__: joinHostPort(`${nameOf(svc)}.${namespaceOf(svc)}.svc`, num),
      [SERVICE_PORT_NAME]: port.name ?? '',
      [SERVICE_PORT_NUMBER]: num,
      [SERVICE_PORT_PROTOCOL]: port.protocol ?? '',
      [SERVICE_TYPE]: type,
    };
    if (type === 'ExternalName') t[SERVICE_EXTERNAL_NAME] = svc.spec?.externalName ?? '';
    else t[SERVICE_CLUSTER_IP] = svc.spec?.clusterIP ?? '';
    if (type === 'LoadBalancer') t[SERVICE_LOADBALANCER_IP] = svc.spec?.loadBalancerIP ?? '';
    tg.targets.push(t);
  }
  return tg;
}

export const serviceRole: RoleFactory = (deps) => {
  const services = deps.informer<Service>('service');
  services.on((_type, s) => deps.enqueue(namespaceOf(s), nameOf(s)));
  return { informers: [services], primary: services, source: serviceSource, build: (o) => buildService(o as Service) };
};
