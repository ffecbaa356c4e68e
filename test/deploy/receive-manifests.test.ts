/**
 * The write path's Kubernetes manifests (deploy/kubernetes/receive/, applied on their own with
 * `kubectl apply -k deploy/kubernetes/receive`) as `kubectl kustomize` renders them, checked as
 * test/deploy/manifests.test.ts checks the demo's (its helpers are not exported: the few needed are copied here):
 * - every object is valid against the Kubernetes schemas (kubernetes-models) with no field the API does not know
 *   (@kubernetes/client-node's models), in the namespace kvass, which this kustomization does not declare;
 * - every container non-root, read-only root filesystem, no privilege escalation, no capabilities, requests and
 *   limits, liveness and readiness probes on /-/healthy and /-/ready, no service account token;
 * - the ring fits the StatefulSet: the hashrings file parses with kvass's own parser (parseHashrings), every
 *   endpoint is the stable DNS name `<sts>-<i>.<headless Service>.<namespace>.svc:<port>` of an ingestor with
 *   i < replicas, and the router's --receive.replication-factor is at most the ring's size;
 * - the router: 2 replicas, its Service on 19291, a PDB; the ingestors: Prometheus 2.42 with the remote-write
 *   receiver, an out-of-order window, receive_replica per pod from the downward API, a PVC, a PDB; the NetworkPolicy
 *   lets only the router and the global view (the demo's kvass-query) reach the ingestors' port;
 * - every flag of the router is one `kvass receive --help` lists.
 * kubectl must be installed (KUBECTL names another binary); the CLI must be built (npx tsc -p tsconfig.json).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import * as k8s from '@kubernetes/client-node';
import { parseHashrings } from '../../src/receive/hashring.js';
import { ROOT, KVASS_MAIN, NAMESPACE, type K8sObject, run, render, id, one, generated, type Workload, workloads, containers, isKvass, kvassCommand, flag, matches, schemaProblems, quantity, probePath, RESTRICTED_VOLUME_TYPES } from '../helpers/manifests.js';

const RECEIVE_DIR = join(ROOT, 'deploy', 'kubernetes', 'receive');
const DEMO_DIR = join(ROOT, 'deploy', 'kubernetes');
const objects = () => render(RECEIVE_DIR);

const port = (address: string): number => Number(address.split(':').pop());

/** The router's kvass container and its flags. */
async function router(): Promise<{ objs: K8sObject[]; dep: k8s.V1Deployment; c: k8s.V1Container; flags: string[] }> {
  const objs = await objects();
  const dep = one<k8s.V1Deployment>(objs, 'Deployment', 'kvass-receive');
  const found = dep.spec!.template.spec!.containers.filter((c) => isKvass(c) && kvassCommand(c).command === 'receive');
  assert.equal(found.length, 1, 'one kvass receive container in kvass-receive');
  return { objs, dep, c: found[0]!, flags: kvassCommand(found[0]!).flags };
}

async function ingestors(): Promise<{ objs: K8sObject[]; sts: k8s.V1StatefulSet; prom: k8s.V1Container }> {
  const objs = await objects();
  const sts = one<k8s.V1StatefulSet>(objs, 'StatefulSet', 'kvass-ingestor');
  const prom = sts.spec!.template.spec!.containers.find((c) => c.name === 'prometheus');
  assert.ok(prom, 'a prometheus container in kvass-ingestor');
  return { objs, sts, prom };
}

test('receive manifests: kubectl kustomize renders the router and the ingestors, every object valid, no unknown field, all in kvass', async () => {
  const objs = await objects();
  assert.deepEqual(objs.map(id).map((s) => s.replace(/-[a-z0-9]{10}$/, '-<hash>')).sort(), [
    'ConfigMap/kvass-hashrings-<hash>',
    'ConfigMap/kvass-ingestor-config-<hash>',
    'Deployment/kvass-receive',
    'NetworkPolicy/kvass-ingestor',
    'PodDisruptionBudget/kvass-ingestor',
    'PodDisruptionBudget/kvass-receive',
    'Service/kvass-ingestor',
    'Service/kvass-receive',
    'StatefulSet/kvass-ingestor',
  ]);
  const problems: string[] = [];
  for (const o of objs) {
    problems.push(...schemaProblems(o));
    if (o.metadata.namespace !== NAMESPACE) problems.push(`${id(o)} is in ${o.metadata.namespace}, not ${NAMESPACE}`);
  }
  assert.deepEqual(problems, [], `invalid objects:\n${problems.join('\n')}`);
  // Its names do not collide with the demo's (both are applied to the same namespace), and its labels do not put
  // its pods under the demo's shard selector or NetworkPolicy.
  const demo = await render(DEMO_DIR);
  const demoIds = new Set(demo.map(id));
  assert.deepEqual(objs.map(id).filter((i) => demoIds.has(i)), [], 'no object of the demo is redefined');
  for (const w of workloads(objs)) assert.notEqual(w.podLabels['app.kubernetes.io/name'], 'prometheus', `${id(w.object)}: not a shard of the demo's coordinator`);
});


