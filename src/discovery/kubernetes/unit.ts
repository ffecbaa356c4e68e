/** What a role needs from the discovery runner, and what it gives back (one unit per namespace). */
import type { Logger } from '../../logger.js';
import type { TargetGroup } from '../types.js';
import type { Informer } from './informer.js';
import type { KubeObject, Node } from './objects.js';

export type ResourceKind = 'pod' | 'service' | 'endpoints' | 'endpointslice' | 'ingress' | 'node';

export interface UnitDeps {
  /** An informer for `kind` in the unit's namespace, with the configured selectors for that kind. */
  informer<T extends KubeObject>(kind: ResourceKind): Informer<T>;
  /** The shared node informer when `attach_metadata.node` applies to the role. */
  nodes?: Informer<Node>;
  logger: Logger;
  /** Marks the primary object namespace/name for rebuilding (a Prometheus workqueue key). */
  enqueue(namespace: string, name: string): void;
}

export interface RoleUnit {
  /** The unit's own informers (the shared node informer is not listed). */
  informers: Array<Informer<KubeObject>>;
  /** The informer whose objects become target groups. */
  primary: Informer<KubeObject>;
  source(namespace: string, name: string): string;
  /** The group for an object in `primary`; null sends nothing (as Prometheus's send of a nil group). */
  build(obj: KubeObject): TargetGroup | null;
}

export type RoleFactory = (deps: UnitDeps) => RoleUnit;

/** Looks nodes up by name in the shared node informer. */
export function nodeGetter(nodes: Informer<Node> | undefined): (name: string) => Node | undefined {
  return (name) => nodes?.get('', name);
}
