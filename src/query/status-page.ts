/**
 * The web UI's status page with the view's TSDB statistics. Debian's Prometheus 2.42 ships the classic UI only, whose
 * pages are rendered on the server from the querier's own state, not from the API: its "Head Stats" would show the
 * querier's nearly empty head. The front door fetches the querier's page and replaces that section, from its
 * `Head Stats` heading to the end of its last table, with the same markup filled from the merged status
 * (merged-api.ts). Everything else on the page (runtime, build, flags) is the querier's.
 */
import { escapeHtml } from './html.js';
import type { TsdbStatus, TsdbStat } from './api-merge.js';

const HEAD = '<h2 id="headstatus">Head Stats</h2>';
const LAST = 'Most Common Label Pairs';

/** A time as Go's Time.String() prints it in UTC (the page's own format), then the milliseconds. */
function goTime(ms: number): string {
  const d = new Date(ms);
  if (!Number.isFinite(ms) || Number.isNaN(d.getTime())) return String(ms);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000 UTC (${ms})`;
}

function table(title: string, unit: string, rows: readonly TsdbStat[]): string {
  const body = rows.map((r) => `\n        <tr>\n          <td scope="row">${escapeHtml(r.name)}</td>\n          <td>${r.value}</td>\n        </tr>`).join('');
  return `\n    <h3 id="headstatus">${title}</h3>\n    <table class="table table-sm table-bordered table-striped table-hover">\n      <tbody>\n        <tr>\n           <th>Name</th>\n           <th>${unit}</th>\n        </tr>${body}\n      </tbody>\n    </table>`;
}

/** The section as the classic page writes it, for the view. */
export function headStatsHtml(s: TsdbStatus): string {
  const h = s.headStats;
  const empty = h.minTime > h.maxTime;
  return `${HEAD}
    <table class="table table-sm table-bordered table-striped table-hover">
      <tbody>
        <tr>
           <th>Number Of Series </th>
           <th>Number of Chunks</th>
           <th>Current Min Time</th>
           <th>Current Max Time</th>
        </tr>
        <tr>
          <td scope="row">${h.numSeries}</td>
          <td>${h.chunkCount}</td>
          <td>${empty ? '' : escapeHtml(goTime(h.minTime))}</td>
          <td>${empty ? '' : escapeHtml(goTime(h.maxTime))}</td>
        </tr>
      </tbody>
    </table>
    <div>Summed over every shard and store of the view by kvass.</div>` +
    table('Highest Cardinality Labels ', 'Count', s.labelValueCountByLabelName) +
    table('Highest Cardinality Metric Names', 'Count', s.seriesCountByMetricName) +
    table('Label Names With Highest Cumulative Label Value Length', 'Length', s.memoryInBytesByLabelName) +
    table(LAST, 'Count', s.seriesCountByLabelValuePair.map((p) => ({ name: p.name, value: p.value })));
}

/** The page with its head section replaced; the page unchanged when it does not have the expected shape. */
export function rewriteStatusPage(html: string, s: TsdbStatus): string {
  const from = html.indexOf(HEAD);
  const last = html.indexOf(LAST, from);
  const to = last < 0 ? -1 : html.indexOf('</table>', last);
  if (from < 0 || to < 0) return html;
  return html.slice(0, from) + headStatsHtml(s) + html.slice(to + '</table>'.length);
}
