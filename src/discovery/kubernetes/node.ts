/** role: node (Prometheus 2.42 discovery/kubernetes/node.go). */
import type { Labels } from '../../prom/labels.js';
import type { Logger } from '../../logger.js';
import type { TargetGroup } from '../types.js';
import { META_PREFIX, NODE_LABEL_PREFIX, NODE_LABEL_PRESENT_PREFIX, NODE_NAME_LABEL, addMapLabels, joinHostPort, sanitizeLabelName } from './meta.js';
import { nameOf, type Node } from './objects.js';
import type { RoleFactory } from './unit.js';

const NODE_PROVIDER_ID = `${META_PREFIX}node_provider_id`;
const NODE_ANNOTATION = `${META_PREFIX}node_annotation_`;
const NODE_ANNOTATION_PRESENT = `${META_PREFIX}node_annotationpresent_`;
const NODE_ADDRESS = `${META_PREFIX}node_address_`;

/** Address types in the order a node's scrape address is picked (k8s.io/kubernetes pkg/util/node). */
const ADDRESS_PRIORITY = ['InternalIP', 'InternalDNS', 'ExternalIP', 'ExternalDNS', 'LegacyHostIP', 'Hostname'];

export function nodeSource(_namespace: string, name: string): string {
  return `node/${name}`;
}

function nodeLabels(n: Node): Labels {
  const ls: Labels = { [NODE_NAME_LABEL]: nameOf(n), [NODE_PROVIDER_ID]: n.spec?.providerID ?? '' };
  addMapLabels(ls, n.metadata?.labels, NODE_LABEL_PREFIX, NODE_LABEL_PRESENT_PREFIX);
  addMapLabels(ls, n.metadata?.annotations, NODE_ANNOTATION, NODE_ANNOTATION_PRESENT);
  return ls;
}

/** The node's address by priority plus all addresses by type; undefined address when none is usable. */
function nodeAddress(n: Node): { addr?: string; byType: Map<string, string[]> } {
  const byType = new Map<string, string[]>();
  for (const a of n.status?.addresses ?? []) {
    const t = a.type ?? '';
    if (!byType.has(t)) byType.set(t, []);
    byType.get(t)!.push(a.address ?? '');
  }
  for (const t of ADDRESS_PRIORITY) {
    const list = byType.get(t);
    if (list) return { addr: list[0], byType };
  }
  return { byType };
}

/** The node's group, or null when it has no usable address (Prometheus then sends nothing). */
export function buildNode(n: Node, logger?: Logger): TargetGroup | null {
  const labels = nodeLabels(n);
  const { addr, byType } = nodeAddress(n);
  if (addr === undefined) {
    logger?.warn({ node: nameOf(n) }, 'kubernetes_sd: no node address found: host address unknown');
    return null;
  }
  const port = Math.trunc(n.status?.daemonEndpoints?.kubeletEndpoint?.Port ?? 0);
  const t: Labels = { __address__: joinHostPort(addr, port), instance: nameOf(n) };
  for (const [type, list] of byType) t[sanitizeLabelName(NODE_ADDRESS + type)] = list[0]!;
  return { source: nodeSource('', nameOf(n)), labels, targets: [t] };
}

export const nodeRole: RoleFactory = (deps) => {
  const nodes = deps.informer<Node>('node');
  nodes.on((_type, n) => deps.enqueue('', nameOf(n)));
  return { informers: [nodes], primary: nodes, source: nodeSource, build: (o) => buildNode(o as Node, deps.logger) };
};
