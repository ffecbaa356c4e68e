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

  /**
   * Series in the head block, from Prometheus's own `prometheus_tsdb_head_series` on its /metrics. Not from
   * /api/v1/status/tsdb: that call also computes the head's cardinality lists, which Prometheus then keeps for 5
   * minutes, so polling it would leave the view's TSDB status showing lists from a shard's first, emptier minutes.
   */
  async headSeries(): Promise<number> {
    const res = await fetch(this.url('/metrics'), { signal: AbortSignal.timeout(this.timeoutMs) });
    if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
    const line = /^prometheus_tsdb_head_series (\S+)$/m.exec(await res.text());
    const n = Number(line?.[1]);
    if (!line || !Number.isFinite(n)) throw new Error('/metrics: no prometheus_tsdb_head_series');
    return n;
  }
}
