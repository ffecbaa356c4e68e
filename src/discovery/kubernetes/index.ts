/** kubernetes_sd_configs: Prometheus 2.42's Kubernetes service discovery. */
import type { SdMechanism } from '../types.js';
import { readKubernetesSdConfig, type KubernetesSdConfig } from './config.js';
import { KubernetesDiscovery } from './discovery.js';

export type { KubernetesSdConfig, Role, SelectorConfig } from './config.js';
export { readKubernetesSdConfig } from './config.js';
export { KubernetesDiscovery, type KubernetesDiscoveryOptions } from './discovery.js';

export const kubernetesSd: SdMechanism<KubernetesSdConfig> = {
  key: 'kubernetes_sd_configs',
  read: (raw, path, ctx) => readKubernetesSdConfig(raw, path, ctx.configDir),
  create: (cfg) => new KubernetesDiscovery(cfg),
};
