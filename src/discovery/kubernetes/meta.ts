/** Label helpers shared by the roles (Prometheus discovery/kubernetes constants and small functions). */
import type { Labels } from '../../prom/labels.js';
import type { TargetGroup } from '../types.js';
import type { Node, StringMap } from './objects.js';

export const META_PREFIX = '__meta_kubernetes_';
export const NAMESPACE_LABEL = `${META_PREFIX}namespace`;
export const PRESENT_VALUE = 'true';

export const NODE_NAME_LABEL = `${META_PREFIX}node_name`;
export const NODE_LABEL_PREFIX = `${META_PREFIX}node_label_`;
export const NODE_LABEL_PRESENT_PREFIX = `${META_PREFIX}node_labelpresent_`;

/** Prometheus's strutil.SanitizeLabelName: every character outside [a-zA-Z0-9_] becomes `_` (one per code point). */
export function sanitizeLabelName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/gu, '_');
}

/** Adds `<prefix><name>` = value and `<presentPrefix><name>` = "true" for each entry, names sanitised. */
export function addMapLabels(ls: Labels, map: StringMap | undefined, prefix: string, presentPrefix: string): void {
  if (!map) return;
  for (const [k, v] of Object.entries(map)) {
    const ln = sanitizeLabelName(k);
    ls[prefix + ln] = String(v ?? '');
    ls[presentPrefix + ln] = PRESENT_VALUE;
  }
}

/** Go's net.JoinHostPort: hosts containing a colon (IPv6) are bracketed. */
export function joinHostPort(host: string, port: string | number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Go's strconv formatting of an int32 read as uint64 (FormatUint(uint64(p))): negative numbers wrap. */
export function formatPort(p: number | null | undefined): string {
  const n = Math.trunc(p ?? 0);
  return n < 0 ? (BigInt(n) + (1n << 64n)).toString() : String(n);
}

/** Go's LabelSet.Merge: a copy of `a` with `b`'s entries on top. */
export function merge(a: Labels, b: Labels): Labels {
  return { ...a, ...b };
}

export function emptyGroup(source: string): TargetGroup {
  return { source, targets: [], labels: {} };
}

/**
 * attach_metadata.node: the node's name and labels (not annotations) on top of `ls`, when the node is known.
 * (Prometheus 2.42's addNodeLabels.)
 */
export function addNodeLabels(ls: Labels, nodeName: string | null | undefined, getNode: (name: string) => Node | undefined): Labels {
  if (nodeName === null || nodeName === undefined) return ls;
  const node = getNode(nodeName);
  if (!node) return ls;
  const nodeLs: Labels = { [NODE_NAME_LABEL]: nodeName };
  addMapLabels(nodeLs, node.metadata?.labels, NODE_LABEL_PREFIX, NODE_LABEL_PRESENT_PREFIX);
  return merge(ls, nodeLs);
}
