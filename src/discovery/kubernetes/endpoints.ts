/** role: endpoints (Prometheus 2.42 discovery/kubernetes/endpoints.go). */
import type { Labels } from '../../prom/labels.js';
import type { Logger } from '../../logger.js';
import type { TargetGroup } from '../types.js';
import type { Informer } from './informer.js';
import { META_PREFIX, NAMESPACE_LABEL, addMapLabels, addNodeLabels, formatPort, joinHostPort, merge } from './meta.js';
import { nameOf, namespaceOf, type EndpointAddress, type EndpointPort, type Endpoints, type Node, type ObjectReference, type Pod, type Service } from './objects.js';
import {
  POD_CONTAINER_IMAGE, POD_CONTAINER_NAME, POD_CONTAINER_PORT_NAME, POD_CONTAINER_PORT_NUMBER, POD_CONTAINER_PORT_PROTOCOL, podLabels,
} from './pod.js';
import { serviceLabels } from './service.js';
import { nodeGetter, type RoleFactory } from './unit.js';

const ENDPOINTS_NAME = `${META_PREFIX}endpoints_name`;
const ENDPOINTS_LABEL = `${META_PREFIX}endpoints_label_`;
const ENDPOINTS_LABEL_PRESENT = `${META_PREFIX}endpoints_labelpresent_`;
const ENDPOINT_NODE_NAME = `${META_PREFIX}endpoint_node_name`;
const ENDPOINT_HOSTNAME = `${META_PREFIX}endpoint_hostname`;
const ENDPOINT_READY = `${META_PREFIX}endpoint_ready`;
const ENDPOINT_PORT_NAME = `${META_PREFIX}endpoint_port_name`;
const ENDPOINT_PORT_PROTOCOL = `${META_PREFIX}endpoint_port_protocol`;
const ENDPOINT_ADDRESS_TARGET_KIND = `${META_PREFIX}endpoint_address_target_kind`;
const ENDPOINT_ADDRESS_TARGET_NAME = `${META_PREFIX}endpoint_address_target_name`;
const OVER_CAPACITY = 'endpoints.kubernetes.io/over-capacity';

export function endpointsSource(namespace: string, name: string): string {
  return `endpoints/${namespace}/${name}`;
}

/** Resolves a target reference to a pod in the store (only `Pod` references). */
export function resolvePodRef(pods: Informer<Pod>, ref: ObjectReference | null | undefined): Pod | undefined {
  if (!ref || ref.kind !== 'Pod') return undefined;
  return pods.get(ref.namespace ?? '', ref.name ?? '');
}

export interface EndpointsDeps {
  pods: Informer<Pod>;
  services: Informer<Service>;
  getNode?: (name: string) => Node | undefined;
  logger?: Logger;
}

