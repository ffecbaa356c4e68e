/**
 * The classic UI's targets page for the view. Debian's Prometheus 2.42 ships the classic UI only, rendered on the
 * server from the querier's own scrape manager, which scrapes nothing: its targets page would be empty. The front
 * door fetches the querier's page (navigation, scripts, the options bar) and adds one table per job, in the page's
 * own markup, from the coordinator's targets, with two columns Prometheus does not have: the shard(s) scraping each
 * target and the series it produces.
 */
import { escapeHtml } from './html.js';

export interface ViewTarget {
  labels: Record<string, string>;
  discoveredLabels: Record<string, string>;
  scrapePool: string;
  scrapeUrl: string;
  health: string;
  lastError: string;
  lastScrape: string;
  lastScrapeDuration: number;
  series?: number;
  shards?: string[];
}

/** "711ms ago", "3.2s ago" as the page writes them (never for a target not scraped yet). */
function ago(iso: string, now: number): string {
  const t = Date.parse(iso);
  if (!Number.isFinite(t) || t <= 0 || iso.startsWith('0001-')) return 'Never';
  const ms = Math.max(0, now - t);
  return ms < 1000 ? `${ms}ms ago` : `${(ms / 1000).toFixed(3)}s ago`;
}

const STATE_CLASS: Record<string, string> = { up: 'alert-success', down: 'alert-danger' };

function row(t: ViewTarget, now: number): string {
  const before = Object.entries(t.discoveredLabels).map(([k, v]) => `${k}=&quot;${escapeHtml(v)}&quot;`).join('<br>');
  const badges = Object.entries(t.labels).map(([k, v]) => `\n                  <span class="badge badge-primary">${escapeHtml(k)}="${escapeHtml(v)}"</span>`).join('');
  return `
          <tr>
            <td class="endpoint">
              <a href="${escapeHtml(t.scrapeUrl)}">${escapeHtml(t.scrapeUrl)}</a><br>
            </td>
            <td class="state">
              <span class="alert ${STATE_CLASS[t.health] ?? 'alert-warning'} state_indicator text-uppercase">${escapeHtml(t.health)}</span>
            </td>
            <td class="labels">
              <span class="cursor-pointer" data-toggle="tooltip" title="" data-html=true data-original-title="<b>Before relabeling:</b><br>${escapeHtml(before)}">${badges}
              </span>
            </td>
            <td class="shards">${escapeHtml((t.shards ?? []).join(', '))}</td>
            <td class="series">${t.series ?? ''}</td>
            <td class="last-scrape">${ago(t.lastScrape, now)}</td>
            <td class="scrape-duration">${(t.lastScrapeDuration * 1000).toFixed(2)}ms</td>
            <td class="errors">${t.lastError ? `<span class="alert alert-danger state_indicator">${escapeHtml(t.lastError)}</span>` : ''}</td>
          </tr>`;
}

/** The tables, one per job in name order, targets by scrape URL. */
export function targetTablesHtml(targets: readonly ViewTarget[], now: number): string {
  const jobs = new Map<string, ViewTarget[]>();
  for (const t of targets) (jobs.get(t.scrapePool) ?? jobs.set(t.scrapePool, []).get(t.scrapePool)!).push(t);
  return [...jobs.keys()].sort().map((job) => {
    const list = jobs.get(job)!.sort((a, b) => (a.scrapeUrl < b.scrapeUrl ? -1 : a.scrapeUrl > b.scrapeUrl ? 1 : 0));
    const up = list.filter((t) => t.health === 'up').length;
    const id = `job-${escapeHtml(job)}`;
    return `
    <div class="table-container">
      <h2 class="job_header">
        <a id="${id}" href="#${id}">${escapeHtml(job)} (${up}/${list.length} up)</a>
        <button type="button" class="targets expanded-table btn btn-primary">show less</button>
      </h2>
      <table class="table table-sm table-bordered table-striped table-hover">
        <thead class="job_details">
          <tr>
            <th>Endpoint</th>
            <th>State</th>
            <th>Labels</th>
            <th>Shard</th>
            <th>Series</th>
            <th>Last Scrape</th>
            <th>Scrape Duration</th>
            <th>Error</th>
          </tr>
        </thead>
        <tbody>${list.map((t) => row(t, now)).join('')}
        </tbody>
      </table>
    </div>`;
  }).join('');
}

/** The querier's page with the view's tables after its options bar; unchanged when it does not have that shape. */
export function rewriteTargetsPage(html: string, targets: readonly ViewTarget[], now: number): string {
  const body = html.lastIndexOf('</body>');
  const at = body < 0 ? -1 : html.lastIndexOf('</div>', body);
  if (at < 0 || !html.includes('<h1>Targets</h1>')) return html;
  return html.slice(0, at) + targetTablesHtml(targets, now) + '\n  ' + html.slice(at);
}
