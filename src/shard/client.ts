/**
 * The coordinator's calls to one shard's sidecar API (docs/sidecar-api.md; the types and their checks are the
 * contract's, contract.ts). Every call is bounded in time and size and carries kvass's credential (http/client.ts);
 * an answer that does not match the contract is an error of this shard, never of the coordinator's cycle.
 */
import type { ApiClient } from '../http/client.js';
import { readRuntimeInfo, readTargetStatuses, type AssignedTargetSpec, type RuntimeInfo, type TargetStatus } from './contract.js';

/** Sidecar answers are small (a target list is ~1 KiB per target): 256 MiB covers 200k targets. */
const MAX_ANSWER = 256 << 20;

export class ShardClient {
  constructor(readonly apiUrl: string, private readonly client: ApiClient, private readonly timeoutMs = 5000) {}

  private url(path: string): string {
    return this.apiUrl.replace(/\/+$/, '') + path;
  }

  async runtimeInfo(): Promise<RuntimeInfo> {
    return readRuntimeInfo((await this.client.data(this.url('/api/v1/shard/runtimeinfo'), { timeoutMs: this.timeoutMs, maxResponseBytes: MAX_ANSWER })).data);
  }

  async targets(): Promise<TargetStatus[]> {
    return readTargetStatuses((await this.client.data(this.url('/api/v1/shard/targets'), { timeoutMs: this.timeoutMs, maxResponseBytes: MAX_ANSWER })).data);
  }

  async assign(targets: AssignedTargetSpec[]): Promise<void> {
    await this.client.data(this.url('/api/v1/shard/targets'), { method: 'POST', body: JSON.stringify({ targets }), headers: { 'content-type': 'application/json' }, timeoutMs: this.timeoutMs, maxResponseBytes: MAX_ANSWER });
  }

  async pushConfig(text: string): Promise<void> {
    await this.client.data(this.url('/api/v1/shard/config'), { method: 'POST', body: text, headers: { 'content-type': 'application/yaml' }, timeoutMs: this.timeoutMs, maxResponseBytes: 1 << 20 });
  }
}
