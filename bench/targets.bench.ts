/**
 * Target population throughput: discovered Kubernetes-pod-like targets (≈40 labels each) through
 * PopulateLabels with a 10-rule relabel pipeline, plus the scrape URL and identity hash. Also memory held per
 * discovered target. Goal (issue 2): ≥ 500,000 targets/s on one core.
 */
import { parseConfig } from '../src/config/config.js';
import { jobDefaults, targetsFromGroup, type GroupTargets } from '../src/target/populate.js';
import type { TargetGroup } from '../src/discovery/types.js';
import type { Labels } from '../src/prom/labels.js';

export const PIPELINE = `
scrape_configs:
  - job_name: kubernetes-pods
    relabel_configs:
      - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape]
        action: keep
        regex: true
      - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scheme]
        action: replace
        regex: (https?)
        target_label: __scheme__
      - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_path]
        action: replace
        target_label: __metrics_path__
        regex: (.+)
      - source_labels: [__address__, __meta_kubernetes_pod_annotation_prometheus_io_port]
        action: replace
        regex: ([^:]+)(?::\\d+)?;(\\d+)
        replacement: $1:$2
        target_label: __address__
      - action: labelmap
        regex: __meta_kubernetes_pod_label_(.+)
      - source_labels: [__meta_kubernetes_namespace]
        action: replace
        target_label: namespace
      - source_labels: [__meta_kubernetes_pod_name]
        action: replace
        target_label: pod
      - source_labels: [__meta_kubernetes_pod_phase]
        regex: Pending|Succeeded|Failed|Completed
        action: drop
      - source_labels: [__meta_kubernetes_pod_node_name]
        target_label: node
      - regex: pod_template_hash|controller_revision_hash
        action: labeldrop
`;

/**
 * One pod target with about 40 discovered labels, shaped like Prometheus's pod role output, with its values held as
 * the Kubernetes discoverer holds most of them: read by JSON.parse from the pod's event (V8 keeps a value of up to 10
 * characters once per process and each longer one as a flat string of its own), the address joined from the pod's IP
 * and port. Template literals would leave many values as ropes of two or three strings, which the discoverer does not
 * hold. (A few of the discoverer's own values differ: `…_pod_ready` is lower-cased and the port number formatted per
 * pod, so each is a string of its own there; here they come from JSON.parse and are shared.)
 */
export function podTarget(i: number): Labels {
  const pod = JSON.parse(JSON.stringify(podLabels(i))) as Labels;
  pod.__address__ = `${pod.__meta_kubernetes_pod_ip!}:${pod.__meta_kubernetes_pod_container_port_number!}`;
  return pod;
}

function podLabels(i: number): Labels {
  const ns = `ns-${i % 50}`;
  const app = `app-${i % 997}`;
  const l: Labels = {
    __address__: '', // joined in podTarget, first here for the order of the names
    __meta_kubernetes_namespace: ns,
    __meta_kubernetes_pod_name: `${app}-${(i * 2654435761 >>> 0).toString(36)}`,
    __meta_kubernetes_pod_ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    __meta_kubernetes_pod_node_name: `node-${i % 3000}`,
    __meta_kubernetes_pod_host_ip: `192.168.${(i >> 8) & 255}.${i % 250}`,
    __meta_kubernetes_pod_uid: `uid-${i.toString(16).padStart(12, '0')}`,
    __meta_kubernetes_pod_phase: i % 20 === 0 ? 'Pending' : 'Running',
    __meta_kubernetes_pod_ready: 'true',
    __meta_kubernetes_pod_controller_kind: 'ReplicaSet',
    __meta_kubernetes_pod_controller_name: `${app}-rs`,
    __meta_kubernetes_pod_container_name: 'main',
    __meta_kubernetes_pod_container_image: `registry.local/${app}:1.${i % 7}`,
    __meta_kubernetes_pod_container_init: 'false',
    __meta_kubernetes_pod_container_id: `containerd://${i.toString(16).padStart(16, '0')}`,
    __meta_kubernetes_pod_container_port_name: 'metrics',
    __meta_kubernetes_pod_container_port_number: '8080',
    __meta_kubernetes_pod_container_port_protocol: 'TCP',
    __meta_kubernetes_pod_annotation_prometheus_io_scrape: i % 10 === 0 ? 'false' : 'true',
    __meta_kubernetes_pod_annotationpresent_prometheus_io_scrape: 'true',
    __meta_kubernetes_pod_annotation_prometheus_io_port: '9102',
    __meta_kubernetes_pod_annotationpresent_prometheus_io_port: 'true',
    __meta_kubernetes_pod_annotation_prometheus_io_path: '/metrics',
    __meta_kubernetes_pod_annotationpresent_prometheus_io_path: 'true',
    __meta_kubernetes_pod_annotation_kubectl_kubernetes_io_restartedAt: '2026-11-01T00:00:00Z',
    __meta_kubernetes_pod_annotationpresent_kubectl_kubernetes_io_restartedAt: 'true',
    __meta_kubernetes_pod_label_app: app,
    __meta_kubernetes_pod_labelpresent_app: 'true',
    __meta_kubernetes_pod_label_team: `team-${i % 40}`,
    __meta_kubernetes_pod_labelpresent_team: 'true',
    __meta_kubernetes_pod_label_version: `v${i % 5}`,
    __meta_kubernetes_pod_labelpresent_version: 'true',
    __meta_kubernetes_pod_label_pod_template_hash: (i % 100_000).toString(36),
    __meta_kubernetes_pod_labelpresent_pod_template_hash: 'true',
    __meta_kubernetes_pod_label_tier: i % 2 ? 'backend' : 'frontend',
    __meta_kubernetes_pod_labelpresent_tier: 'true',
    __meta_kubernetes_pod_label_release: 'stable',
    __meta_kubernetes_pod_labelpresent_release: 'true',
    __meta_kubernetes_pod_label_component: 'server',
    __meta_kubernetes_pod_labelpresent_component: 'true',
  };
  return l;
}

