/** The coordinator's calls to one shard's sidecar API (docs/sidecar-api.md; the types are the contract's, contract.ts). */
import type { AssignedTargetSpec, RuntimeInfo, TargetStatus } from './contract.js';

export class ShardClient {
  constructor(readonly apiUrl: string, private readonly token?: string, private readonly timeoutMs = 5000) {}

  private async call<T>(method: string, path: string, body?: string, contentType = 'application/json'): Promise<T> {
    const headers: Record<string, string> = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = contentType;
    const res = await fetch(this.apiUrl.replace(/\/+$/, '') + path, { method, headers, body, signal: AbortSignal.timeout(this.timeoutMs) });
    const text = await res.text();
    let parsed: { status?: string; data?: T; error?: string };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      throw new Error(`${method} ${path}: ${res.status}, not JSON: ${text.slice(0, 200)}`);
    }
    if (!res.ok || parsed.status !== 'success') throw new Error(`${method} ${path}: ${res.status}: ${parsed.error ?? text.slice(0, 200)}`);
    return parsed.data as T;
  }

  runtimeInfo(): Promise<RuntimeInfo> {
    return this.call('GET', '/api/v1/shard/runtimeinfo');
  }

  async targets(): Promise<TargetStatus[]> {
    return (await this.call<{ targets: TargetStatus[] }>('GET', '/api/v1/shard/targets')).targets;
  }

  async assign(targets: AssignedTargetSpec[]): Promise<void> {
    await this.call('POST', '/api/v1/shard/targets', JSON.stringify({ targets }));
  }

  async pushConfig(text: string): Promise<void> {
    await this.call('POST', '/api/v1/shard/config', text, 'application/yaml');
  }
}
