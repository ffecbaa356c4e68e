/**
 * The Lease of leader election (leader.ts) on the API server: a `coordination.k8s.io/v1` Lease, read with GET,
 * created with POST and renewed with PUT carrying the resourceVersion read, so that two coordinators writing at
 * once cannot both win: the API server answers the second with 409 Conflict (LeaseConflict).
 */
import { ApiError, checkResponse, type KubeClient } from '../discovery/kubernetes/client.js';
import { LeaseConflict, type LeaseRecord, type LeaseStore, type StoredLease } from './leader.js';

interface LeaseObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  spec?: Partial<LeaseRecord> & { holderIdentity?: string | null };
}

function recordOf(o: LeaseObject): StoredLease {
  const s = o.spec ?? {};
  return {
    record: {
      holderIdentity: s.holderIdentity ?? '',
      leaseDurationSeconds: s.leaseDurationSeconds ?? 0,
      acquireTime: s.acquireTime ?? '',
      renewTime: s.renewTime ?? '',
      leaseTransitions: s.leaseTransitions ?? 0,
    },
    resourceVersion: o.metadata?.resourceVersion ?? '',
  };
}

export class KubeLeaseStore implements LeaseStore {
  private readonly collection: string;

  constructor(private readonly kube: KubeClient, private readonly namespace: string, private readonly name: string) {
    this.collection = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
  }

  private object(record: LeaseRecord, resourceVersion?: string): LeaseObject & { apiVersion: string; kind: string } {
    return { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.name, namespace: this.namespace, resourceVersion }, spec: record };
  }

  async get(signal: AbortSignal): Promise<StoredLease | undefined> {
    const res = await this.kube.get(`${this.collection}/${encodeURIComponent(this.name)}`, {}, signal);
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    await checkResponse(res, `get lease ${this.namespace}/${this.name}`);
    return recordOf((await res.json()) as LeaseObject);
  }

  async create(record: LeaseRecord, signal: AbortSignal): Promise<StoredLease> {
    return this.write('POST', this.collection, this.object(record), signal);
  }

  async update(record: LeaseRecord, resourceVersion: string, signal: AbortSignal): Promise<StoredLease> {
    return this.write('PUT', `${this.collection}/${encodeURIComponent(this.name)}`, this.object(record, resourceVersion), signal);
  }

  private async write(method: string, path: string, body: unknown, signal: AbortSignal): Promise<StoredLease> {
    const res = await this.kube.send(method, path, body, signal);
    try {
      await checkResponse(res, `${method === 'POST' ? 'create' : 'update'} lease ${this.namespace}/${this.name}`);
    } catch (e) {
      if (e instanceof ApiError && e.statusCode === 409) throw new LeaseConflict(e.message);
      throw e;
    }
    return recordOf((await res.json()) as LeaseObject);
  }
}