export function buildEndpoints(eps: Endpoints, d: EndpointsDeps): TargetGroup {
  const ns = namespaceOf(eps);
  const tg: TargetGroup = { source: endpointsSource(ns, nameOf(eps)), targets: [], labels: { [NAMESPACE_LABEL]: ns, [ENDPOINTS_NAME]: nameOf(eps) } };
  const svc = d.services.get(ns, nameOf(eps));
  if (svc) tg.labels = merge(tg.labels, serviceLabels(svc));
  addMapLabels(tg.labels, eps.metadata?.labels, ENDPOINTS_LABEL, ENDPOINTS_LABEL_PRESENT);

  const seenPods = new Map<string, { pod: Pod; ports: EndpointPort[] }>();

  const add = (addr: EndpointAddress, port: EndpointPort, ready: string) => {
    let target: Labels = {
      __address__: joinHostPort(addr.ip ?? '', formatPort(port.port)),
      [ENDPOINT_PORT_NAME]: port.name ?? '',
      [ENDPOINT_PORT_PROTOCOL]: port.protocol ?? '',
      [ENDPOINT_READY]: ready,
    };
    if (addr.targetRef) {
      target[ENDPOINT_ADDRESS_TARGET_KIND] = addr.targetRef.kind ?? '';
      target[ENDPOINT_ADDRESS_TARGET_NAME] = addr.targetRef.name ?? '';
    }
    if (addr.nodeName !== undefined && addr.nodeName !== null) target[ENDPOINT_NODE_NAME] = addr.nodeName;
    if (addr.hostname) target[ENDPOINT_HOSTNAME] = addr.hostname;
    if (d.getNode) target = addNodeLabels(target, addr.nodeName, d.getNode);

    const pod = resolvePodRef(d.pods, addr.targetRef);
    if (!pod) {
      tg.targets.push(target);
      return;
    }
    const key = `${namespaceOf(pod)}/${nameOf(pod)}`;
    let seen = seenPods.get(key);
    if (!seen) seenPods.set(key, (seen = { pod, ports: [] }));

    target = merge(target, podLabels(pod));
    // Container port labels for the container port equal to the endpoint port (the last container wins).
    for (const c of pod.spec?.containers ?? []) {
      for (const cport of c.ports ?? []) {
        if ((port.port ?? 0) === (cport.containerPort ?? 0)) {
          target[POD_CONTAINER_NAME] = c.name ?? '';
          target[POD_CONTAINER_IMAGE] = c.image ?? '';
          target[POD_CONTAINER_PORT_NAME] = cport.name ?? '';
          target[POD_CONTAINER_PORT_NUMBER] = formatPort(port.port);
          target[POD_CONTAINER_PORT_PROTOCOL] = port.protocol ?? '';
          break;
        }
      }
    }
    seen.ports.push(port);
    tg.targets.push(target);
  };

  for (const ss of eps.subsets ?? []) {
    for (const port of ss.ports ?? []) {
      for (const addr of ss.addresses ?? []) add(addr, port, 'true');
      for (const addr of ss.notReadyAddresses ?? []) add(addr, port, 'false');
    }
  }

  const capacity = eps.metadata?.labels?.[OVER_CAPACITY];
  if (capacity === 'truncated') {
    d.logger?.warn({ endpoint: nameOf(eps) }, 'Number of endpoints in one Endpoints object exceeds 1000 and has been truncated, please use "role: endpointslice" instead');
  } else if (capacity === 'warning') {
    d.logger?.warn({ endpoint: nameOf(eps) }, 'Number of endpoints in one Endpoints object exceeds 1000, please use "role: endpointslice" instead');
  }

  // Container ports of the pods seen above that no endpoint port covered become targets too.
  for (const { pod, ports } of seenPods.values()) {
    for (const c of pod.spec?.containers ?? []) {
      for (const cport of c.ports ?? []) {
        if (ports.some((p) => (p.port ?? 0) === (cport.containerPort ?? 0))) continue;
        const num = formatPort(cport.containerPort);
        const target: Labels = {
          __address__: joinHostPort(pod.status?.podIP ?? '', num),
          [POD_CONTAINER_NAME]: c.name ?? '',
          [POD_CONTAINER_IMAGE]: c.image ?? '',
          [POD_CONTAINER_PORT_NAME]: cport.name ?? '',
          [POD_CONTAINER_PORT_NUMBER]: num,
          [POD_CONTAINER_PORT_PROTOCOL]: cport.protocol ?? '',
        };
        tg.targets.push(merge(target, podLabels(pod)));
      }
    }
  }
  return tg;
}

export const endpointsRole: RoleFactory = (deps) => {
  const endpoints = deps.informer<Endpoints>('endpoints');
  const services = deps.informer<Service>('service');
  const pods = deps.informer<Pod>('pod');
  endpoints.on((_type, e) => deps.enqueue(namespaceOf(e), nameOf(e)));
  // A service change rebuilds the endpoints object of the same name; pod changes alone rebuild nothing (as in 2.42).
  services.on((_type, s) => {
    if (endpoints.get(namespaceOf(s), nameOf(s))) deps.enqueue(namespaceOf(s), nameOf(s));
  });
  const nodes = deps.nodes;
  if (nodes) {
    // Indexed by the node names of ready addresses, as Prometheus's endpoints node index.
    nodes.on((_type, n) => {
      for (const e of endpoints.items()) {
        if ((e.subsets ?? []).some((ss) => (ss.addresses ?? []).some((a) => a.nodeName === nameOf(n)))) deps.enqueue(namespaceOf(e), nameOf(e));
      }
    });
  }
  const d: EndpointsDeps = { pods, services, getNode: nodes ? nodeGetter(nodes) : undefined, logger: deps.logger };
  return {
    informers: [endpoints, services, pods],
    primary: endpoints,
    source: endpointsSource,
    build: (o) => buildEndpoints(o as Endpoints, d),
  };
};