test('receive manifests: every container non-root, read-only root filesystem, no privilege escalation, no capabilities, requests and limits, health and readiness probes', async () => {
  const objs = await objects();
  const problems: string[] = [];
  const all = containers(objs);
  assert.equal(all.length, 2, 'the router and the ingestors\' Prometheus');
  for (const { workload: w, container: c, longRunning, where } of all) {
    const podSc = w.pod.securityContext ?? {};
    const sc = c.securityContext ?? {};
    if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) !== true) problems.push(`${where}: runAsNonRoot is not true`);
    const uid = sc.runAsUser ?? podSc.runAsUser;
    if (uid === undefined || ![65534, 1000].includes(uid)) problems.push(`${where}: runAsUser ${uid} (expected 65534 or 1000)`);
    if (sc.readOnlyRootFilesystem !== true) problems.push(`${where}: readOnlyRootFilesystem is not true`);
    if (sc.allowPrivilegeEscalation !== false) problems.push(`${where}: allowPrivilegeEscalation is not false`);
    if (sc.privileged === true) problems.push(`${where}: privileged`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) problems.push(`${where}: capabilities do not drop ALL`);
    if ((sc.capabilities?.add ?? []).length > 0) problems.push(`${where}: adds capabilities`);
    if ((sc.seccompProfile ?? podSc.seccompProfile)?.type !== 'RuntimeDefault') problems.push(`${where}: seccompProfile is not RuntimeDefault`);
    for (const r of ['cpu', 'memory']) {
      const req = c.resources?.requests?.[r];
      const lim = c.resources?.limits?.[r];
      if (req === undefined) problems.push(`${where}: no ${r} request`);
      if (lim === undefined) problems.push(`${where}: no ${r} limit`);
      if (req !== undefined && lim !== undefined && quantity(req) > quantity(lim)) problems.push(`${where}: ${r} request ${req} above its limit ${lim}`);
    }
    if (longRunning) {
      if (probePath(c.livenessProbe) !== '/-/healthy') problems.push(`${where}: liveness probe checks ${probePath(c.livenessProbe)}, not /-/healthy`);
      if (probePath(c.readinessProbe) !== '/-/ready') problems.push(`${where}: readiness probe checks ${probePath(c.readinessProbe)}, not /-/ready`);
      // An httpGet probe names a port the container declares.
      for (const p of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
        const pp = p?.httpGet?.port;
        if (pp !== undefined && !(c.ports ?? []).some((d) => d.name === pp || d.containerPort === pp)) problems.push(`${where}: a probe's port ${pp} is not declared`);
      }
    }
    for (const m of c.volumeMounts ?? []) {
      const vol = w.pod.volumes?.find((v) => v.name === m.name);
      const claim = (w.object as unknown as { spec: k8s.V1StatefulSetSpec }).spec.volumeClaimTemplates?.find((t) => t.metadata?.name === m.name);
      if (!vol && !claim) problems.push(`${where}: mounts ${m.name}, which is neither a volume nor a claim template`);
      if (vol && (vol.configMap || vol.secret) && m.readOnly !== true) problems.push(`${where}: mounts the ConfigMap/Secret volume ${m.name} without readOnly`);
    }
  }
  for (const w of workloads(objs)) {
    for (const v of w.pod.volumes ?? []) {
      const types = Object.keys(v).filter((k) => k !== 'name');
      if (!types.every((t) => RESTRICTED_VOLUME_TYPES.includes(t))) problems.push(`${id(w.object)}: volume ${v.name} of type ${types.join(',')} (not allowed by the restricted Pod Security level)`);
    }
    if (w.pod.hostNetwork || w.pod.hostPID || w.pod.hostIPC) problems.push(`${id(w.object)}: uses a host namespace`);
    if (w.pod.automountServiceAccountToken !== false) problems.push(`${id(w.object)}: mounts a service account token it does not need`);
  }
  assert.deepEqual(problems, [], problems.join('\n'));
});

