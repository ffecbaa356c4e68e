/**
 * The classic web UI's pages that Prometheus renders on the server from its own state (Debian's 2.42 has no other
 * UI), shown for the view: the front door fetches the querier's page and fills in what the querier cannot know.
 * - /classic/status: the head statistics of every shard and store (status-page.ts);
 * - /classic/targets: every target of the coordinator with its shard and series (targets-page.ts);
 * - /classic/config: the original configuration, secrets masked, instead of the querier's generated one.
 * The graph, alerts and rules pages need nothing: they query the view or run the original rules.
 */
import { escapeHtml } from './html.js';
import type { ServerResponse } from 'node:http';
import { QUERIER_CLIENT } from './querier.js';
import { sendText } from '../http/respond.js';
import { rewriteStatusPage } from './status-page.js';
import { rewriteTargetsPage, type ViewTarget } from './targets-page.js';
import type { TsdbStatus } from './api-merge.js';

export const CLASSIC_PAGES: ReadonlySet<string> = new Set(['/classic/status', '/classic/targets', '/classic/config']);

export interface ClassicUiOptions {
  querierUrl: string;
  /** The view's TSDB status (merged-api.ts). */
  tsdbStatus: () => Promise<TsdbStatus>;
  /** The coordinator's active targets; none without a coordinator. */
  targets: () => Promise<ViewTarget[]>;
  /** The original configuration as /api/v1/status/config prints it; undefined: the querier's page as it is. */
  configYaml: () => string | undefined;
}

/** The configuration page with `yaml` in its `<pre id="config_yaml">`. */
export function rewriteConfigPage(html: string, yaml: string): string {
  const open = '<pre id="config_yaml">';
  const from = html.indexOf(open);
  const to = from < 0 ? -1 : html.indexOf('</pre>', from);
  if (to < 0) return html;
  return html.slice(0, from + open.length) + escapeHtml(yaml) + html.slice(to);
}

export async function serveClassicPage(path: string, res: ServerResponse, o: ClassicUiOptions): Promise<void> {
  const page = await QUERIER_CLIENT.call(`${o.querierUrl}${path}`, { timeoutMs: 60_000, maxResponseBytes: 64 << 20 });
  if (page.status !== 200) return sendText(res, page.status, page.body.toString('utf8'));
  const html = page.body.toString('utf8');
  let out = html;
  if (path === '/classic/status') out = rewriteStatusPage(html, await o.tsdbStatus());
  else if (path === '/classic/targets') out = rewriteTargetsPage(html, await o.targets(), Date.now());
  else {
    const yaml = o.configYaml();
    if (yaml !== undefined) out = rewriteConfigPage(html, yaml);
  }
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(out);
}
