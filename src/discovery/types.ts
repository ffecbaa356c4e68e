/** The contract between service discovery mechanisms and the rest of kvass (Prometheus's discovery.Discoverer). */
import type { Labels } from '../prom/labels.js';
import { compactLabels } from '../prom/compact-labels.js';
import type { YamlPath } from '../prom/errors.js';
import type { Logger } from '../logger.js';

/** Targets found by one source: each target's labels plus labels common to the group (target labels win). */
export interface TargetGroup {
  /** Unique within its discoverer; a later group with the same source replaces the earlier one. */
  source: string;
  targets: Labels[];
  labels: Labels;
}

/**
 * A group whose label sets were built name by name (the Kubernetes discoverer's), made compact for the time
 * discovery holds it (prom/compact-labels.ts), in a new targets array. Sets that JSON.parse built (file and HTTP
 * discovery) are compact already: copying them would only cost time.
 */
export function compactGroup(g: TargetGroup): TargetGroup {
  g.labels = compactLabels(g.labels);
  g.targets = g.targets.map(compactLabels);
  return g;
}

export interface DiscoveryContext {
  readonly signal: AbortSignal;
  readonly logger: Logger;
  /**
   * Reports groups. Each group replaces the discoverer's earlier group with the same source;
   * a group with no targets clears it. The first call must carry the full initial set (possibly empty).
   */
  emit(groups: TargetGroup[]): void;
  /** A failed refresh or watch. The discoverer keeps running (retrying) and its last good groups stay in force. */
  fail(err: Error): void;
}

export interface Discoverer {
  /** Runs until `ctx.signal` aborts; never rejects for a failed refresh (that goes to `ctx.fail`). */
  run(ctx: DiscoveryContext): Promise<void>;
}

/** What an SD config reader needs besides the raw value. */
export interface SdReadContext {
  /** Folder of the configuration file: relative paths (file_sd files, TLS files, credentials) resolve against it. */
  configDir: string;
  jobName: string;
}

/** One `*_sd_configs` mechanism: how to read its config entries and how to run them. */
export interface SdMechanism<C = unknown> {
  /** The YAML key, e.g. `file_sd_configs`. */
  key: string;
  /** Validates one list entry (unknown fields, required fields, bad values) and throws ConfigError with the path. */
  read(raw: unknown, path: YamlPath, ctx: SdReadContext): C;
  create(cfg: C, ctx: SdReadContext): Discoverer;
}
