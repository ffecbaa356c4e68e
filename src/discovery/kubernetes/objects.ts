/**
 * The parts of Kubernetes API objects (as JSON from the API server) that service discovery reads.
 * Every field is optional: the code must cope with whatever the server leaves out, as Go's zero values do.
 */

export type StringMap = Record<string, string>;

export interface OwnerReference {
  kind?: string;
  name?: string;
  controller?: boolean;
}

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  labels?: StringMap;
  annotations?: StringMap;
  ownerReferences?: OwnerReference[];
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
}

export interface ObjectReference {
  kind?: string;
  namespace?: string;
  name?: string;
}

export interface ContainerPort {
  name?: string;
  containerPort?: number;
  protocol?: string;
}

export interface Container {
  name?: string;
  image?: string;
  ports?: ContainerPort[];
}

export interface ContainerStatus {
  name?: string;
  containerID?: string;
}

export interface Pod extends KubeObject {
  spec?: { nodeName?: string; containers?: Container[]; initContainers?: Container[] };
  status?: {
    phase?: string;
    podIP?: string;
    hostIP?: string;
    conditions?: Array<{ type?: string; status?: string }>;
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
  };
}

export interface Node extends KubeObject {
  spec?: { providerID?: string };
  status?: {
    addresses?: Array<{ type?: string; address?: string }>;
    daemonEndpoints?: { kubeletEndpoint?: { Port?: number } };
  };
}

export interface ServicePort {
  name?: string;
  port?: number;
  protocol?: string;
}

export interface Service extends KubeObject {
  spec?: { ports?: ServicePort[]; type?: string; clusterIP?: string; externalName?: string; loadBalancerIP?: string };
}

export interface EndpointAddress {
  ip?: string;
  hostname?: string;
  nodeName?: string;
  targetRef?: ObjectReference;
}

export interface EndpointPort {
  name?: string;
  port?: number;
  protocol?: string;
}

export interface Endpoints extends KubeObject {
  subsets?: Array<{ addresses?: EndpointAddress[]; notReadyAddresses?: EndpointAddress[]; ports?: EndpointPort[] }>;
}

/** discovery.k8s.io/v1 and v1beta1 (v1beta1 names the topology map `topology`, v1 `deprecatedTopology`). */
export interface SliceEndpoint {
  addresses?: string[];
  conditions?: { ready?: boolean | null; serving?: boolean | null; terminating?: boolean | null };
  hostname?: string | null;
  nodeName?: string | null;
  targetRef?: ObjectReference | null;
  topology?: StringMap;
  deprecatedTopology?: StringMap;
}

export interface SlicePort {
  name?: string | null;
  port?: number | null;
  protocol?: string | null;
  appProtocol?: string | null;
}

export interface EndpointSlice extends KubeObject {
  addressType?: string;
  endpoints?: SliceEndpoint[];
  ports?: SlicePort[];
}

export interface IngressRule {
  host?: string;
  http?: { paths?: Array<{ path?: string }> } | null;
}

export interface Ingress extends KubeObject {
  spec?: { ingressClassName?: string | null; rules?: IngressRule[]; tls?: Array<{ hosts?: string[] }> };
}

/** `namespace/name` (or `name` for cluster-scoped objects), as client-go's MetaNamespaceKeyFunc. */
export function objectKey(namespace: string, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

export function nameOf(o: KubeObject): string {
  return o.metadata?.name ?? '';
}

export function namespaceOf(o: KubeObject): string {
  return o.metadata?.namespace ?? '';
}