/**
 * One group per pod, as Prometheus's pod role emits them: the pod's labels and annotations on the group, the
 * container and port labels on the target.
 */
export function makeGroups(from: number, count: number): TargetGroup[] {
  const groups: TargetGroup[] = [];
  for (let i = from; i < from + count; i++) {
    const all = podTarget(i);
    const target: Labels = {};
    const group: Labels = {};
    for (const [k, v] of Object.entries(all)) {
      if (k === '__address__' || k.startsWith('__meta_kubernetes_pod_container_')) target[k] = v;
      else group[k] = v;
    }
    groups.push({ source: `pod/${i}`, labels: group, targets: [target] });
  }
  return groups;
}

export function runPopulation(total: number): { seconds: number; active: number; dropped: number } {
  const jd = jobDefaults(parseConfig(PIPELINE, 'bench.yml', '/tmp').scrapeConfigs[0]!);
  const chunk = 20_000;
  let active = 0;
  let dropped = 0;
  let seconds = 0;
  for (let from = 0; from < total; from += chunk) {
    const groups = makeGroups(from, Math.min(chunk, total - from)); // generation is not timed
    const acc: GroupTargets = { active: [], dropped: [], failed: [] };
    const t0 = process.hrtime.bigint();
    for (const g of groups) targetsFromGroup(g, jd, acc);
    seconds += Number(process.hrtime.bigint() - t0) / 1e9;
    active += acc.active.length;
    dropped += acc.dropped.length;
  }
  return { seconds, active, dropped };
}

function heapUsed(): number {
  globalThis.gc?.();
  globalThis.gc?.();
  return process.memoryUsage().heapUsed;
}

export function run(): Array<Record<string, string | number>> {
  const results: Array<Record<string, string | number>> = [];
  runPopulation(50_000); // warm-up
  for (const n of [100_000, 1_000_000]) {
    const r = runPopulation(n);
    results.push({ bench: `population+10-rule relabel, ${n.toLocaleString('en')} targets`, 'targets/s': Math.round(n / r.seconds), seconds: +r.seconds.toFixed(2), active: r.active, dropped: r.dropped });
  }
  // Memory held per discovered target (its ≈40 labels in a group), as the discovery manager keeps them.
  const before = heapUsed();
  const kept = makeGroups(0, 100_000);
  const after = heapUsed();
  results.push({ bench: 'memory per discovered target (40 labels)', bytes: Math.round((after - before) / kept.length), gcExposed: globalThis.gc ? 'yes' : 'no' });
  // Memory of populated targets (final + discovered labels, URL, hash), as the coordinator will hold them.
  const jd = jobDefaults(parseConfig(PIPELINE, 'bench.yml', '/tmp').scrapeConfigs[0]!);
  const before2 = heapUsed();
  const acc: GroupTargets = { active: [], dropped: [], failed: [] };
  for (const g of kept) targetsFromGroup(g, jd, acc);
  const after2 = heapUsed();
  // Read acc after measuring, so that it is still alive when the heap is measured.
  results.push({ bench: 'extra memory per populated target', bytes: Math.round((after2 - before2) / acc.active.length), active: acc.active.length });
  return results;
}
