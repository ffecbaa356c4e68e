/**
 * The metric names the global querier holds in its own TSDB (recording rules, ALERTS, ALERTS_FOR_STATE) and the
 * names its rules will write: no shard has them, so a pushed-down query that reads them would miss them
 * (pushdown.ts falls back for it). Read in the background, never per query: the querier's label values (2.42's
 * remote-read storage answers no label query, so these are its local names) and its rules.
 */
import type { Logger } from '../logger.js';
import { QUERIER_CLIENT } from './querier.js';

const EVERY_MS = 10_000;

export class QuerierNames {
  private names: ReadonlySet<string> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly soon: NodeJS.Timeout[] = [];

  /** `querierUrl` is read at each refresh: the querier moves when another process took its port (querier.ts). */
  constructor(private readonly querierUrl: () => string, private readonly log: Logger) {}

  /** The names last read; null before the first read succeeded. */
  get current(): ReadonlySet<string> | null {
    return this.names;
  }

  start(): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), EVERY_MS);
    this.timer.unref();
  }

  /** After a reload: new rules appear once the querier has loaded them. */
  refreshSoon(): void {
    for (const ms of [0, 2000, 5000]) {
      const t = setTimeout(() => {
        this.soon.splice(this.soon.indexOf(t), 1);
        void this.refresh();
      }, ms);
      t.unref();
      this.soon.push(t);
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    for (const t of this.soon) clearTimeout(t);
  }

  async refresh(): Promise<void> {
    try {
      const opts = { timeoutMs: 10_000, maxResponseBytes: 64 << 20 };
      const base = this.querierUrl();
      const [values, rules] = await Promise.all([
        QUERIER_CLIENT.data(`${base}/api/v1/label/__name__/values`, opts),
        QUERIER_CLIENT.data(`${base}/api/v1/rules`, opts),
      ]);
      const names = new Set<string>(Array.isArray(values.data) ? values.data.filter((n): n is string => typeof n === 'string') : []);
      const groups = (rules.data as { groups?: Array<{ rules?: Array<{ type?: string; name?: string }> }> } | null)?.groups ?? [];
      for (const g of groups) {
        for (const r of g.rules ?? []) {
          if (r.type === 'recording' && typeof r.name === 'string') names.add(r.name);
          if (r.type === 'alerting') names.add('ALERTS').add('ALERTS_FOR_STATE');
        }
      }
      this.names = names;
    } catch (e) {
      this.log.debug({ err: (e as Error).message }, 'cannot read the querier\'s own metric names yet');
    }
  }
}
