/**
 * The kubernetes_sd discoverer: one unit of informers per namespace (as Prometheus's per-namespace
 * discoverers), a shared node informer for attach_metadata, a key queue per unit, and batched emits.
 * The first emit carries every group once all informers have listed; later emits carry changed groups.
 */
import { compactGroup, type Discoverer, type DiscoveryContext, type TargetGroup } from '../types.js';
import type { Logger } from '../../logger.js';
import { createClient, serverVersion, type ClientOptions, type K8sLib, type KubeClient } from './client.js';
import type { KubernetesSdConfig, Role } from './config.js';
import { Informer, backoffDelay, sleep, type Backoff } from './informer.js';
import { emptyGroup } from './meta.js';
import { objectKey, type KubeObject, type Node } from './objects.js';
import { podRole } from './pod.js';
import { nodeRole } from './node.js';
import { serviceRole } from './service.js';
import { endpointsRole } from './endpoints.js';
import { endpointSliceRole } from './endpointslice.js';
import { ingressRole } from './ingress.js';
import type { ResourceKind, RoleFactory, RoleUnit } from './unit.js';

export interface KubernetesDiscoveryOptions {
  /** Retry back-off after failed lists, watches and set-up (default 1 s doubling to 30 s). */
  backoff?: Backoff;
  /** In-cluster settings (tests). */
  client?: ClientOptions;
}

const DEFAULT_BACKOFF: Backoff = { initialMs: 1000, maxMs: 30_000 };

let libPromise: Promise<K8sLib> | undefined;
/** @kubernetes/client-node is large: load it only when a Kubernetes discoverer runs. */
function loadLib(): Promise<K8sLib> {
  libPromise ??= import('@kubernetes/client-node');
  return libPromise;
}

/** The namespaces to watch: all ('') unless names or own_namespace restrict them (getNamespaces). */
export function namespacesFor(cfg: KubernetesSdConfig, ownNamespace: string): string[] {
  const names = cfg.namespaces.names;
  if (names.length === 0 && !cfg.namespaces.ownNamespace) return [''];
  const out = cfg.namespaces.ownNamespace && ownNamespace !== '' ? [...names, ownNamespace] : [...names];
  return [...new Set(out)];
}

function resourcePath(kind: ResourceKind, namespace: string, versions: { slice: string; ingress: string }): string {
  const ns = namespace === '' ? '' : `/namespaces/${encodeURIComponent(namespace)}`;
  switch (kind) {
    case 'node':
      return '/api/v1/nodes';
    case 'pod':
      return `/api/v1${ns}/pods`;
    case 'service':
      return `/api/v1${ns}/services`;
    case 'endpoints':
      return `/api/v1${ns}/endpoints`;
    case 'endpointslice':
      return `/apis/discovery.k8s.io/${versions.slice}${ns}/endpointslices`;
    case 'ingress':
      return `/apis/networking.k8s.io/${versions.ingress}${ns}/ingresses`;
  }
}

interface UnitState {
  unit: RoleUnit;
  dirty: Map<string, [string, string]>;
}

export class KubernetesDiscovery implements Discoverer {
  constructor(readonly cfg: KubernetesSdConfig, private readonly opts: KubernetesDiscoveryOptions = {}) {}

  async run(ctx: DiscoveryContext): Promise<void> {
    const logger = ctx.logger.child({ discovery: 'kubernetes', role: this.cfg.role });
    const backoff = this.opts.backoff ?? DEFAULT_BACKOFF;
    const signal = ctx.signal;
    const fail = (err: Error) => {
      if (signal.aborted) return;
      logger.warn({ err: err.message }, 'kubernetes_sd: request failed, retrying');
      ctx.fail(err);
    };
    // Retries `f` with back-off until it succeeds or the discoverer stops.
    const retry = async <T>(f: () => Promise<T> | T): Promise<T | undefined> => {
      for (let failures = 1; !signal.aborted; failures++) {
        try {
          return await f();
        } catch (e) {
          fail(e instanceof Error ? e : new Error(String(e)));
          await sleep(backoffDelay(backoff, failures), signal);
        }
      }
      return undefined;
    };

    const k8s = await retry(loadLib);
    if (!k8s) return;
    const setup = await retry(() => createClient(k8s, this.cfg, this.opts.client));
    if (!setup) return;
    const client = setup.client;
    try {
      const versions = { slice: 'v1', ingress: 'v1' };
      if (this.cfg.role === 'endpointslice' || this.cfg.role === 'ingress') {
        // discovery.k8s.io/v1 from Kubernetes 1.21, networking.k8s.io/v1 from 1.19; older servers get v1beta1.
        const v = await retry(() => serverVersion(client, signal));
        if (!v) return;
        const need = this.cfg.role === 'endpointslice' ? 21 : 19;
        const ok = v.major >= 1 && v.minor >= need;
        versions.slice = this.cfg.role === 'endpointslice' && !ok ? 'v1beta1' : 'v1';
        versions.ingress = this.cfg.role === 'ingress' && !ok ? 'v1beta1' : 'v1';
      }
      await this.watchAll(ctx, k8s, client, setup.ownNamespace, versions, backoff, logger, fail);
    } finally {
      await client.close().catch(() => undefined);
    }
  }

