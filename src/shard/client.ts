/**
 * The coordinator's calls to one shard's sidecar API (docs/sidecar-api.md; the types and their checks are the
 * contract's, contract.ts). Every call is bounded in time and size and carries kvass's credential (http/client.ts);
 * an answer that does not match the contract is an error of this shard, never of the coordinator's cycle.
 */
import type { ApiClient } from '../http/client.js';
import { readRuntimeInfo, readTargetStatusDelta, type AssignedTargetSpec, type AssignmentChange, type RuntimeInfo, type TargetStatusDelta } from './contract.js';

/** What the shard client needs of kvass's HTTP client: calls answered in Prometheus's envelope. */
export type EnvelopeClient = Pick<ApiClient, 'data'>;

/** Sidecar answers are small (a target list is ~1 KiB per target): 256 MiB covers 200k targets. */
const MAX_ANSWER = 256 << 20;

export class ShardClient {
  constructor(readonly apiUrl: string, private readonly client: EnvelopeClient, private readonly timeoutMs = 5000) {}

  private url(path: string): string {
    return this.apiUrl.replace(/\/+$/, '') + path;
  }

  async runtimeInfo(): Promise<RuntimeInfo> {
    return readRuntimeInfo((await this.client.data(this.url('/api/v1/shard/runtimeinfo'), { timeoutMs: this.timeoutMs, maxResponseBytes: MAX_ANSWER })).data);
  }

  /**
   * The statuses changed since `version` (an earlier answer's), or all of them (contract.ts TargetStatusDelta),
   * without their labels (the coordinator has its own; a sidecar that does not know `labels=false` sends them).
   * `runtime`: with the shard's runtime info in the same answer (`runtime`; absent from a sidecar that does not
   * know it), so that a cycle costs one call per sidecar instead of two.
   */
  async targetsSince(version: string | undefined, runtime = false): Promise<TargetStatusDelta> {
    const query = (version === undefined ? '?labels=false' : `?since=${encodeURIComponent(version)}&labels=false`) + (runtime ? '&runtime=true' : '');
    return readTargetStatusDelta((await this.client.data(this.url(`/api/v1/shard/targets${query}`), { timeoutMs: this.timeoutMs, maxResponseBytes: MAX_ANSWER })).data);
  }

  /** Replaces the whole assignment; resolves to the new assignmentVersion (undefined from an older sidecar). */
  async assign(targets: AssignedTargetSpec[]): Promise<string | undefined> {
    return this.post({ targets });
  }

  /** Applies a change to the assignment at `change.base`; a CallError with status 409 when it is no longer there. */
  async changeAssignment(change: AssignmentChange): Promise<string | undefined> {
    return this.post(change);
  }

  private async post(body: unknown): Promise<string | undefined> {
    const r = await this.client.data(this.url('/api/v1/shard/targets'), { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' }, timeoutMs: this.timeoutMs, maxResponseBytes: MAX_ANSWER });
    const v = (r.data as { version?: unknown } | null)?.version;
    return typeof v === 'string' ? v : undefined;
  }

  async pushConfig(text: string): Promise<void> {
    await this.client.data(this.url('/api/v1/shard/config'), { method: 'POST', body: text, headers: { 'content-type': 'application/yaml' }, timeoutMs: this.timeoutMs, maxResponseBytes: 1 << 20 });
  }
}
