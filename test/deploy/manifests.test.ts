/**
 * The Kubernetes manifests (deploy/kubernetes/) as `kubectl kustomize` renders them:
 * - every object is valid against the Kubernetes schemas (kubernetes-models' validators: required fields, types,
 *   formats) and has no field the Kubernetes API does not know (the models of @kubernetes/client-node: what
 *   `kubectl apply --validate=strict` would refuse, such as a misspelt `readinesProbe`);
 * - every container runs non-root with a read-only root filesystem, no privilege escalation, no capabilities,
 *   requests and limits, liveness and readiness probes (the namespace enforces the "restricted" Pod Security level);
 * - the coordinator's RBAC is exactly what it needs; it has 2 replicas, a PodDisruptionBudget, the downward API;
 * - the pieces fit: the coordinator's --shard.selector selects the StatefulSet prometheus-rep-0, the NetworkPolicy
 *   lets exactly the coordinator and the global view reach the sidecar port, the files the flags name are in the
 *   mounted ConfigMap and Secret, writable paths are on writable volumes;
 * - every flag of every kvass container is one `kvass <command> --help` lists (read from the built CLI, so flags
 *   added to the CLI later are accepted as soon as they exist);
 * - the Dockerfile builds with the steps CI runs and runs `kvass` as a non-root user.
 * kubectl must be installed: without it every manifest test fails, saying so (KUBECTL names another binary).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { parse as parseYaml } from 'yaml';
import * as k8s from '@kubernetes/client-node';
import { ROOT, KVASS_MAIN, NAMESPACE, type K8sObject, run, render, id, one, generated, workloads, containers, isKvass, kvassCommand, flag, kvassContainer, matches, schemaProblems, quantity, probePath, RESTRICTED_VOLUME_TYPES } from '../helpers/manifests.js';

const DEPLOY_DIR = join(ROOT, 'deploy', 'kubernetes');

/** The objects `kubectl kustomize deploy/kubernetes` prints (rendered once). */
const objects = (): Promise<K8sObject[]> => render(DEPLOY_DIR);

test('manifests: kubectl kustomize renders the demo, every object valid against the Kubernetes schemas, no unknown field', async () => {
  const objs = await objects();
  assert.deepEqual(objs.map(id).map((s) => s.replace(/-[a-z0-9]{10}$/, '-<hash>')).sort(), [
    'ConfigMap/prometheus-config-<hash>',
    'Deployment/kvass-coordinator',
    'Deployment/kvass-query',
    'Deployment/metrics',
    'Namespace/kvass',
    'NetworkPolicy/prometheus-shards',
    'PodDisruptionBudget/kvass-coordinator',
    'Role/kvass-coordinator',
    'RoleBinding/kvass-coordinator',
    'Secret/kvass-token-<hash>',
    'Service/kvass-coordinator',
    'Service/kvass-query',
    'Service/prometheus',
    'ServiceAccount/kvass-coordinator',
    'StatefulSet/prometheus-rep-0',
  ]);
  const problems: string[] = [];
  for (const o of objs) {
    problems.push(...schemaProblems(o));
    if (o.kind === 'Namespace') assert.equal(o.metadata.namespace, undefined, 'a Namespace has no namespace');
    else assert.equal(o.metadata.namespace, NAMESPACE, `${id(o)} must be in the namespace ${NAMESPACE}`);
  }
  assert.deepEqual(problems, [], `invalid objects:\n${problems.join('\n')}`);
  const ns = one<k8s.V1Namespace>(objs, 'Namespace', NAMESPACE);
  assert.equal(ns.metadata?.labels?.['pod-security.kubernetes.io/enforce'], 'restricted', 'the namespace enforces the restricted Pod Security level');
});