// ---------------------------------------------------------------------------------------------------------------
// The ring and the StatefulSet

test('receive manifests: the hashrings file parses (parseHashrings), every endpoint is a stable StatefulSet DNS name <sts>-<i>.<headless svc>.kvass.svc:<port> with i < replicas, rf ≤ the ring size', async () => {
  const { objs, c, flags } = await router();
  const { sts, prom } = await ingestors();
  // The file the router reads is the key of the generated ConfigMap mounted where the flag points.
  const file = flag(flags, 'receive.hashrings-file')!;
  assert.ok(file, '--receive.hashrings-file is set');
  const mount = (c.volumeMounts ?? []).find((m) => file.startsWith(`${m.mountPath.replace(/\/+$/, '')}/`));
  assert.ok(mount && mount.readOnly === true, `${file} is on a read-only mount`);
  const cm = generated<k8s.V1ConfigMap>(objs, 'ConfigMap', 'kvass-hashrings');
  const vol = one<k8s.V1Deployment>(objs, 'Deployment', 'kvass-receive').spec!.template.spec!.volumes!.find((v) => v.name === mount.name);
  assert.equal(vol?.configMap?.name, cm.metadata!.name, 'the hashrings volume is the generated ConfigMap');
  const key = file.slice(mount.mountPath.replace(/\/+$/, '').length + 1);
  const text = cm.data?.[key];
  assert.ok(text !== undefined, `the ConfigMap has the key ${key}`);
  const rings = parseHashrings(text, key);
  assert.ok(rings.length >= 1);
  assert.deepEqual(rings.flatMap((r) => r.warnings), [], 'nothing in the file is ignored');
  assert.equal(rings.at(-1)!.tenants.length, 0, 'the last ring is the soft ring: every tenant is taken');

  // The endpoints: the StatefulSet's pods by their stable names through its headless Service.
  const svcName = sts.spec!.serviceName!;
  const svc = one<k8s.V1Service>(objs, 'Service', svcName);
  assert.equal(svc.spec?.clusterIP, 'None', 'the StatefulSet\'s Service is headless (per-pod DNS names)');
  assert.ok(matches(svc.spec?.selector ?? {}, sts.spec!.template.metadata?.labels), 'the headless Service selects the ingestor pods');
  const listen = port(flag(prom.args ?? [], 'web.listen-address') ?? ':9090');
  assert.ok((prom.ports ?? []).some((p) => p.containerPort === listen), 'the ingestor declares its listen port');
  assert.ok((svc.spec?.ports ?? []).some((p) => p.port === listen), 'the headless Service has the ingestors\' port');
  const replicas = sts.spec!.replicas!;
  const name = new RegExp(`^${sts.metadata!.name}-(0|[1-9][0-9]*)\\.${svcName}\\.${NAMESPACE}\\.svc:${listen}$`);
  const used = new Set<number>();
  for (const r of rings) {
    for (const ep of r.endpoints) {
      const m = name.exec(ep);
      assert.ok(m, `ring ${r.hashring}: endpoint ${ep} is not ${sts.metadata!.name}-<i>.${svcName}.${NAMESPACE}.svc:${listen} (a stable StatefulSet name, not a pod IP)`);
      const i = Number(m[1]);
      assert.ok(i < replicas, `ring ${r.hashring}: ${ep} names ingestor ${i}, the StatefulSet has ${replicas}`);
      used.add(i);
    }
  }
  assert.equal(used.size, replicas, 'every ingestor is in a ring');
  assert.equal(replicas, 3);

  const rf = Number(flag(flags, 'receive.replication-factor') ?? '1');
  assert.equal(rf, 2);
  for (const r of rings) assert.ok(rf <= r.endpoints.length, `ring ${r.hashring}: --receive.replication-factor=${rf} is above its ${r.endpoints.length} endpoints`);
});

