/**
 * Shards on Kubernetes: every replica is a StatefulSet matched by `--shard.selector` in `--shard.namespace`, its
 * pods are the shards by ordinal (`<statefulset>-<ordinal>`), as in Kvass. StatefulSets and their pods are watched
 * (informers: list, then watch from the list's resourceVersion, re-list on 410 Gone), so that list() costs no API
 * call; only the sidecars are asked whether they are ready.
 *
 * Scaling writes the `scale` subresource, never the StatefulSet itself (no conflict with whoever owns its spec,
 * and what an HPA would use); a 409 Conflict re-reads and retries. A StatefulSet in a rolling update is left alone
 * until it settles: scaling it then would mix revisions and restart pods the planner counts on. Removed ordinals'
 * PVCs (`<claim template>-<statefulset>-<ordinal>`) are deleted when `deletePvc` is on, as Kvass does, so that a
 * later scale-up starts that ordinal empty instead of with stale series.
 */
import type { Logger } from '../logger.js';
import type { ApiClient } from '../http/client.js';
import { ApiError, checkResponse, type K8sLib, type KubeClient } from '../discovery/kubernetes/client.js';
import { Informer, sleep } from '../discovery/kubernetes/informer.js';
import type { KubeObject } from '../discovery/kubernetes/objects.js';
import { answersReady, type ShardInfo, type ShardManager } from './types.js';

interface StatefulSet extends KubeObject {
  spec?: { replicas?: number; volumeClaimTemplates?: Array<{ metadata?: { name?: string } }> };
  status?: { observedGeneration?: number; currentRevision?: string; updateRevision?: string; replicas?: number };
}

interface Pod extends KubeObject {
  status?: { podIP?: string; phase?: string; conditions?: Array<{ type?: string; status?: string }> };
}

export interface K8sShardManagerOptions {
  k8s: K8sLib;
  /** The API server (in-cluster or kubeconfig). */
  kube: KubeClient;
  namespace: string;
  /** Label selector of the shard StatefulSets (their pods must carry these labels too, as template labels do). */
  selector: string;
  /** Port of the sidecar API in the shard pods. */
  port: number;
  scheme?: 'http' | 'https';
  deletePvc: boolean;
  /** kvass's client for the sidecars (readiness). */
  client: ApiClient;
  log: Logger;
  /** Checked before every write to the API server (leader election: only an acting leader writes). */
  mayWrite?: () => boolean;
  /** Tries of a scale write that meets 409 Conflict. */
  conflictRetries?: number;
  requestTimeoutMs?: number;
}

const stsName = (s: StatefulSet): string => s.metadata?.name ?? '';

/** A rolling update is under way: the controller has not seen the latest spec, or pods are of two revisions. */
export function inRollingUpdate(s: StatefulSet): boolean {
  const st = s.status ?? {};
  if (st.observedGeneration !== undefined && (s.metadata as { generation?: number } | undefined)?.generation !== undefined && st.observedGeneration < (s.metadata as { generation: number }).generation) return true;
  return Boolean(st.updateRevision && st.currentRevision && st.updateRevision !== st.currentRevision);
}