test('manifests: every container non-root, read-only root filesystem, no privilege escalation, no capabilities, requests and limits, liveness and readiness probes', async () => {
  const objs = await objects();
  const problems: string[] = [];
  const all = containers(objs);
  assert.ok(all.length >= 5, 'the demo has the metrics, coordinator, query, sidecar and prometheus containers');
  for (const { workload: w, container: c, longRunning, where } of all) {
    const podSc = w.pod.securityContext ?? {};
    const sc = c.securityContext ?? {};
    const nonRoot = sc.runAsNonRoot ?? podSc.runAsNonRoot;
    const uid = sc.runAsUser ?? podSc.runAsUser;
    if (nonRoot !== true) problems.push(`${where}: runAsNonRoot is not true`);
    if (uid === undefined || uid === 0 || ![65534, 1000].includes(uid)) problems.push(`${where}: runAsUser ${uid} (expected 65534 or 1000)`);
    if (sc.readOnlyRootFilesystem !== true) problems.push(`${where}: readOnlyRootFilesystem is not true`);
    if (sc.allowPrivilegeEscalation !== false) problems.push(`${where}: allowPrivilegeEscalation is not false`);
    if (sc.privileged === true) problems.push(`${where}: privileged`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) problems.push(`${where}: capabilities do not drop ALL`);
    if ((sc.capabilities?.add ?? []).length > 0) problems.push(`${where}: adds capabilities ${sc.capabilities!.add!.join(',')}`);
    if ((sc.seccompProfile ?? podSc.seccompProfile)?.type !== 'RuntimeDefault') problems.push(`${where}: seccompProfile is not RuntimeDefault`);
    for (const r of ['cpu', 'memory']) {
      const req = c.resources?.requests?.[r];
      const lim = c.resources?.limits?.[r];
      if (req === undefined) problems.push(`${where}: no ${r} request`);
      if (lim === undefined) problems.push(`${where}: no ${r} limit`);
      if (req !== undefined && lim !== undefined && quantity(req) > quantity(lim)) problems.push(`${where}: ${r} request ${req} above its limit ${lim}`);
    }
    if (longRunning) {
      if (!c.livenessProbe) problems.push(`${where}: no liveness probe`);
      if (!c.readinessProbe) problems.push(`${where}: no readiness probe`);
      // kvass's servers and Prometheus have health and readiness endpoints (fake-targets serves / and /metrics only).
      const fakeTargets = isKvass(c) && kvassCommand(c).command === 'fake-targets';
      if (!fakeTargets) {
        if (probePath(c.livenessProbe) !== '/-/healthy') problems.push(`${where}: liveness probe checks ${probePath(c.livenessProbe)}, not /-/healthy`);
        if (probePath(c.readinessProbe) !== '/-/ready') problems.push(`${where}: readiness probe checks ${probePath(c.readinessProbe)}, not /-/ready`);
      }
    }
    // Writable paths are volumes: emptyDir or a PVC.
    for (const m of c.volumeMounts ?? []) {
      const vol = w.pod.volumes?.find((v) => v.name === m.name);
      const claim = (w.object as unknown as { spec: k8s.V1StatefulSetSpec }).spec.volumeClaimTemplates?.find((t) => t.metadata?.name === m.name);
      if (!vol && !claim) problems.push(`${where}: mounts ${m.name}, which is neither a volume nor a claim template`);
      if (vol && (vol.configMap || vol.secret) && m.readOnly !== true) problems.push(`${where}: mounts the ${vol.configMap ? 'ConfigMap' : 'Secret'} volume ${m.name} without readOnly`);
    }
  }
  for (const w of workloads(objs)) {
    for (const v of w.pod.volumes ?? []) {
      const types = Object.keys(v).filter((k) => k !== 'name');
      if (!types.every((t) => RESTRICTED_VOLUME_TYPES.includes(t))) problems.push(`${id(w.object)}: volume ${v.name} of type ${types.join(',')} (not allowed by the restricted Pod Security level)`);
    }
    if (w.pod.hostNetwork || w.pod.hostPID || w.pod.hostIPC) problems.push(`${id(w.object)}: uses a host namespace`);
    // Only the coordinator talks to the Kubernetes API.
    const mountsToken = w.pod.automountServiceAccountToken !== false;
    if (w.object.metadata.name === 'kvass-coordinator') {
      if (!mountsToken) problems.push(`${id(w.object)}: the coordinator needs its service account token`);
    } else if (mountsToken) problems.push(`${id(w.object)}: mounts a service account token it does not need (automountServiceAccountToken: false)`);
  }
  assert.deepEqual(problems, [], problems.join('\n'));
});

