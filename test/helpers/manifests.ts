/**
 * What the manifest tests (test/deploy/) share: the repository's root, `kubectl kustomize` rendering, lookups of
 * objects, workloads and kvass containers and their flags, and schema validation (kubernetes-models' validators,
 * and unknown fields found with @kubernetes/client-node's models).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import * as k8s from '@kubernetes/client-node';
import { ConfigMap, Namespace, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';

/** The repository: the first folder above this file with a package.json (dist/test/deploy/ → the root). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('no package.json above the test');
    dir = up;
  }
  return dir;
}

export const ROOT = repoRoot();
export const KVASS_MAIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');
export const KUBECTL = process.env.KUBECTL ?? 'kubectl';
export const NAMESPACE = 'kvass';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: k8s.V1ObjectMeta & { name: string };
  [field: string]: unknown;
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering

export function run(file: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd: ROOT, maxBuffer: 64 << 20, timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          reject(new Error(`${file} is not installed (or not on PATH): this test renders the manifests with \`kubectl kustomize deploy/kubernetes\`. Install kubectl (Debian: apt-get install kubernetes-client) or point KUBECTL at it.`));
        } else reject(new Error(`${file} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
        return;
      }
      resolve({ stdout, stderr });
    });
  });
}

const renders = new Map<string, Promise<K8sObject[]>>();

/** The objects `kubectl kustomize <dir>` prints (rendered once per folder). */
export function render(dir: string): Promise<K8sObject[]> {
  let p = renders.get(dir);
  if (!p) {
    p = (async () => {
      const { stdout } = await run(KUBECTL, ['kustomize', dir]);
      const out: K8sObject[] = [];
      for (const doc of parseAllDocuments(stdout)) {
        if (doc.errors.length > 0) throw new Error(`kubectl kustomize printed invalid YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
        const obj = doc.toJS() as K8sObject | null;
        if (obj !== null) out.push(obj);
      }
      return out;
    })();
    renders.set(dir, p);
  }
  return p;
}

export const id = (o: K8sObject): string => `${o.kind}/${o.metadata.name}`;

export function one<T>(objs: K8sObject[], kind: string, name: string): T {
  const found = objs.filter((o) => o.kind === kind && o.metadata.name === name);
  assert.equal(found.length, 1, `expected one ${kind} ${name}, found ${found.length}`);
  return found[0] as unknown as T;
}

/** A kustomize-generated object: its name is the generator's name and a content hash. */
export function generated<T>(objs: K8sObject[], kind: string, name: string): T {
  const found = objs.filter((o) => o.kind === kind && (o.metadata.name === name || o.metadata.name.startsWith(`${name}-`)));
  assert.equal(found.length, 1, `expected one ${kind} ${name}(-<hash>), found ${found.length}`);
  return found[0] as unknown as T;
}

export interface Workload {
  object: K8sObject;
  pod: k8s.V1PodSpec;
  podLabels: Record<string, string>;
}

export function workloads(objs: K8sObject[]): Workload[] {
  return objs.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet').map((o) => {
    const spec = (o as unknown as { spec: k8s.V1DeploymentSpec }).spec;
    return { object: o, pod: spec.template.spec!, podLabels: spec.template.metadata?.labels ?? {} };
  });
}

export interface ContainerIn {
  workload: Workload;
  container: k8s.V1Container;
  /** A native sidecar (an init container with restartPolicy Always) or a regular container: it keeps running. */
  longRunning: boolean;
  where: string;
}

export function containers(objs: K8sObject[]): ContainerIn[] {
  return workloads(objs).flatMap((w) => [
    ...(w.pod.initContainers ?? []).map((c) => ({ workload: w, container: c, longRunning: c.restartPolicy === 'Always', where: `${id(w.object)} init container ${c.name}` })),
    ...w.pod.containers.map((c) => ({ workload: w, container: c, longRunning: true, where: `${id(w.object)} container ${c.name}` })),
  ]);
}

/** A container running the kvass CLI: its first argument is the command, the rest its flags. */
export function isKvass(c: k8s.V1Container): boolean {
  const image = (c.image ?? '').split('@')[0]!.replace(/:[^/:]+$/, '');
  return image === 'kvass' || image.endsWith('/kvass');
}

export function kvassCommand(c: k8s.V1Container): { command: string; flags: string[] } {
  const argv = [...(c.command ?? []), ...(c.args ?? [])];
  assert.equal(argv[0], 'kvass', `container ${c.name}: command must be [kvass] (the image's launcher on PATH), got ${JSON.stringify(c.command)}`);
  return { command: argv[1] ?? '', flags: argv.slice(2) };
}

/** The value of `--name=value` (or `--name value`) in `flags`; undefined when absent. */
export function flag(flags: readonly string[], name: string): string | undefined {
  for (let i = 0; i < flags.length; i++) {
    const f = flags[i]!;
    if (f.startsWith(`--${name}=`)) return f.slice(name.length + 3);
    if (f === `--${name}`) return flags[i + 1] !== undefined && !flags[i + 1]!.startsWith('--') ? flags[i + 1] : 'true';
  }
  return undefined;
}

export function kvassContainer(objs: K8sObject[], workloadName: string, command: string): { c: ContainerIn; flags: string[] } {
  const found = containers(objs).filter((c) => c.workload.object.metadata.name === workloadName && isKvass(c.container) && kvassCommand(c.container).command === command);
  assert.equal(found.length, 1, `expected one kvass ${command} container in ${workloadName}, found ${found.length}`);
  return { c: found[0]!, flags: kvassCommand(found[0]!.container).flags };
}

export function matches(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

// ---------------------------------------------------------------------------------------------------------------
// Schema validation

export type Validating = new (data: never) => { validate(): void };

export const MODELS: Record<string, Validating> = {
  'v1/Namespace': Namespace as unknown as Validating,
  'v1/ConfigMap': ConfigMap as unknown as Validating,
  'v1/Secret': Secret as unknown as Validating,
  'v1/Service': Service as unknown as Validating,
  'v1/ServiceAccount': ServiceAccount as unknown as Validating,
  'apps/v1/Deployment': Deployment as unknown as Validating,
  'apps/v1/StatefulSet': StatefulSet as unknown as Validating,
  'rbac.authorization.k8s.io/v1/Role': Role as unknown as Validating,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding as unknown as Validating,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget as unknown as Validating,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy as unknown as Validating,
};

export interface Attribute { baseName: string; type: string }
export const CLIENT_MODELS = k8s as unknown as Record<string, { attributeTypeMap?: Attribute[] } | undefined>;

/** Fields the Kubernetes API does not know, found with @kubernetes/client-node's models (one per API type). */
export function unknownFields(value: unknown, type: string, path: string, out: string[]): void {
  if (value === null || value === undefined) return;
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (!Array.isArray(value)) return void out.push(`${path}: expected a list`);
    value.forEach((v, i) => unknownFields(v, array[1]!, `${path}[${i}]`, out));
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (typeof value !== 'object' || Array.isArray(value)) return void out.push(`${path}: expected a map`);
    for (const [k, v] of Object.entries(value)) unknownFields(v, map[1]!, `${path}.${k}`, out);
    return;
  }
  const attrs = CLIENT_MODELS[type]?.attributeTypeMap;
  if (!attrs) return; // string, number, boolean, Date, IntOrString, object, any: leaves
  if (typeof value !== 'object' || Array.isArray(value)) return void out.push(`${path}: expected an object (${type})`);
  const known = new Map(attrs.map((a) => [a.baseName, a.type]));
  for (const [k, v] of Object.entries(value)) {
    const t = known.get(k);
    if (t === undefined) out.push(`${path}.${k}: unknown field (not in ${type})`);
    else unknownFields(v, t, `${path}.${k}`, out);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Security and resources

/** A Kubernetes quantity as a number (cores, bytes). */
export function quantity(q: string | number): number {
  if (typeof q === 'number') return q;
  const m = /^([0-9.]+)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(q);
  assert.ok(m, `unsupported quantity ${q}`);
  const unit: Record<string, number> = { '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
  return Number(m[1]) * unit[m[2] ?? '']!;
}

/** The path a probe checks: httpGet's, or the URL's of an exec probe (wget/curl inside the container). */
export function probePath(p: k8s.V1Probe | undefined): string | undefined {
  if (!p) return undefined;
  if (p.httpGet) return p.httpGet.path;
  const url = p.exec?.command?.find((a) => /^https?:\/\//.test(a));
  return url ? new URL(url).pathname : undefined;
}

export const RESTRICTED_VOLUME_TYPES = ['configMap', 'secret', 'emptyDir', 'persistentVolumeClaim', 'projected', 'downwardAPI', 'csi', 'ephemeral'];

/** What is wrong with an object against the Kubernetes schemas: kubernetes-models' validator, and fields the
 * API does not know (found with @kubernetes/client-node's models). */
export function schemaProblems(o: K8sObject): string[] {
  const problems: string[] = [];
  const Model = MODELS[`${o.apiVersion}/${o.kind}`];
  if (!Model) return [`${id(o)}: no schema for ${o.apiVersion} ${o.kind} in this test (add it to MODELS)`];
  try {
    new Model(o as never).validate();
  } catch (e) {
    problems.push(`${id(o)}: ${(e as Error).message}`);
  }
  const group = o.apiVersion.includes('/') ? o.apiVersion.split('/')[0]! : '';
  const version = o.apiVersion.split('/').pop()!;
  const clientType = `${version[0]!.toUpperCase()}${version.slice(1)}${o.kind}`;
  if (!CLIENT_MODELS[clientType]?.attributeTypeMap) problems.push(`${id(o)}: @kubernetes/client-node has no model ${clientType} (${group})`);
  else unknownFields(o, clientType, id(o), problems);
  return problems;
}