const podReady = (p: Pod | undefined): boolean => Boolean(p?.status?.podIP) && (p?.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

export class NotLeader extends Error {
  constructor(what: string) {
    super(`not acting as leader: ${what} not written`);
  }
}

export class K8sShardManager implements ShardManager {
  readonly kind = 'k8s' as const;
  readonly scalable = true;
  private readonly abort = new AbortController();
  private readonly statefulSets: Informer<StatefulSet>;
  private readonly pods: Informer<Pod>;

  constructor(private readonly o: K8sShardManagerOptions) {
    const common = {
      k8s: o.k8s, client: o.kube, labelSelector: o.selector, fieldSelector: '', backoff: { initialMs: 500, maxMs: 30_000 },
      logger: o.log, signal: this.abort.signal,
    };
    const ns = encodeURIComponent(o.namespace);
    this.statefulSets = new Informer<StatefulSet>({ ...common, path: `/apis/apps/v1/namespaces/${ns}/statefulsets`, onError: (e) => o.log.warn({ err: e.message }, 'k8s shards: StatefulSet watch failed; retrying') });
    this.pods = new Informer<Pod>({ ...common, path: `/api/v1/namespaces/${ns}/pods`, onError: (e) => o.log.warn({ err: e.message }, 'k8s shards: pod watch failed; retrying') });
  }

  /** Starts the watches; resolves once both have listed (or after `timeoutMs`, with a warning). */
  async start(timeoutMs = 60_000): Promise<void> {
    this.statefulSets.start();
    this.pods.start();
    const synced = Promise.all([this.statefulSets.whenSynced(), this.pods.whenSynced()]).then(() => true);
    const timer = new Promise<false>((r) => setTimeout(() => r(false), timeoutMs).unref());
    if (!(await Promise.race([synced, timer]))) this.o.log.warn({ namespace: this.o.namespace, selector: this.o.selector }, 'k8s shards: StatefulSets and pods not listed yet; going on');
  }

  /** The shard StatefulSets, one per replica, in name order (replica 0 is the first name). */
  private sets(): StatefulSet[] {
    return this.statefulSets.items().filter((s) => s.metadata?.namespace === this.o.namespace || !s.metadata?.namespace).sort((a, b) => stsName(a).localeCompare(stsName(b)));
  }

  replicas(): number {
    return this.sets().length;
  }

  async list(): Promise<ShardInfo[][]> {
    return Promise.all(this.sets().map(async (sts, replica) => {
      const n = sts.spec?.replicas ?? 1;
      return Promise.all(Array.from({ length: n }, async (_, id) => {
        const name = `${stsName(sts)}-${id}`;
        const pod = this.pods.get(this.o.namespace, name);
        const owned = (pod?.metadata?.ownerReferences ?? []).some((r) => r.kind === 'StatefulSet' && r.name === stsName(sts)) || !pod?.metadata?.ownerReferences;
        const ip = owned ? pod?.status?.podIP : undefined;
        const host = ip?.includes(':') ? `[${ip}]` : ip;
        const apiUrl = host ? `${this.o.scheme ?? 'http'}://${host}:${this.o.port}` : '';
        const ready = owned && podReady(pod) && (await answersReady(apiUrl, 2000, this.o.client));
        return { replica, id, name, apiUrl, prometheusUrl: apiUrl, ready };
      }));
    }));
  }

  async scale(count: number): Promise<void> {
    for (const sts of this.sets()) {
      const name = stsName(sts);
      if (inRollingUpdate(sts)) {
        this.o.log.info({ statefulset: name, currentRevision: sts.status?.currentRevision, updateRevision: sts.status?.updateRevision }, 'k8s shards: StatefulSet in a rolling update; scaling waits until it settles');
        continue;
      }
      const from = await this.scaleTo(name, count);
      if (from === undefined || !this.o.deletePvc || from <= count) continue;
      for (let ordinal = count; ordinal < from; ordinal++) {
        for (const t of sts.spec?.volumeClaimTemplates ?? []) await this.deletePvc(`${t.metadata?.name ?? ''}-${name}-${ordinal}`);
      }
    }
  }

  /** Sets the StatefulSet's replicas through its scale subresource; the count it had, or undefined if unchanged. */
  private async scaleTo(name: string, count: number): Promise<number | undefined> {
    const path = `/apis/apps/v1/namespaces/${encodeURIComponent(this.o.namespace)}/statefulsets/${encodeURIComponent(name)}/scale`;
    const tries = this.o.conflictRetries ?? 5;
    for (let attempt = 1; ; attempt++) {
      const scale = await this.call<{ metadata?: { resourceVersion?: string }; spec?: { replicas?: number } }>('GET', path);
      const from = scale.spec?.replicas ?? 0;
      if (from === count) return undefined;
      this.guard(`scale of ${name}`);
      try {
        await this.call('PUT', path, { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name, namespace: this.o.namespace, resourceVersion: scale.metadata?.resourceVersion }, spec: { replicas: count } });
        this.o.log.info({ statefulset: name, from, to: count }, 'k8s shards: scaled');
        return from;
      } catch (e) {
        if (!(e instanceof ApiError && e.statusCode === 409) || attempt >= tries) throw e;
        this.o.log.info({ statefulset: name, attempt }, 'k8s shards: scale conflict; reading again');
        await sleep(50 * 2 ** attempt, this.abort.signal);
      }
    }
  }

  private async deletePvc(claim: string): Promise<void> {
    this.guard(`deletion of PVC ${claim}`);
    try {
      await this.call('DELETE', `/api/v1/namespaces/${encodeURIComponent(this.o.namespace)}/persistentvolumeclaims/${encodeURIComponent(claim)}`);
      this.o.log.info({ pvc: claim }, 'k8s shards: PVC of a removed shard deleted');
    } catch (e) {
      if (e instanceof ApiError && e.statusCode === 404) return;
      this.o.log.error({ pvc: claim, err: (e as Error).message }, 'k8s shards: PVC not deleted');
    }
  }

  private guard(what: string): void {
    if (this.o.mayWrite && !this.o.mayWrite()) throw new NotLeader(what);
  }

  private async call<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.o.requestTimeoutMs ?? 10_000)]);
    const res = await (method === 'GET' ? this.o.kube.get(path, {}, signal) : this.o.kube.send(method, path, body, signal));
    await checkResponse(res, `${method} ${path}`);
    return (await res.json()) as T;
  }

  async close(): Promise<void> {
    this.abort.abort();
    this.statefulSets.stop();
    this.pods.stop();
    await this.o.kube.close();
  }
}
