/** Helpers for kvass's own prom-client metrics, shared by its processes. */
import type { Counter, Gauge } from 'prom-client';

/**
 * Keeps `lastOk` (a `*_last_reload_successful` gauge, as Prometheus has) at 1 after `counter` counts a `success`
 * and at 0 after a `failure`, so that the code counting results needs to know nothing of the gauge. It starts at 1.
 */
export function trackLastResult(counter: Counter<'result'>, lastOk: Gauge): void {
  const inc = counter.inc.bind(counter) as (labels?: unknown, value?: number) => void;
  lastOk.set(1);
  counter.inc = ((labels?: unknown, value?: number): void => {
    inc(labels, value);
    const result = typeof labels === 'object' && labels !== null ? (labels as { result?: unknown }).result : undefined;
    if (result === 'success') lastOk.set(1);
    else if (result === 'failure') lastOk.set(0);
  }) as Counter<'result'>['inc'];
}