// ---------------------------------------------------------------------------------------------------------------
// RBAC, the coordinator

const EXPECTED_RBAC: Record<string, string[]> = {
  'apps/statefulsets': ['get', 'list', 'watch'],
  'apps/statefulsets/scale': ['get', 'patch', 'update'],
  '/pods': ['get', 'list', 'watch'],
  '/persistentvolumeclaims': ['delete', 'list'],
  'coordination.k8s.io/leases': ['create', 'get', 'update'],
  '/services': ['list', 'watch'],
  '/endpoints': ['list', 'watch'],
  'discovery.k8s.io/endpointslices': ['list', 'watch'],
};

test('manifests: the coordinator\'s Role grants exactly the verbs it needs, bound to its service account', async () => {
  const objs = await objects();
  assert.equal(objs.filter((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding').length, 0, 'no cluster-wide RBAC');
  const role = one<k8s.V1Role>(objs, 'Role', 'kvass-coordinator');
  const granted: Record<string, Set<string>> = {};
  for (const rule of role.rules ?? []) {
    assert.ok(!rule.nonResourceURLs, 'no non-resource URLs');
    for (const g of rule.apiGroups ?? []) {
      for (const r of rule.resources ?? []) {
        assert.ok(g !== '*' && r !== '*' && !(rule.verbs ?? []).includes('*'), `no wildcard in ${JSON.stringify(rule)}`);
        for (const v of rule.verbs) (granted[`${g}/${r}`] ??= new Set()).add(v);
      }
    }
  }
  const got = Object.fromEntries(Object.entries(granted).map(([k, v]) => [k, [...v].sort()]));
  assert.deepEqual(got, EXPECTED_RBAC);

  const { c, flags } = kvassContainer(objs, 'kvass-coordinator', 'coordinator');
  // The Lease rules that name a resource name the coordinator's Lease.
  const leaseName = flag(flags, 'leader-election.lease-name') ?? 'kvass-coordinator';
  for (const rule of role.rules ?? []) {
    if (rule.resources?.includes('leases') && rule.resourceNames) assert.deepEqual(rule.resourceNames, [leaseName]);
  }
  const binding = one<k8s.V1RoleBinding>(objs, 'RoleBinding', 'kvass-coordinator');
  assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'kvass-coordinator' });
  const sa = c.workload.pod.serviceAccountName;
  assert.ok(sa, 'the coordinator runs with its own service account');
  one<k8s.V1ServiceAccount>(objs, 'ServiceAccount', sa);
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: sa, namespace: NAMESPACE }]);
});

test('manifests: the coordinator runs 2 replicas (k8s shards, leader election, the demo\'s budget) with a PodDisruptionBudget and the downward API', async () => {
  const objs = await objects();
  const dep = one<k8s.V1Deployment>(objs, 'Deployment', 'kvass-coordinator');
  assert.equal(dep.spec?.replicas, 2);
  const { c, flags } = kvassContainer(objs, 'kvass-coordinator', 'coordinator');
  assert.equal(flag(flags, 'shard.type'), 'k8s');
  assert.equal(flag(flags, 'shard.max-series'), '30000');
  assert.equal(flag(flags, 'leader-election'), 'true');
  const env = new Map((c.container.env ?? []).map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath]));
  assert.equal(env.get('POD_NAME'), 'metadata.name', 'POD_NAME (the leader identity) from the downward API');
  assert.equal(env.get('POD_NAMESPACE'), 'metadata.namespace', 'POD_NAMESPACE from the downward API');
  const ns = flag(flags, 'shard.namespace');
  assert.ok(ns === NAMESPACE || ns === '$(POD_NAMESPACE)', `--shard.namespace ${ns}`);

  const pdbs = objs.filter((o) => o.kind === 'PodDisruptionBudget') as unknown as k8s.V1PodDisruptionBudget[];
  const pdb = pdbs.find((p) => matches(p.spec?.selector?.matchLabels ?? {}, dep.spec?.template.metadata?.labels));
  assert.ok(pdb, 'a PodDisruptionBudget selects the coordinator pods');
  assert.equal(pdb.spec?.minAvailable, 1);
  assert.ok(Object.keys(pdb.spec?.selector?.matchLabels ?? {}).length > 0, 'the PDB selector is not empty');
});

