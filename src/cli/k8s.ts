/**
 * `kvass coordinator --shard.type=k8s`: the API server client, the k8s shard manager and leader election.
 * Identity (the Lease holder, and the User-Agent of every write, so that writes can be told apart): $POD_NAME as
 * the Deployment's downward API gives it, else hostname_<random>, as client-go's examples do.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { Logger } from '../logger.js';
import type { ApiClient } from '../http/client.js';
import { parseDuration } from '../prom/duration.js';
import { kubeClientFor, type K8sLib, type KubeClient } from '../discovery/kubernetes/client.js';
import { labelSelectorError } from '../discovery/kubernetes/selectors.js';
import { K8sShardManager } from '../shard/k8s.js';
import { LeaderElector, systemClock, validateLeaderElection } from '../coordinator/leader.js';
import { KubeLeaseStore } from '../coordinator/lease-store.js';
import type { CoordinatorMetrics } from '../coordinator/api.js';
import { UsageError, type FlagSpec, type FlagValues } from './flags.js';

export const K8S_FLAGS: readonly FlagSpec[] = [
  { name: 'kubeconfig', help: 'k8s: kubeconfig file (default: the in-cluster service account).', default: '' },
  { name: 'leader-election', help: 'k8s: run as one of several coordinator replicas; only the holder of the Lease acts.', default: 'true', kind: 'bool' },
  { name: 'leader-election.lease-name', help: 'k8s: name of the coordination.k8s.io Lease.', default: 'kvass-coordinator' },
  { name: 'leader-election.namespace', help: 'k8s: namespace of the Lease (default: --shard.namespace).', default: '' },
  { name: 'leader-election.lease-duration', help: 'k8s: how long standbys wait after the last observed renewal before taking over.', default: '15s', kind: 'duration' },
  { name: 'leader-election.renew-deadline', help: 'k8s: how long the leader keeps acting without a successful renewal.', default: '10s', kind: 'duration' },
  { name: 'leader-election.retry-period', help: 'k8s: time between two tries to acquire or renew.', default: '2s', kind: 'duration' },
];

/** What a sidecar push may take (ShardClient's timeout): the leader stops pushing this long before the lease can expire. */
const PUSH_TIMEOUT_MS = 5000;

export interface K8sCoordination {
  identity: string;
  mayWrite: (() => boolean) | undefined;
  manager(client: ApiClient): Promise<K8sShardManager>;
  /** Starts leader election; `onLeading` runs each time this coordinator starts leading (a cycle at once). */
  startElection(metrics: CoordinatorMetrics, onLeading: () => void): void;
  stop(): Promise<void>;
}

export async function k8sCoordination(f: FlagValues, log: Logger): Promise<K8sCoordination> {
  const selector = f.get('shard.selector')!;
  const bad = labelSelectorError(selector);
  if (bad !== undefined) throw new UsageError(`--shard.selector: ${bad}`);
  const identity = process.env.POD_NAME || `${hostname()}_${randomUUID()}`;
  const k8s: K8sLib = await import('@kubernetes/client-node');
  const kubeconfig = f.get('kubeconfig') || undefined;
  let kube: KubeClient;
  let ownNamespace: string;
  try {
    ({ client: kube, namespace: ownNamespace } = kubeClientFor(k8s, kubeconfig ? resolve(kubeconfig) : undefined, `kvass-coordinator/${identity}`));
  } catch (e) {
    throw new UsageError(`${kubeconfig ? `--kubeconfig ${kubeconfig}` : 'in-cluster configuration'}: ${(e as Error).message}`);
  }
  const namespace = f.get('shard.namespace') || ownNamespace;

  let elector: LeaderElector | undefined;
  let onLeading: () => void = () => undefined;
  let onStopped: () => void = () => undefined;
  const abort = new AbortController();
  let running: Promise<void> | undefined;
  if (f.get('leader-election') === 'true') {
    const lease = parseDuration(f.get('leader-election.lease-duration')!);
    const renew = parseDuration(f.get('leader-election.renew-deadline')!);
    const retry = parseDuration(f.get('leader-election.retry-period')!);
    const problem = validateLeaderElection(lease, renew, retry);
    if (problem) throw new UsageError(`--leader-election.*: ${problem}`);
    if (lease - renew < PUSH_TIMEOUT_MS) log.warn({ leaseDurationMs: lease, renewDeadlineMs: renew, pushTimeoutMs: PUSH_TIMEOUT_MS }, 'lease duration minus renew deadline is shorter than a push may take: a slow push of an old leader could land after a new leader started');
    const leaseNamespace = f.get('leader-election.namespace') || namespace;
    elector = new LeaderElector({
      identity, store: new KubeLeaseStore(kube, leaseNamespace, f.get('leader-election.lease-name')!),
      leaseDurationMs: lease, renewDeadlineMs: renew, retryPeriodMs: retry,
      clock: systemClock,
      log,
      onStartedLeading: () => {
        log.info({ identity }, 'leader election: leading; this coordinator acts');
        onLeading();
      },
      onStoppedLeading: () => {
        log.warn({ identity }, 'leader election: stopped leading; standing by');
        onStopped();
      },
      onNewLeader: (leader) => log.info({ leader }, 'leader election: leader observed'),
      releaseOnCancel: true,
    });
  }
  const e = elector;
  // isLeader() is false past the renew deadline: every write checks it (leader.ts).
  const mayWrite = e ? () => e.isLeader() : undefined;
  return {
    identity,
    mayWrite,
    async manager(client) {
      const m = new K8sShardManager({
        k8s, kube, namespace, selector, port: Number(f.get('shard.port')), deletePvc: f.get('shard.delete-pvc') === 'true', client, log,
        mayWrite,
      });
      await m.start();
      log.info({ namespace, selector, statefulSets: m.replicas(), leaderElection: Boolean(e), identity }, 'k8s shards watched');
      return m;
    },
    startElection(metrics, lead) {
      if (!e) return;
      onLeading = () => {
        metrics.leaderTransitions.inc();
        lead();
      };
      onStopped = () => metrics.leaderTransitions.inc();
      running = e.run(abort.signal).catch((err: unknown) => log.error({ err: (err as Error).message }, 'leader election stopped'));
    },
    async stop() {
      abort.abort();
      await running;
    },
  };
}