  private async watchAll(
    ctx: DiscoveryContext, k8s: K8sLib, client: KubeClient, ownNamespace: string, versions: { slice: string; ingress: string },
    backoff: Backoff, logger: Logger, fail: (err: Error) => void,
  ): Promise<void> {
    const signal = ctx.signal;
    const role: Role = this.cfg.role;
    const selectorFor = (kind: ResourceKind) => this.cfg.selectors.find((s) => s.role === kind) ?? { label: '', field: '' };
    const all: Array<Informer<KubeObject>> = [];
    const newInformer = <T extends KubeObject>(kind: ResourceKind, namespace: string): Informer<T> => {
      const sel = selectorFor(kind);
      const inf = new Informer<T>({
        k8s, client, path: resourcePath(kind, namespace, versions), labelSelector: sel.label, fieldSelector: sel.field,
        backoff, logger, signal, onError: fail,
      });
      all.push(inf);
      return inf;
    };

    const attach = this.cfg.attachMetadata.node && (role === 'pod' || role === 'endpoints' || role === 'endpointslice');
    const nodes = attach ? newInformer<Node>('node', '') : undefined;

    const factories: Record<Role, RoleFactory> = {
      pod: podRole, node: nodeRole, service: serviceRole, endpoints: endpointsRole,
      endpointslice: endpointSliceRole(versions.slice === 'v1beta1'), ingress: ingressRole,
    };
    let ready = false;
    let flushQueued = false;
    const states: UnitState[] = [];
    // Groups go out compact (types.ts compactGroup): a pod's labels and annotations, added name by name, would
    // otherwise be held as a hash table per group, twice the memory at a million pods.
    const flush = () => {
      flushQueued = false;
      if (signal.aborted) return;
      const groups: TargetGroup[] = [];
      for (const st of states) {
        for (const [ns, name] of st.dirty.values()) {
          const obj = st.unit.primary.get(ns, name);
          const g = obj ? st.unit.build(obj) : emptyGroup(st.unit.source(ns, name));
          if (g) groups.push(compactGroup(g));
        }
        st.dirty.clear();
      }
      if (groups.length > 0) ctx.emit(groups);
    };

    const namespaces = role === 'node' ? [''] : namespacesFor(this.cfg, ownNamespace);
    for (const ns of namespaces) {
      const st: UnitState = { unit: undefined as unknown as RoleUnit, dirty: new Map() };
      st.unit = factories[role]({
        informer: <T extends KubeObject>(kind: ResourceKind) => newInformer<T>(kind, ns),
        nodes,
        logger,
        enqueue: (namespace, name) => {
          if (!ready) return; // the initial emit builds everything
          st.dirty.set(objectKey(namespace, name), [namespace, name]);
          if (!flushQueued) {
            flushQueued = true;
            setImmediate(flush);
          }
        },
      });
      states.push(st);
    }

    const stopped = new Promise<void>((r) => (signal.aborted ? r() : signal.addEventListener('abort', () => r(), { once: true })));
    for (const inf of all) inf.start();
    try {
      await Promise.race([Promise.all(all.map((i) => i.whenSynced())), stopped]);
      if (signal.aborted) return;
      ready = true;
      const initial: TargetGroup[] = [];
      for (const st of states) {
        for (const obj of st.unit.primary.items()) {
          const g = st.unit.build(obj);
          if (g) initial.push(compactGroup(g));
        }
      }
      ctx.emit(initial);
      await stopped;
    } finally {
      for (const inf of all) inf.stop();
    }
  }
}