// ---------------------------------------------------------------------------------------------------------------
// How the pieces fit

test('manifests: the coordinator\'s --shard.selector selects the StatefulSet prometheus-rep-0 (0 replicas, Parallel) and nothing else; sidecar and Prometheus share the config', async () => {
  const objs = await objects();
  const { flags: coord } = kvassContainer(objs, 'kvass-coordinator', 'coordinator');
  const selectorText = flag(coord, 'shard.selector') ?? 'app.kubernetes.io/name=prometheus';
  const selector: Record<string, string> = {};
  for (const part of selectorText.split(',')) {
    const m = /^\s*([^=!\s]+)\s*==?\s*([^=\s]*)\s*$/.exec(part);
    assert.ok(m, `this test reads equality selectors only, got ${JSON.stringify(part)}`);
    selector[m[1]!] = m[2]!;
  }
  const selected = objs.filter((o) => o.kind === 'StatefulSet' && matches(selector, o.metadata.labels));
  assert.deepEqual(selected.map((o) => o.metadata.name), ['prometheus-rep-0']);
  const sts = selected[0] as unknown as k8s.V1StatefulSet;
  assert.equal(sts.spec?.replicas, 0, 'the coordinator scales it from 0');
  assert.equal(sts.spec?.podManagementPolicy, 'Parallel');
  assert.ok(matches(sts.spec!.selector.matchLabels ?? {}, sts.spec!.template.metadata?.labels), 'the StatefulSet selects its own pods');
  // The coordinator's own pods are no shards.
  const coordPods = one<k8s.V1Deployment>(objs, 'Deployment', 'kvass-coordinator').spec?.template.metadata?.labels;
  assert.ok(!matches(selector, coordPods), 'the shard selector does not select the coordinator');

  const svc = one<k8s.V1Service>(objs, 'Service', sts.spec!.serviceName!);
  assert.equal(svc.spec?.clusterIP, 'None', 'the StatefulSet\'s Service is headless');
  assert.ok(matches(svc.spec?.selector ?? {}, sts.spec!.template.metadata?.labels), 'the headless Service selects the shard pods');
  assert.ok((sts.spec?.volumeClaimTemplates ?? []).length >= 1, 'a PVC template');

  const { c: side, flags: sidecar } = kvassContainer(objs, 'prometheus-rep-0', 'sidecar');
  const apiPort = Number((flag(sidecar, 'web.api-addr') ?? ':8080').split(':').pop());
  assert.equal(apiPort, Number(flag(coord, 'shard.port') ?? '8080'), 'the coordinator calls the sidecars on their API port');
  assert.ok((side.container.ports ?? []).some((p) => p.containerPort === apiPort), 'the sidecar declares its API port');
  assert.ok(['127.0.0.1', 'localhost'].includes((flag(sidecar, 'web.proxy-addr') ?? '127.0.0.1:8008').split(':')[0]!), 'the scrape proxy listens on loopback');

  const prom = sts.spec!.template.spec!.containers.find((c) => c.name === 'prometheus');
  assert.ok(prom, 'a prometheus container');
  assert.match(prom.image ?? '', /^prom\/prometheus:v2\.42\./);
  const promArgs = prom.args ?? [];
  const output = flag(sidecar, 'config.output-file')!;
  assert.equal(flag(promArgs, 'config.file'), output, 'Prometheus loads the config the sidecar writes');
  assert.ok(promArgs.includes('--web.enable-lifecycle'), 'the sidecar reloads Prometheus through /-/reload');
  const promUrl = new URL(flag(sidecar, 'prometheus.url') ?? 'http://127.0.0.1:9090');
  const promListen = flag(promArgs, 'web.listen-address') ?? '0.0.0.0:9090';
  assert.equal(Number(promListen.split(':').pop()), Number(promUrl.port), 'the sidecar\'s --prometheus.url is Prometheus\'s port');
  // The directory of the output file is one volume, writable by the sidecar and mounted in Prometheus.
  const outDir = posix.dirname(output);
  const sideMount = (side.container.volumeMounts ?? []).find((m) => m.mountPath === outDir);
  const promMount = (prom.volumeMounts ?? []).find((m) => m.mountPath === outDir);
  assert.ok(sideMount && promMount && sideMount.name === promMount.name, `the sidecar and Prometheus share ${outDir}`);
  assert.ok(sideMount.readOnly !== true, 'the sidecar writes the shard config');
  assert.ok(sts.spec!.template.spec!.volumes?.find((v) => v.name === sideMount.name)?.emptyDir, `${outDir} is an emptyDir`);
  // The data volume (Prometheus's TSDB, the sidecar's store) is the PVC.
  const tsdb = flag(promArgs, 'storage.tsdb.path')!;
  const dataMount = (prom.volumeMounts ?? []).find((m) => m.mountPath === tsdb);
  assert.ok(dataMount && sts.spec!.volumeClaimTemplates!.some((t) => t.metadata?.name === dataMount.name), 'the TSDB is on the PVC');
});