test('receive manifests: the router runs 2 replicas of kvass receive on :19291 behind the kvass-receive Service, with a PDB', async () => {
  const { objs, dep, c, flags } = await router();
  assert.equal(dep.spec?.replicas, 2);
  assert.ok(matches(dep.spec!.selector.matchLabels ?? {}, dep.spec!.template.metadata?.labels), 'the Deployment selects its own pods');
  const listen = flag(flags, 'receive.listen-address')!;
  assert.equal(listen, ':19291');
  const svc = one<k8s.V1Service>(objs, 'Service', 'kvass-receive');
  assert.ok(matches(svc.spec?.selector ?? {}, dep.spec!.template.metadata?.labels), 'the Service selects the router pods');
  const p = svc.spec!.ports!.find((x) => x.port === 19291);
  assert.ok(p, 'the Service listens on 19291');
  const target = p.targetPort ?? p.port;
  assert.ok((c.ports ?? []).some((d) => d.containerPort === port(listen) && (d.name === target || d.containerPort === target)), 'the Service reaches --receive.listen-address');
  // Beyond loopback kvass needs a credential or the explicit choice to run open.
  assert.ok(flag(flags, 'web.allow-unauthenticated') === 'true' || flag(flags, 'web.config.file') || flag(flags, 'web.api-token-file'), 'the router may listen beyond loopback');
  const pdbs = objs.filter((o) => o.kind === 'PodDisruptionBudget') as unknown as k8s.V1PodDisruptionBudget[];
  const pdb = pdbs.find((x) => Object.keys(x.spec?.selector?.matchLabels ?? {}).length > 0 && matches(x.spec!.selector!.matchLabels!, dep.spec!.template.metadata?.labels));
  assert.ok(pdb, 'a PodDisruptionBudget selects the router pods');
  assert.equal(pdb.spec?.minAvailable, 1);
});

test('receive manifests: the ingestors are 3 Prometheus 2.42 with the remote-write receiver, an out-of-order window, receive_replica=${POD_NAME}, a PVC and a PDB', async () => {
  const { objs, sts, prom } = await ingestors();
  assert.match(prom.image ?? '', /^prom\/prometheus:v2\.42\./);
  assert.equal(sts.spec?.replicas, 3);
  assert.equal(sts.spec?.podManagementPolicy, 'Parallel');
  assert.ok(matches(sts.spec!.selector.matchLabels ?? {}, sts.spec!.template.metadata?.labels), 'the StatefulSet selects its own pods');
  const args = prom.args ?? [];
  assert.ok(args.includes('--web.enable-remote-write-receiver'), '--web.enable-remote-write-receiver');
  const features = args.filter((a) => a.startsWith('--enable-feature=')).flatMap((a) => a.slice('--enable-feature='.length).split(','));
  assert.ok(features.includes('expand-external-labels'), '--enable-feature=expand-external-labels (for ${POD_NAME})');
  assert.ok(!args.includes('--web.enable-lifecycle'), 'no lifecycle endpoints on an ingestor reachable over the network');
  const env = new Map((prom.env ?? []).map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath]));
  assert.equal(env.get('POD_NAME'), 'metadata.name', 'POD_NAME from the downward API');

  // The config: from the generated ConfigMap, mounted read-only.
  const configFile = flag(args, 'config.file')!;
  const mount = (prom.volumeMounts ?? []).find((m) => configFile.startsWith(`${m.mountPath.replace(/\/+$/, '')}/`));
  assert.ok(mount && mount.readOnly === true, `${configFile} is on a read-only mount`);
  const cm = generated<k8s.V1ConfigMap>(objs, 'ConfigMap', 'kvass-ingestor-config');
  assert.equal(sts.spec!.template.spec!.volumes!.find((v) => v.name === mount.name)?.configMap?.name, cm.metadata!.name);
  const text = cm.data?.[configFile.slice(mount.mountPath.replace(/\/+$/, '').length + 1)];
  assert.ok(text !== undefined, 'the config file is in the ConfigMap');
  const config = parseYaml(text) as { global?: { external_labels?: Record<string, string> }; storage?: { tsdb?: { out_of_order_time_window?: string } }; scrape_configs?: unknown[] };
  assert.equal(config.global?.external_labels?.receive_replica, '${POD_NAME}', 'receive_replica names the pod');
  const ooo = config.storage?.tsdb?.out_of_order_time_window;
  assert.ok(ooo && /^[1-9][0-9]*(s|m|h)$/.test(ooo), `an out-of-order window, got ${ooo}`);
  assert.deepEqual(config.scrape_configs ?? [], [], 'an ingestor scrapes nothing');

  // The TSDB on the PVC.
  const tsdb = flag(args, 'storage.tsdb.path')!;
  const dataMount = (prom.volumeMounts ?? []).find((m) => m.mountPath === tsdb);
  assert.ok(dataMount && sts.spec!.volumeClaimTemplates!.some((t) => t.metadata?.name === dataMount.name), 'the TSDB is on the PVC');

  const pdbs = objs.filter((o) => o.kind === 'PodDisruptionBudget') as unknown as k8s.V1PodDisruptionBudget[];
  const pdb = pdbs.find((x) => Object.keys(x.spec?.selector?.matchLabels ?? {}).length > 0 && matches(x.spec!.selector!.matchLabels!, sts.spec!.template.metadata?.labels));
  assert.ok(pdb, 'a PodDisruptionBudget selects the ingestor pods');
  assert.equal(pdb.spec?.maxUnavailable, 1, 'one ingestor down at a time (rf 2 keeps a copy of every series)');
});

