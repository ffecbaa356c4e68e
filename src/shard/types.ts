/**
 * Shard managers: where the shards (a real Prometheus plus a kvass sidecar each) run, and how many.
 * Each platform implements `ShardManager`: `local` (processes on this machine, src/shard/local.ts), `static`
 * (a fixed list in a file, src/shard/static.ts) and `k8s` (StatefulSets, one per replica, src/shard/k8s.ts).
 *
 * The model follows a StatefulSet: per replica, shards are numbered 0..n-1 (ordinals); growing adds the next
 * ordinals, shrinking removes the highest ones (and, with the manager's deleteData option, their data, as
 * Kvass deletes the PVCs of removed pods); a shard that exists is not necessarily ready.
 */
import type { ApiClient } from '../http/client.js';

export interface ShardInfo {
  /** Index of the replica (0..replicas()-1): every replica scrapes the same targets. */
  replica: number;
  /** Ordinal of the shard within its replica (0..n-1), as a StatefulSet pod's ordinal. */
  id: number;
  /** A name for people and logs: "replica-0/shard-2" (local), the file's id (static), a pod name (k8s). */
  name: string;
  /** Base URL of the shard's kvass sidecar API (docs/sidecar-api.md), without a trailing slash. */
  apiUrl: string;
  /** Base URL of the shard's Prometheus (the sidecar API passes unknown paths through to it). */
  prometheusUrl: string;
  /** The sidecar and Prometheus both answer /-/ready (static: the sidecar, which is what can be checked). */
  ready: boolean;
}

export interface ShardManager {
  readonly kind: 'local' | 'static' | 'k8s';
  /** Whether scale() can change anything. static: false (scale() is then a no-op that logs once). */
  readonly scalable: boolean;
  /** Number of replicas: every list() has this many rows. */
  replicas(): number;
  /** [replica][ordinal], ordinals 0..n-1 for every replica (the same n). */
  list(): Promise<ShardInfo[][]>;
  /**
   * Makes exactly `count` shards exist per replica. Removal takes the highest ordinals (stopping them, and
   * deleting their data when the manager's deleteData option is on). Resolves once new shards are started
   * (not necessarily ready: list() tells) and removed shards are stopped.
   */
  scale(count: number): Promise<void>;
  /** Stops what this manager started (local: all processes, unless told to leave them running). */
  close(): Promise<void>;
}

/** GET `<base>/-/ready` answers 2xx within `timeoutMs` (through `client`, with its TLS settings, when given). */
export async function answersReady(base: string, timeoutMs = 2000, client?: ApiClient): Promise<boolean> {
  const url = `${base.replace(/\/+$/, '')}/-/ready`;
  try {
    if (client) return ((await client.call(url, { timeoutMs, maxResponseBytes: 64 << 10 })).status / 100 | 0) === 2;
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

/** The id of the shard with this ordinal ("shard-2"): in the API, logs, events and metrics. */
export const shardId = (ordinal: number): string => `shard-${ordinal}`;
