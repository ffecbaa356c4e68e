/** The few calls the sidecar makes to its own Prometheus: readiness, config reload, head series. */

export class PrometheusClient {
  constructor(readonly baseUrl: string, private readonly timeoutMs = 5000) {}

  private url(path: string): string {
    return this.baseUrl.replace(/\/+$/, '') + path;
  }

  async ready(): Promise<boolean> {
    try {
      const res = await fetch(this.url('/-/ready'), { signal: AbortSignal.timeout(this.timeoutMs) });
      await res.body?.cancel();
      return res.ok;
    } catch {
      return false;
    }
  }

  /** POST /-/reload (needs --web.enable-lifecycle). Throws with Prometheus's message when the reload fails. */
  async reload(): Promise<void> {
    const res = await fetch(this.url('/-/reload'), { method: 'POST', signal: AbortSignal.timeout(60_000) });
    const body = await res.text();
    if (!res.ok) throw new Error(`reload answered ${res.status}: ${body.trim()}`);
  }

  /** Series in the head block, from /api/v1/status/tsdb. */
  async headSeries(): Promise<number> {
    const res = await fetch(this.url('/api/v1/status/tsdb'), { signal: AbortSignal.timeout(this.timeoutMs) });
    if (!res.ok) throw new Error(`/api/v1/status/tsdb answered ${res.status}`);
    const body = (await res.json()) as { data?: { headStats?: { numSeries?: number } } };
    const n = body.data?.headStats?.numSeries;
    if (typeof n !== 'number') throw new Error('/api/v1/status/tsdb: no data.headStats.numSeries');
    return n;
  }
}
