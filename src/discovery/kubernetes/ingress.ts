/** role: ingress (Prometheus 2.42 discovery/kubernetes/ingress.go; networking.k8s.io v1 or v1beta1). */
import type { Labels } from '../../prom/labels.js';
import type { TargetGroup } from '../types.js';
import { META_PREFIX, NAMESPACE_LABEL, addMapLabels } from './meta.js';
import { nameOf, namespaceOf, type Ingress, type IngressRule } from './objects.js';
import type { RoleFactory } from './unit.js';

const INGRESS_NAME = `${META_PREFIX}ingress_name`;
const INGRESS_LABEL = `${META_PREFIX}ingress_label_`;
const INGRESS_LABEL_PRESENT = `${META_PREFIX}ingress_labelpresent_`;
const INGRESS_ANNOTATION = `${META_PREFIX}ingress_annotation_`;
const INGRESS_ANNOTATION_PRESENT = `${META_PREFIX}ingress_annotationpresent_`;
const INGRESS_SCHEME = `${META_PREFIX}ingress_scheme`;
const INGRESS_HOST = `${META_PREFIX}ingress_host`;
const INGRESS_PATH = `${META_PREFIX}ingress_path`;
const INGRESS_CLASS_NAME = `${META_PREFIX}ingress_class_name`;

export function ingressSource(namespace: string, name: string): string {
  return `ingress/${namespace}/${name}`;
}

function ingressLabels(ing: Ingress): Labels {
  const ls: Labels = { [INGRESS_NAME]: nameOf(ing), [NAMESPACE_LABEL]: namespaceOf(ing) };
  const cls = ing.spec?.ingressClassName;
  if (cls !== undefined && cls !== null) ls[INGRESS_CLASS_NAME] = cls;
  addMapLabels(ls, ing.metadata?.labels, INGRESS_LABEL, INGRESS_LABEL_PRESENT);
  addMapLabels(ls, ing.metadata?.annotations, INGRESS_ANNOTATION, INGRESS_ANNOTATION_PRESENT);
  return ls;
}

/** A rule without an `http` section scrapes `/`; empty paths read as `/`; an empty path list gives no targets. */
function rulePaths(rule: IngressRule): string[] {
  if (rule.http === undefined || rule.http === null) return ['/'];
  return (rule.http.paths ?? []).map((p) => (p.path ? p.path : '/'));
}

/** True when `host` equals `pattern` or matches a `*.` wildcard with the same number of labels. */
export function matchesHostnamePattern(pattern: string, host: string): boolean {
  if (pattern === host) return true;
  const pp = pattern.split('.');
  const hp = host.split('.');
  if (pp[0] !== '*' || pp.length !== hp.length) return false;
  for (let i = 1; i < pp.length; i++) if (pp[i] !== hp[i]) return false;
  return true;
}

export function buildIngress(ing: Ingress): TargetGroup {
  const tg: TargetGroup = { source: ingressSource(namespaceOf(ing), nameOf(ing)), labels: ingressLabels(ing), targets: [] };
  const tlsHosts = (ing.spec?.tls ?? []).flatMap((t) => t.hosts ?? []);
  for (const rule of ing.spec?.rules ?? []) {
    const host = rule.host ?? '';
    const scheme = tlsHosts.some((p) => matchesHostnamePattern(p, host)) ? 'https' : 'http';
    for (const path of rulePaths(rule)) {
      tg.targets.push({ __address__: host, [INGRESS_SCHEME]: scheme, [INGRESS_HOST]: host, [INGRESS_PATH]: path });
    }
  }
  return tg;
}

export const ingressRole: RoleFactory = (deps) => {
  const ingresses = deps.informer<Ingress>('ingress');
  ingresses.on((_type, i) => deps.enqueue(namespaceOf(i), nameOf(i)));
  return { informers: [ingresses], primary: ingresses, source: ingressSource, build: (o) => buildIngress(o as Ingress) };
};
