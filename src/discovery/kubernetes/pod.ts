/** role: pod (Prometheus 2.42 discovery/kubernetes/pod.go). */
import type { Labels } from '../../prom/labels.js';
import type { TargetGroup } from '../types.js';
import { META_PREFIX, NAMESPACE_LABEL, addMapLabels, addNodeLabels, emptyGroup, formatPort, joinHostPort } from './meta.js';
import { nameOf, namespaceOf, type ContainerStatus, type Node, type Pod } from './objects.js';
import { nodeGetter, type RoleFactory } from './unit.js';

export const POD_NAME = `${META_PREFIX}pod_name`;
export const POD_IP = `${META_PREFIX}pod_ip`;
export const POD_CONTAINER_NAME = `${META_PREFIX}pod_container_name`;
export const POD_CONTAINER_ID = `${META_PREFIX}pod_container_id`;
export const POD_CONTAINER_IMAGE = `${META_PREFIX}pod_container_image`;
export const POD_CONTAINER_PORT_NAME = `${META_PREFIX}pod_container_port_name`;
export const POD_CONTAINER_PORT_NUMBER = `${META_PREFIX}pod_container_port_number`;
export const POD_CONTAINER_PORT_PROTOCOL = `${META_PREFIX}pod_container_port_protocol`;
export const POD_CONTAINER_INIT = `${META_PREFIX}pod_container_init`;
const POD_READY = `${META_PREFIX}pod_ready`;
const POD_PHASE = `${META_PREFIX}pod_phase`;
const POD_LABEL = `${META_PREFIX}pod_label_`;
const POD_LABEL_PRESENT = `${META_PREFIX}pod_labelpresent_`;
const POD_ANNOTATION = `${META_PREFIX}pod_annotation_`;
const POD_ANNOTATION_PRESENT = `${META_PREFIX}pod_annotationpresent_`;
const POD_NODE_NAME = `${META_PREFIX}pod_node_name`;
const POD_HOST_IP = `${META_PREFIX}pod_host_ip`;
const POD_UID = `${META_PREFIX}pod_uid`;
const POD_CONTROLLER_KIND = `${META_PREFIX}pod_controller_kind`;
const POD_CONTROLLER_NAME = `${META_PREFIX}pod_controller_name`;

export function podSource(namespace: string, name: string): string {
  return `pod/${namespace}/${name}`;
}

/** The Ready condition's status in lower case, `unknown` without one. */
function podReady(pod: Pod): string {
  for (const c of pod.status?.conditions ?? []) {
    if (c.type === 'Ready') return (c.status ?? '').toLowerCase();
  }
  return 'unknown';
}

/** Pod metadata labels, shared with the endpoints and endpointslice roles (no namespace label). */
export function podLabels(pod: Pod): Labels {
  const ls: Labels = {
    [POD_NAME]: nameOf(pod),
    [POD_IP]: pod.status?.podIP ?? '',
    [POD_READY]: podReady(pod),
    [POD_PHASE]: pod.status?.phase ?? '',
    [POD_NODE_NAME]: pod.spec?.nodeName ?? '',
    [POD_HOST_IP]: pod.status?.hostIP ?? '',
    [POD_UID]: pod.metadata?.uid ?? '',
  };
  const controller = (pod.metadata?.ownerReferences ?? []).find((r) => r.controller === true);
  if (controller) {
    if (controller.kind) ls[POD_CONTROLLER_KIND] = controller.kind;
    if (controller.name) ls[POD_CONTROLLER_NAME] = controller.name;
  }
  addMapLabels(ls, pod.metadata?.labels, POD_LABEL, POD_LABEL_PRESENT);
  addMapLabels(ls, pod.metadata?.annotations, POD_ANNOTATION, POD_ANNOTATION_PRESENT);
  return ls;
}

function containerID(statuses: ContainerStatus[] | undefined, name: string | undefined): string {
  return (statuses ?? []).find((s) => s.name === name)?.containerID ?? '';
}

export function buildPod(pod: Pod, getNode?: (name: string) => Node | undefined): TargetGroup {
  const tg = emptyGroup(podSource(namespaceOf(pod), nameOf(pod)));
  const podIP = pod.status?.podIP ?? '';
  // The pod IP is empty while a pod starts or after eviction.
  if (podIP === '') return tg;

  tg.labels = podLabels(pod);
  tg.labels[NAMESPACE_LABEL] = namespaceOf(pod);
  if (getNode) tg.labels = addNodeLabels(tg.labels, pod.spec?.nodeName ?? '', getNode);

  const containers = pod.spec?.containers ?? [];
  const all = [...containers, ...(pod.spec?.initContainers ?? [])];
  all.forEach((c, i) => {
    const isInit = i >= containers.length;
    const cID = containerID(isInit ? pod.status?.initContainerStatuses : pod.status?.containerStatuses, c.name);
    const ports = c.ports ?? [];
    if (ports.length === 0) {
      // No declared port: one target on the bare pod IP; relabelling has to add a port.
      tg.targets.push({
        __address__: podIP,
        [POD_CONTAINER_NAME]: c.name ?? '',
        [POD_CONTAINER_ID]: cID,
        [POD_CONTAINER_IMAGE]: c.image ?? '',
        [POD_CONTAINER_INIT]: String(isInit),
      });
      return;
    }
    for (const port of ports) {
      const p = formatPort(port.containerPort);
      tg.targets.push({
        __address__: joinHostPort(podIP, p),
        [POD_CONTAINER_NAME]: c.name ?? '',
        [POD_CONTAINER_ID]: cID,
        [POD_CONTAINER_IMAGE]: c.image ?? '',
        [POD_CONTAINER_PORT_NUMBER]: p,
        [POD_CONTAINER_PORT_NAME]: port.name ?? '',
        [POD_CONTAINER_PORT_PROTOCOL]: port.protocol ?? '',
        [POD_CONTAINER_INIT]: String(isInit),
      });
    }
  });
  return tg;
}

export const podRole: RoleFactory = (deps) => {
  const pods = deps.informer<Pod>('pod');
  pods.on((_type, p) => deps.enqueue(namespaceOf(p), nameOf(p)));
  const nodes = deps.nodes;
  if (nodes) {
    // A node change rebuilds the pods scheduled on it.
    nodes.on((_type, node) => {
      for (const p of pods.items()) if ((p.spec?.nodeName ?? '') === nameOf(node)) deps.enqueue(namespaceOf(p), nameOf(p));
    });
  }
  const getNode = nodes ? nodeGetter(nodes) : undefined;
  return {
    informers: [pods],
    primary: pods,
    source: podSource,
    build: (o) => buildPod(o as Pod, getNode),
  };
};