test('receive manifests: the NetworkPolicy lets only the router (writes) and the global view kvass-query (reads) reach the ingestors, on their port', async () => {
  const { objs, sts, prom } = await ingestors();
  const policies = (objs.filter((o) => o.kind === 'NetworkPolicy') as unknown as k8s.V1NetworkPolicy[])
    .filter((p) => matches(p.spec?.podSelector?.matchLabels ?? {}, sts.spec!.template.metadata?.labels));
  assert.equal(policies.length, 1, 'one NetworkPolicy selects the ingestor pods');
  const policy = policies[0]!;
  assert.ok(Object.keys(policy.spec!.podSelector?.matchLabels ?? {}).length > 0, 'its pod selector is not empty');
  assert.deepEqual(policy.spec?.policyTypes, ['Ingress']);
  const listen = port(flag(prom.args ?? [], 'web.listen-address') ?? ':9090');
  const rules = (policy.spec?.ingress ?? []) as Array<{ ports?: k8s.V1NetworkPolicyPort[]; from?: k8s.V1NetworkPolicyPeer[] }>;
  assert.equal(rules.length, 1);
  assert.deepEqual(rules[0]!.ports, [{ protocol: 'TCP', port: listen }]);
  const from = rules[0]!.from ?? [];
  assert.ok(from.length > 0 && from.every((f) => f.podSelector && Object.keys(f.podSelector.matchLabels ?? {}).length > 0 && !f.namespaceSelector && !f.ipBlock), 'peers are labelled pods of this namespace only');
  const admitted = (ws: Workload[]) => ws.filter((w) => from.some((f) => matches(f.podSelector!.matchLabels!, w.podLabels))).map((w) => w.object.metadata.name).sort();
  // Of this kustomization's pods, the router; of the demo's (deploy/kubernetes, same namespace), the global view.
  assert.deepEqual(admitted(workloads(objs)), ['kvass-receive']);
  assert.deepEqual(admitted(workloads(await render(DEMO_DIR))), ['kvass-query']);
});

// ---------------------------------------------------------------------------------------------------------------
// Flags against the CLI

/** The flags `kvass <command> --help` lists (bool flags also as no-<name>); long names run into the description. */
async function knownFlags(command: string): Promise<(name: string) => boolean> {
  assert.ok(existsSync(KVASS_MAIN), `${KVASS_MAIN} is missing: build first (npx tsc -p tsconfig.json)`);
  const { stdout } = await run(process.execPath, [KVASS_MAIN, command, '--help']);
  const start = stdout.indexOf('\nFlags:\n');
  assert.ok(start >= 0, `kvass ${command} --help lists no flags:\n${stdout}`);
  const names = new Set<string>();
  const glued: string[] = [];
  for (const line of stdout.slice(start).split('\n')) {
    const m = /^ {2}--([a-z0-9][a-z0-9.-]*)(=VALUE)?/.exec(line);
    if (!m) continue;
    names.add(m[1]!);
    if (!m[2]) {
      names.add(`no-${m[1]}`);
      if (4 + m[1]!.length >= 34) glued.push(line.slice(4));
    }
  }
  return (name) => {
    if (names.has(name)) return true;
    const bare = name.replace(/^no-/, '');
    return 4 + bare.length >= 34 && glued.some((g) => g.startsWith(bare));
  };
}

test('receive manifests: every flag of the router is one `kvass receive --help` lists', async () => {
  const { flags } = await router();
  const knows = await knownFlags('receive');
  const unknown: string[] = [];
  for (const a of flags) {
    assert.ok(a.startsWith('--'), `argument ${JSON.stringify(a)} is not a --flag (write --name=value)`);
    const name = a.slice(2).split('=')[0]!;
    if (!knows(name)) unknown.push(`kvass receive has no flag --${name}`);
  }
  assert.ok(flags.length >= 4);
  assert.deepEqual(unknown, [], unknown.join('\n'));
});
