/** role: endpointslice (Prometheus 2.42 discovery/kubernetes/endpointslice.go; discovery.k8s.io v1 or v1beta1). */
import type { Labels } from '../../prom/labels.js';
import type { TargetGroup } from '../types.js';
import type { Informer } from './informer.js';
import { META_PREFIX, NAMESPACE_LABEL, PRESENT_VALUE, addNodeLabels, formatPort, joinHostPort, merge, sanitizeLabelName } from './meta.js';
import { nameOf, namespaceOf, type EndpointSlice, type Node, type Pod, type Service, type SliceEndpoint, type SlicePort } from './objects.js';
import { resolvePodRef } from './endpoints.js';
import {
  POD_CONTAINER_IMAGE, POD_CONTAINER_NAME, POD_CONTAINER_PORT_NAME, POD_CONTAINER_PORT_NUMBER, POD_CONTAINER_PORT_PROTOCOL, podLabels,
} from './pod.js';
import { serviceLabels } from './service.js';
import { nodeGetter, type RoleFactory } from './unit.js';

const SLICE_NAME = `${META_PREFIX}endpointslice_name`;
const SLICE_ADDRESS_TYPE = `${META_PREFIX}endpointslice_address_type`;
const SLICE_PORT_NAME = `${META_PREFIX}endpointslice_port_name`;
const SLICE_PORT_PROTOCOL = `${META_PREFIX}endpointslice_port_protocol`;
const SLICE_PORT = `${META_PREFIX}endpointslice_port`;
const SLICE_PORT_APP_PROTOCOL = `${META_PREFIX}endpointslice_port_app_protocol`;
const SLICE_READY = `${META_PREFIX}endpointslice_endpoint_conditions_ready`;
const SLICE_SERVING = `${META_PREFIX}endpointslice_endpoint_conditions_serving`;
const SLICE_TERMINATING = `${META_PREFIX}endpointslice_endpoint_conditions_terminating`;
const SLICE_HOSTNAME = `${META_PREFIX}endpointslice_endpoint_hostname`;
const SLICE_TARGET_KIND = `${META_PREFIX}endpointslice_address_target_kind`;
const SLICE_TARGET_NAME = `${META_PREFIX}endpointslice_address_target_name`;
const SLICE_TOPOLOGY = `${META_PREFIX}endpointslice_endpoint_topology_`;
const SLICE_TOPOLOGY_PRESENT = `${META_PREFIX}endpointslice_endpoint_topology_present_`;
/** discovery.k8s.io's LabelServiceName (the same key in v1 and v1beta1). */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export function endpointSliceSource(namespace: string, name: string): string {
  return `endpointslice/${namespace}/${name}`;
}

const isSet = <T>(v: T | null | undefined): v is T => v !== undefined && v !== null;

export interface EndpointSliceDeps {
  pods: Informer<Pod>;
  services: Informer<Service>;
  getNode?: (name: string) => Node | undefined;
  /** discovery.k8s.io/v1beta1 objects keep the topology map in `topology`, v1 in `deprecatedTopology`. */
  v1beta1: boolean;
}