/** The volume mount holding `path` in a container (the longest mount path that is a prefix). */
function mountOf(c: k8s.V1Container, path: string): k8s.V1VolumeMount | undefined {
  return (c.volumeMounts ?? [])
    .filter((m) => path === m.mountPath || path.startsWith(`${m.mountPath.replace(/\/+$/, '')}/`))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
}

const READ_FILE_FLAGS = ['config.file', 'web.api-token-file', 'shard.api-token-file', 'web.config.file', 'shard.client-config-file'];
const WRITE_PATH_FLAGS = ['config.output-file', 'store.path', 'data-dir'];

test('manifests: the files kvass flags name are in the mounted ConfigMap and Secret; writable paths are on writable volumes; $(VARS) are defined', async () => {
  const objs = await objects();
  const problems: string[] = [];
  const config = generated<k8s.V1ConfigMap>(objs, 'ConfigMap', 'prometheus-config');
  const secret = generated<k8s.V1Secret>(objs, 'Secret', 'kvass-token');
  for (const { workload: w, container: c, where } of containers(objs)) {
    if (!isKvass(c)) continue;
    const { flags } = kvassCommand(c);
    for (const name of READ_FILE_FLAGS) {
      const path = flag(flags, name);
      if (path === undefined) continue;
      const m = mountOf(c, path);
      const vol = m && w.pod.volumes?.find((v) => v.name === m.name);
      const key = m ? path.slice(m.mountPath.replace(/\/+$/, '').length + 1) : '';
      if (vol?.configMap) {
        if (vol.configMap.name !== config.metadata!.name) problems.push(`${where}: --${name} is in ConfigMap ${vol.configMap.name}, not the generated ${config.metadata!.name}`);
        else if (config.data?.[key] === undefined) problems.push(`${where}: --${name}=${path}: no key ${key} in the ConfigMap`);
      } else if (vol?.secret) {
        if (vol.secret.secretName !== secret.metadata!.name) problems.push(`${where}: --${name} is in Secret ${vol.secret.secretName}, not the generated ${secret.metadata!.name}`);
        else if (secret.data?.[key] === undefined) problems.push(`${where}: --${name}=${path}: no key ${key} in the Secret`);
      } else problems.push(`${where}: --${name}=${path} is on no ConfigMap or Secret volume`);
    }
    for (const name of WRITE_PATH_FLAGS) {
      const path = flag(flags, name);
      if (path === undefined) continue;
      const m = mountOf(c, path);
      const vol = m && w.pod.volumes?.find((v) => v.name === m.name);
      const claim = m && (w.object as unknown as { spec: k8s.V1StatefulSetSpec }).spec.volumeClaimTemplates?.some((t) => t.metadata?.name === m.name);
      if (!m || m.readOnly === true || !(vol?.emptyDir || vol?.persistentVolumeClaim || claim)) problems.push(`${where}: --${name}=${path} is not on a writable emptyDir or PVC`);
    }
    const env = new Set((c.env ?? []).map((e) => e.name));
    for (const a of [...(c.command ?? []), ...(c.args ?? [])]) {
      for (const [, v] of a.matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)) if (!env.has(v!)) problems.push(`${where}: ${a} names $(${v}), which the container's env does not define`);
    }
  }
  // The sidecars, the coordinator and the global view use one token (the one the sidecars require).
  const tokens = new Set(containers(objs).filter((c) => isKvass(c.container)).flatMap((c) => {
    const { flags } = kvassCommand(c.container);
    return ['web.api-token-file', 'shard.api-token-file'].map((n) => flag(flags, n)).filter((v): v is string => v !== undefined)
      .map((p) => c.workload.pod.volumes?.find((v) => v.name === mountOf(c.container, p)?.name)?.secret?.secretName);
  }));
  assert.deepEqual([...tokens], [secret.metadata!.name], 'every token flag reads the one generated Secret');
  // The configuration itself: a Prometheus config whose rule files are in the ConfigMap too.
  const prom = parseYaml(config.data!['prometheus.yml']!) as { scrape_configs?: unknown[]; rule_files?: string[] };
  assert.ok((prom.scrape_configs ?? []).length > 0, 'prometheus.yml has scrape jobs');
  for (const f of prom.rule_files ?? []) assert.ok(config.data![f] !== undefined, `rule file ${f} is in the ConfigMap`);
  assert.deepEqual(problems, [], problems.join('\n'));
});

