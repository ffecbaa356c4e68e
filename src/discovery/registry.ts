/** Every `*_sd_configs` key Prometheus 2.42 knows, and the mechanisms kvass runs. */
import { staticSd } from './static.js';
import { fileSd } from './file.js';
import { httpSd } from './http.js';
import { dnsSd } from './dns.js';
import { kubernetesSd } from './kubernetes/index.js';
import type { SdMechanism } from './types.js';

/** Prometheus 2.42's discovery/install set: recognised in configs so that an unsupported one gets a clear error, not "unknown field". */
export const ALL_SD_KEYS = [
  'static_configs', 'file_sd_configs', 'http_sd_configs', 'dns_sd_configs', 'kubernetes_sd_configs',
  'azure_sd_configs', 'consul_sd_configs', 'digitalocean_sd_configs', 'docker_sd_configs', 'dockerswarm_sd_configs',
  'ec2_sd_configs', 'eureka_sd_configs', 'gce_sd_configs', 'hetzner_sd_configs', 'ionos_sd_configs', 'kuma_sd_configs',
  'lightsail_sd_configs', 'linode_sd_configs', 'marathon_sd_configs', 'nerve_sd_configs', 'nomad_sd_configs',
  'openstack_sd_configs', 'ovhcloud_sd_configs', 'puppetdb_sd_configs', 'scaleway_sd_configs', 'serverset_sd_configs',
  'triton_sd_configs', 'uyuni_sd_configs', 'vultr_sd_configs',
] as const;

export const SD_MECHANISMS: ReadonlyMap<string, SdMechanism> = new Map(
  ([staticSd, fileSd, httpSd, dnsSd, kubernetesSd] as SdMechanism<any>[]).map((m) => [m.key, m as SdMechanism]),
);

export const SUPPORTED_SD_KEYS = [...SD_MECHANISMS.keys()];
