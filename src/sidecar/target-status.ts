/**
 * What the sidecar knows of each assigned target from the scrapes it proxied: health, last error, timing and
 * sizes. The series figure the coordinator places targets by is smoothed: the MAXIMUM over the last
 * SERIES_WINDOW successful scrapes. A maximum (not a mean) because placement must budget for a target's peak,
 * or a shard goes over budget at every peak; a short window because a target that shrank for good should free
 * its room within a few scrapes.
 */
import type { AssignedTargetSpec, TargetStatus } from '../shard/contract.js';

export const SERIES_WINDOW = 3;

export interface ScrapeResult {
  ok: boolean;
  error: string;
  series: number;
  samples: number;
  bytes: number;
  durationMs: number;
  at: Date;
}

interface Entry {
  status: TargetStatus;
  window: number[];
}

export class TargetStatusBook {
  private readonly entries = new Map<string, Entry>();

  /** Follows a new assignment: kept targets keep their history, new ones start unknown, gone ones are forgotten. */
  assign(specs: readonly AssignedTargetSpec[], now: Date): void {
    const keep = new Set<string>();
    for (const s of specs) {
      keep.add(s.hash);
      const e = this.entries.get(s.hash);
      if (e) {
        e.status.state = s.state;
        e.status.labels = s.labels;
        continue;
      }
      this.entries.set(s.hash, {
        window: [],
        status: {
          hash: s.hash, job: s.job, labels: s.labels, state: s.state, health: 'unknown', lastError: '', lastScrape: null,
          lastScrapeDuration: 0, series: 0, lastSeries: 0, samples: 0, bytes: 0, scrapesSinceAssigned: 0, assignedAt: now.toISOString(),
        },
      });
    }
    for (const hash of [...this.entries.keys()]) if (!keep.has(hash)) this.entries.delete(hash);
  }

  record(hash: string, r: ScrapeResult): void {
    const e = this.entries.get(hash);
    if (!e) return; // unassigned while the scrape ran
    const s = e.status;
    s.lastScrape = r.at.toISOString();
    s.lastScrapeDuration = r.durationMs / 1000;
    s.bytes = r.bytes;
    s.samples = r.samples;
    if (r.ok) {
      s.health = 'up';
      s.lastError = '';
      s.lastSeries = r.series;
      e.window.push(r.series);
      if (e.window.length > SERIES_WINDOW) e.window.shift();
      s.series = Math.max(...e.window);
      s.scrapesSinceAssigned++;
    } else {
      s.health = 'down';
      s.lastError = r.error;
    }
  }

  get(hash: string): TargetStatus | undefined {
    return this.entries.get(hash)?.status;
  }

  all(): TargetStatus[] {
    return [...this.entries.values()].map((e) => ({ ...e.status }));
  }

  /** Sum of the smoothed series of all assigned targets. */
  totalSeries(): number {
    let n = 0;
    for (const e of this.entries.values()) n += e.status.series;
    return n;
  }
}