test('manifests: the NetworkPolicy lets only the coordinator and the global view reach the shard pods, on the sidecar API port', async () => {
  const objs = await objects();
  const shardLabels = one<k8s.V1StatefulSet>(objs, 'StatefulSet', 'prometheus-rep-0').spec!.template.metadata!.labels!;
  const policies = (objs.filter((o) => o.kind === 'NetworkPolicy') as unknown as k8s.V1NetworkPolicy[])
    .filter((p) => matches(p.spec?.podSelector?.matchLabels ?? {}, shardLabels));
  assert.equal(policies.length, 1, 'one NetworkPolicy selects the shard pods');
  const policy = policies[0]!;
  assert.ok(Object.keys(policy.spec!.podSelector?.matchLabels ?? {}).length > 0, 'its pod selector is not empty (it would select every pod)');
  assert.deepEqual(policy.spec?.policyTypes, ['Ingress']);
  const { flags: sidecar } = kvassContainer(objs, 'prometheus-rep-0', 'sidecar');
  const apiPort = Number((flag(sidecar, 'web.api-addr') ?? ':8080').split(':').pop());
  // The JSON field `from` (client-node's type calls it _from).
  const rules = (policy.spec?.ingress ?? []) as Array<{ ports?: k8s.V1NetworkPolicyPort[]; from?: k8s.V1NetworkPolicyPeer[] }>;
  assert.equal(rules.length, 1);
  assert.deepEqual(rules[0]!.ports, [{ protocol: 'TCP', port: apiPort }]);
  const from = rules[0]!.from ?? [];
  assert.ok(from.every((f) => f.podSelector && !f.namespaceSelector && !f.ipBlock), 'peers are pods of this namespace only');
  // Which workloads' pods the rule lets in.
  const admitted = workloads(objs).filter((w) => from.some((f) => matches(f.podSelector!.matchLabels ?? {}, w.podLabels) && Object.keys(f.podSelector!.matchLabels ?? {}).length > 0));
  assert.deepEqual(admitted.map((w) => w.object.metadata.name).sort(), ['kvass-coordinator', 'kvass-query']);
});