export function buildEndpointSlice(eps: EndpointSlice, d: EndpointSliceDeps): TargetGroup {
  const ns = namespaceOf(eps);
  const tg: TargetGroup = {
    source: endpointSliceSource(ns, nameOf(eps)),
    targets: [],
    labels: { [NAMESPACE_LABEL]: ns, [SLICE_NAME]: nameOf(eps), [SLICE_ADDRESS_TYPE]: eps.addressType ?? '' },
  };
  const svcName = eps.metadata?.labels?.[SERVICE_NAME_LABEL];
  if (svcName !== undefined) {
    const svc = d.services.get(ns, svcName);
    if (svc) tg.labels = merge(tg.labels, serviceLabels(svc));
  }

  const seenPods = new Map<string, { pod: Pod; ports: SlicePort[] }>();

  const add = (addr: string, ep: SliceEndpoint, port: SlicePort) => {
    let target: Labels = { __address__: isSet(port.port) ? joinHostPort(addr, formatPort(port.port)) : addr };
    if (isSet(port.name)) target[SLICE_PORT_NAME] = port.name;
    if (isSet(port.protocol)) target[SLICE_PORT_PROTOCOL] = port.protocol;
    if (isSet(port.port)) target[SLICE_PORT] = formatPort(port.port);
    if (isSet(port.appProtocol)) target[SLICE_PORT_APP_PROTOCOL] = port.appProtocol;
    const cond = ep.conditions ?? {};
    if (isSet(cond.ready)) target[SLICE_READY] = String(cond.ready);
    if (isSet(cond.serving)) target[SLICE_SERVING] = String(cond.serving);
    if (isSet(cond.terminating)) target[SLICE_TERMINATING] = String(cond.terminating);
    if (isSet(ep.hostname)) target[SLICE_HOSTNAME] = ep.hostname;
    if (isSet(ep.targetRef)) {
      target[SLICE_TARGET_KIND] = ep.targetRef.kind ?? '';
      target[SLICE_TARGET_NAME] = ep.targetRef.name ?? '';
    }
    for (const [k, v] of Object.entries((d.v1beta1 ? ep.topology : ep.deprecatedTopology) ?? {})) {
      const ln = sanitizeLabelName(k);
      target[SLICE_TOPOLOGY + ln] = String(v ?? '');
      target[SLICE_TOPOLOGY_PRESENT + ln] = PRESENT_VALUE;
    }
    if (d.getNode) target = addNodeLabels(target, ep.nodeName, d.getNode);

    const pod = resolvePodRef(d.pods, ep.targetRef);
    if (!pod) {
      tg.targets.push(target);
      return;
    }
    const key = `${namespaceOf(pod)}/${nameOf(pod)}`;
    let seen = seenPods.get(key);
    if (!seen) seenPods.set(key, (seen = { pod, ports: [] }));

    target = merge(target, podLabels(pod));
    for (const c of pod.spec?.containers ?? []) {
      for (const cport of c.ports ?? []) {
        if (!isSet(port.port)) continue;
        if (port.port === (cport.containerPort ?? 0)) {
          target[POD_CONTAINER_NAME] = c.name ?? '';
          target[POD_CONTAINER_IMAGE] = c.image ?? '';
          target[POD_CONTAINER_PORT_NAME] = cport.name ?? '';
          target[POD_CONTAINER_PORT_NUMBER] = formatPort(port.port);
          target[POD_CONTAINER_PORT_PROTOCOL] = cport.protocol ?? '';
          break;
        }
      }
    }
    seen.ports.push(port);
    tg.targets.push(target);
  };

  for (const ep of eps.endpoints ?? []) {
    for (const port of eps.ports ?? []) {
      for (const addr of ep.addresses ?? []) add(addr, ep, port);
    }
  }

  for (const { pod, ports } of seenPods.values()) {
    for (const c of pod.spec?.containers ?? []) {
      for (const cport of c.ports ?? []) {
        if (ports.some((p) => isSet(p.port) && p.port === (cport.containerPort ?? 0))) continue;
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

/** The role factory; `v1beta1` selects the API version chosen from the server version. */
export function endpointSliceRole(v1beta1: boolean): RoleFactory {
  return (deps) => {
    const slices = deps.informer<EndpointSlice>('endpointslice');
    const services = deps.informer<Service>('service');
    const pods = deps.informer<Pod>('pod');
    slices.on((_type, s) => deps.enqueue(namespaceOf(s), nameOf(s)));
    // A service change rebuilds every slice labelled with its name.
    services.on((_type, svc) => {
      for (const s of slices.items()) {
        if (s.metadata?.labels?.[SERVICE_NAME_LABEL] === nameOf(svc)) deps.enqueue(namespaceOf(s), nameOf(s));
      }
    });
    const nodes = deps.nodes;
    if (nodes) {
      nodes.on((_type, n) => {
        for (const s of slices.items()) {
          if ((s.endpoints ?? []).some((ep) => ep.nodeName === nameOf(n))) deps.enqueue(namespaceOf(s), nameOf(s));
        }
      });
    }
    const d: EndpointSliceDeps = { pods, services, getNode: nodes ? nodeGetter(nodes) : undefined, v1beta1 };
    return {
      informers: [slices, services, pods],
      primary: slices,
      source: endpointSliceSource,
      build: (o) => buildEndpointSlice(o as EndpointSlice, d),
    };
  };
}