test('manifests: the global view reads the coordinator Service and answers on the kvass-query Service, port 9090', async () => {
  const objs = await objects();
  const { c, flags } = kvassContainer(objs, 'kvass-query', 'query');
  const url = new URL(flag(flags, 'coordinator.url')!);
  const coordSvc = one<k8s.V1Service>(objs, 'Service', url.hostname.split('.')[0]!);
  const coordPort = coordSvc.spec!.ports!.find((p) => p.port === Number(url.port || 80));
  assert.ok(coordPort, `the coordinator Service has port ${url.port}`);
  const coordDep = one<k8s.V1Deployment>(objs, 'Deployment', 'kvass-coordinator');
  assert.ok(matches(coordSvc.spec!.selector ?? {}, coordDep.spec!.template.metadata?.labels), 'the coordinator Service selects the coordinator pods');
  const { c: coord, flags: coordFlags } = kvassContainer(objs, 'kvass-coordinator', 'coordinator');
  const coordListen = Number((flag(coordFlags, 'web.address') ?? ':9090').split(':').pop());
  const targetPort = coordPort.targetPort ?? coordPort.port;
  assert.ok((coord.container.ports ?? []).some((p) => p.containerPort === coordListen && (p.name === targetPort || p.containerPort === targetPort)), 'the coordinator Service reaches --web.address');

  const svc = one<k8s.V1Service>(objs, 'Service', 'kvass-query');
  assert.ok(matches(svc.spec!.selector ?? {}, c.workload.podLabels), 'kvass-query selects the global view pods');
  const port = svc.spec!.ports!.find((p) => p.port === 9090);
  assert.ok(port, 'kvass-query listens on 9090');
  const listen = Number(flag(flags, 'web.listen-address')!.split(':').pop());
  assert.ok((c.container.ports ?? []).some((p) => p.containerPort === listen && (p.name === port.targetPort || p.containerPort === port.targetPort)), 'the Service reaches --web.listen-address');
  assert.ok(!flag(flags, 'web.listen-address')!.startsWith('127.0.0.1'), 'the global view listens beyond loopback');
});

test('manifests: the demo\'s targets: 6 metrics pods of kvass fake-targets, 10045 series each, on the port prometheus.yml keeps', async () => {
  const objs = await objects();
  const dep = one<k8s.V1Deployment>(objs, 'Deployment', 'metrics');
  assert.equal(dep.spec?.replicas, 6);
  const { c, flags } = kvassContainer(objs, 'metrics', 'fake-targets');
  assert.equal(flag(flags, 'targets') ?? '6', '1', 'one target per pod');
  assert.equal(flag(flags, 'series') ?? '10045', '10045');
  const port = Number(flag(flags, 'listen')!.split(':').pop());
  assert.ok(!flag(flags, 'listen')!.startsWith('127.0.0.1'), 'the targets listen beyond loopback');
  assert.deepEqual((c.container.ports ?? []).map((p) => [p.name, p.containerPort]), [['metrics', port]]);
});

// ---------------------------------------------------------------------------------------------------------------
// Flags against the CLI

interface KnownFlags {
  names: Set<string>;
  /** Flag lines whose name ran into the description (names of 30 characters or more: usage() pads to 34). */
  glued: string[];
}

const helpCache = new Map<string, Promise<KnownFlags>>();

/** The flags `kvass <command> --help` lists (bool flags also as no-<name>). */
function knownFlags(command: string): Promise<KnownFlags> {
  let p = helpCache.get(command);
  if (!p) {
    p = (async () => {
      assert.ok(existsSync(KVASS_MAIN), `${KVASS_MAIN} is missing: build first (npx tsc -p tsconfig.json)`);
      const { stdout } = await run(process.execPath, [KVASS_MAIN, command, '--help']);
      const start = stdout.indexOf('\nFlags:\n');
      assert.ok(start >= 0, `kvass ${command} --help lists no flags:\n${stdout}`);
      const names = new Set<string>();
      const glued: string[] = [];
      // Each flag line is two spaces, --name, =VALUE unless the flag is a bool, padded to 34 columns, then the
      // description: a long name runs into it (cut at =VALUE; a bool's name cannot be told from its description).
      for (const line of stdout.slice(start).split('\n')) {
        const m = /^ {2}--([a-z0-9][a-z0-9.-]*)(=VALUE)?/.exec(line);
        if (!m) continue;
        names.add(m[1]!);
        if (!m[2]) {
          names.add(`no-${m[1]}`);
          if (4 + m[1]!.length >= 34) glued.push(line.slice(4));
        }
      }
      assert.ok(names.size > 0, `no flag parsed from kvass ${command} --help`);
      return { names, glued };
    })();
    helpCache.set(command, p);
  }
  return p;
}

function knows(k: KnownFlags, name: string): boolean {
  if (k.names.has(name)) return true;
  const bare = name.replace(/^no-/, '');
  return 4 + bare.length >= 34 && k.glued.some((g) => g.startsWith(bare));
}

test('manifests: every flag of every kvass container is one `kvass <command> --help` lists', async () => {
  const objs = await objects();
  const unknown: string[] = [];
  let checked = 0;
  for (const { container: c, where } of containers(objs)) {
    if (!isKvass(c)) continue;
    const { command, flags } = kvassCommand(c);
    const known = await knownFlags(command);
    for (const a of flags) {
      assert.ok(a.startsWith('--'), `${where}: argument ${JSON.stringify(a)} is not a --flag (write --name=value)`);
      const name = a.slice(2).split('=')[0]!;
      checked++;
      if (!knows(known, name)) unknown.push(`${where}: kvass ${command} has no flag --${name}`);
    }
  }
  assert.ok(checked >= 20, `only ${checked} flags checked`);
  assert.deepEqual(unknown, [], `flags the CLI does not know (yet):\n${unknown.join('\n')}`);
});

// ---------------------------------------------------------------------------------------------------------------
// The image

test('Dockerfile: builds with the steps CI runs (npm ci, npm run build), installs runtime dependencies only, runs kvass as a non-root user', () => {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const stages: string[][] = [];
  for (const l of lines) {
    if (/^FROM\s/i.test(l)) stages.push([l]);
    else stages.at(-1)?.push(l);
  }
  const build = stages.find((s) => /^FROM node:20(-bookworm)?\s+AS\s+build$/i.test(s[0]!));
  assert.ok(build, 'a build stage FROM node:20-bookworm AS build');
  assert.ok(build.some((l) => /^RUN npm ci(\s|$)/.test(l) && !l.includes('--omit')), 'the build stage runs npm ci');
  assert.ok(build.some((l) => /^RUN npm run build(\s|$)/.test(l)), 'the build stage runs npm run build');
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  // npm run build compiles what `make build` (CI) compiles: the same tsc projects, in the same order.
  const makeBuild = /^build:.*\n((?:\t.*\n)+)/m.exec(readFileSync(join(ROOT, 'Makefile'), 'utf8'))?.[1] ?? '';
  const projects = (text: string): string[] => [...text.matchAll(/tsc -p (\S+)/g)].map((m) => m[1]!);
  assert.deepEqual(projects(pkg.scripts.build!), projects(makeBuild), 'npm run build is the tsc CI runs (make build)');
  assert.ok(projects(makeBuild).includes('tsconfig.json'));
  const final = stages.at(-1)!;
  assert.match(final[0]!, /^FROM node:20-bookworm-slim(\s|$)/);
  assert.ok(final.some((l) => /^RUN npm ci --omit=dev/.test(l)), 'the final stage installs runtime dependencies only');
  assert.ok(final.some((l) => /^COPY --from=build \S*dist\/src\/? /.test(l)), 'the final stage copies the built dist/src');
  assert.ok(final.some((l) => /^COPY --from=build \S*dist\/console\/? /.test(l)), 'the final stage copies the built console (dist/console)');
  assert.ok(final.some((l) => /\/usr\/local\/bin\/kvass/.test(l)), 'kvass is on PATH');
  const user = final.filter((l) => /^USER\s/.test(l)).at(-1);
  assert.ok(user && !/^USER\s+(root|0)(:|$)/.test(user), 'the image runs as a non-root USER');
  assert.equal(final.filter((l) => /^ENTRYPOINT\s/.test(l)).at(-1), 'ENTRYPOINT ["kvass"]');
  // Every local COPY source exists and is not excluded by .dockerignore.
  const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).map((l) => l.replace(/^\/|\/$/g, ''));
  for (const l of lines.filter((x) => /^COPY\s/.test(x) && !x.includes('--from='))) {
    for (const src of l.split(/\s+/).slice(1, -1)) {
      const top = src.replace(/\/$/, '').split('/')[0]!;
      assert.ok(existsSync(join(ROOT, src)), `COPY ${src}: no such file`);
      assert.ok(!ignored.includes(top), `COPY ${src}: excluded by .dockerignore`);
    }
  }
});
