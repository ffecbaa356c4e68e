/**
 * The console's page and style sheet, as constants: the page is a fixed shell (tabs, the targets filters, the
 * what-if form) that the browser code (src/console/web/, compiled to dist/console/) fills from the JSON API.
 * No framework, no CDN, nothing fetched from elsewhere (see web/app.ts for why); the Content-Security-Policy that
 * serve.ts sends with the page holds the page to that.
 */

export const CONSOLE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>kvass console</title>
<link rel="stylesheet" href="console.css">
<script type="module" src="app.js"></script>
<link rel="modulepreload" href="api.js"><link rel="modulepreload" href="stream.js"><link rel="modulepreload" href="targets.js"><link rel="modulepreload" href="views.js"><link rel="modulepreload" href="table.js">
</head>
<body>
<a class="skip" href="#main">Skip to the view</a>
<header class="top">
  <h1>kvass <span class="sub">console</span></h1>
  <div role="tablist" aria-label="Console views" class="tabs">
    <button type="button" role="tab" id="tab-shards" aria-controls="view-shards" aria-selected="true">Shards</button>
    <button type="button" role="tab" id="tab-targets" aria-controls="view-targets" aria-selected="false">Targets</button>
    <button type="button" role="tab" id="tab-activity" aria-controls="view-activity" aria-selected="false">Activity</button>
    <button type="button" role="tab" id="tab-whatif" aria-controls="view-whatif" aria-selected="false">What if</button>
  </div>
  <div class="actions">
    <a id="query-link" aria-disabled="true">Query the global view</a>
    <button type="button" id="refresh">Refresh</button>
  </div>
</header>
<p id="status" class="status" role="status" aria-live="polite">Loading…</p>
<main id="main">
<section id="view-shards" role="tabpanel" aria-labelledby="tab-shards" tabindex="-1">
  <h2>Shards</h2>
  <dl id="bounds" class="facts"></dl>
  <div id="shards-body"></div>
</section>

<section id="view-targets" role="tabpanel" aria-labelledby="tab-targets" tabindex="-1" hidden>
  <h2>Targets</h2>
  <form class="filters" role="search" aria-label="Filter the targets">
    <label class="grow">Search <input id="target-search" type="search" placeholder="address, job or label=&quot;value&quot;" autocomplete="off" spellcheck="false" aria-describedby="search-help"></label>
    <label>Job <select id="filter-job"><option value="">All jobs</option></select></label>
    <label>Shard <select id="filter-shard"><option value="">All shards</option></select></label>
    <label>Health <select id="filter-health">
      <option value="">Any health</option><option value="up">up</option><option value="down">down</option><option value="unknown">unknown</option>
    </select></label>
    <label class="check"><input id="filter-transfer" type="checkbox"> Only in transfer</label>
  </form>
  <p id="search-help" class="help">Every word must occur in the job, the address or a label (written <code>name="value"</code>); case does not matter.</p>
  <p id="targets-count" class="count">Loading the targets…</p>
  <div class="table-wrap">
    <table id="targets-table" class="grid">
      <caption class="visually-hidden">Targets, one page</caption>
      <thead><tr>
        <th scope="col">Job</th><th scope="col">Address</th><th scope="col">Labels</th>
        <th scope="col" id="series-header" aria-sort="none"><button type="button" id="sort-series" class="sort">Series <span class="sort-mark" aria-hidden="true">↕</span></button></th>
        <th scope="col">Shard</th><th scope="col">Health</th><th scope="col">Last scrape</th><th scope="col">Last error</th>
      </tr></thead>
      <tbody></tbody>
    </table>
  </div>
  <nav class="pager" aria-label="Pages of targets">
    <button type="button" id="page-first">First</button>
    <button type="button" id="page-prev">Previous</button>
    <span id="page-info"></span>
    <button type="button" id="page-next">Next</button>
    <button type="button" id="page-last">Last</button>
  </nav>
</section>

<section id="view-activity" role="tabpanel" aria-labelledby="tab-activity" tabindex="-1" hidden>
  <h2>Activity</h2>
  <p class="help">What the coordinator did: scaling, moves between shards, finished transfers, reloads.</p>
  <div id="events-body"><p class="muted">Loading…</p></div>
</section>

<section id="view-whatif" role="tabpanel" aria-labelledby="tab-whatif" tabindex="-1" hidden>
  <h2>What if</h2>
  <p class="help">How the real planner would place today's measured targets with another series budget per shard. Nothing changes.</p>
  <form id="whatif-form" class="filters">
    <label>Series budget per shard <input id="whatif-budget" type="number" min="1" step="1" inputmode="numeric" required></label>
    <button type="submit" id="whatif-go">Compute the placement</button>
  </form>
  <div id="whatif-result" aria-live="polite"></div>
</section>
</main>
</body>
</html>
`;

export const CONSOLE_CSS = `:root {
  --fg: #1a1a1a; --muted: #555; --bg: #fff; --panel: #f4f5f7; --line: #c9ccd1; --accent: #0b57a4;
  --ok: #1a6b2a; --bad: #a4161a; --warn: #8a5200; --bar: #2f6fb3; --bar-high: #b86e00; --bar-over: #b3261e;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--fg); background: var(--bg);
}
* { box-sizing: border-box; }
body { margin: 0; }
a { color: var(--accent); }
a[aria-disabled="true"] { color: var(--muted); }
:focus-visible { outline: 3px solid #f0a500; outline-offset: 2px; }
.skip { position: absolute; left: -9999px; top: 0; background: var(--bg); padding: .5em; z-index: 1; }
.skip:focus { left: .5em; }
.top { display: flex; flex-wrap: wrap; align-items: center; gap: .5em 1.5em; padding: .6em 1em; background: #1d2a3a; color: #fff; }
.top h1 { font-size: 1.2em; margin: 0; }
.top .sub { font-weight: normal; opacity: .85; }
.top a { color: #cfe3ff; }
.tabs { display: flex; flex-wrap: wrap; gap: .25em; }
.tabs [role="tab"] { font: inherit; background: transparent; color: #fff; border: 1px solid transparent; border-radius: 4px; padding: .35em .8em; cursor: pointer; }
.tabs [role="tab"]:hover { border-color: #8aa2bf; }
.tabs [role="tab"][aria-selected="true"] { background: #fff; color: #1d2a3a; font-weight: 600; }
.actions { display: flex; align-items: center; gap: 1em; margin-left: auto; }
button { font: inherit; padding: .3em .8em; border: 1px solid #767a80; border-radius: 4px; background: #fff; color: var(--fg); cursor: pointer; }
button:disabled { color: #6b6b6b; border-color: #bbb; cursor: default; }
.status { margin: 0; padding: .4em 1em; background: var(--panel); border-bottom: 1px solid var(--line); min-height: 2.2em; }
.status.error { background: #fde8e8; color: var(--bad); font-weight: 600; border-bottom-color: var(--bad); }
main { padding: 0 1em 2em; max-width: 1600px; }
h2 { font-size: 1.15em; margin: 1em 0 .5em; }
.help, .muted { color: var(--muted); }
.help { margin: .3em 0; font-size: .92em; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2em 1em; margin: 0 0 1em; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; font-weight: 600; }
.filters { display: flex; flex-wrap: wrap; gap: .6em 1em; align-items: flex-end; margin: .5em 0; }
.filters label { display: flex; flex-direction: column; font-size: .9em; color: var(--muted); gap: .15em; }
.filters label.grow { flex: 1 1 16em; }
.filters label.check { flex-direction: row; align-items: center; gap: .4em; color: var(--fg); }
input, select { font: inherit; color: var(--fg); padding: .3em .4em; border: 1px solid #767a80; border-radius: 4px; background: #fff; min-width: 0; }
.count { margin: .4em 0; font-weight: 600; }
.table-wrap { overflow-x: auto; }
table.grid { border-collapse: collapse; width: 100%; margin-bottom: 1em; }
table.grid caption { text-align: left; font-weight: 600; padding: .3em 0; }
table.grid th, table.grid td { text-align: left; padding: .35em .6em; border-bottom: 1px solid var(--line); vertical-align: top; }
table.grid thead th { background: var(--panel); white-space: nowrap; }
table.grid td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.grid td.labels, td.addr { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .85em; overflow-wrap: anywhere; }
table.grid td.addr, table.grid td.shards, table.grid td.shard-id { white-space: nowrap; overflow-wrap: normal; }
td.labels { max-width: 32em; }
td.err { color: var(--bad); overflow-wrap: anywhere; max-width: 24em; }
td.when { white-space: nowrap; font-size: .9em; }
tr.transfer { background: #fff8e6; }
tr.failed { background: #fdeeee; }
.sort { border: none; background: none; padding: 0; font-weight: 600; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.badge { display: inline-block; margin-left: .4em; padding: 0 .45em; border-radius: 3px; font-size: .82em; border: 1px solid currentColor; }
.badge-transfer { color: var(--warn); font-weight: 600; }
.badge-kind { margin-left: 0; color: #1d2a3a; }
.health { font-weight: 600; }
.health-up, .ok { color: var(--ok); }
.health-down, .bad { color: var(--bad); }
.health-unknown { color: var(--muted); }
.bar { display: flex; align-items: center; gap: .6em; min-width: 14em; }
.bar-track { flex: 0 0 10em; height: .8em; background: #e3e6ea; border: 1px solid #9aa0a8; border-radius: 2px; overflow: hidden; }
.bar-fill { height: 100%; background: var(--bar); }
.bar-high .bar-fill { background: var(--bar-high); }
.bar-over .bar-fill { background: var(--bar-over); }
.bar-over .bar-text { color: var(--bad); font-weight: 600; }
.bar-text { white-space: nowrap; font-variant-numeric: tabular-nums; }
.pager { display: flex; flex-wrap: wrap; align-items: center; gap: .5em; }
.whatif-summary { font-size: 1.05em; }
@media (max-width: 760px) {
  .actions { margin-left: 0; }
  .bar-track { flex-basis: 5em; }
  .bar { min-width: 0; flex-wrap: wrap; }
  table.grid thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  table.grid, table.grid tbody, table.grid tr, table.grid td { display: block; width: 100%; }
  table.grid caption { display: block; }
  table.grid tr { border: 1px solid var(--line); border-radius: 4px; margin-bottom: .6em; padding: .3em 0; }
  table.grid td { border: none; padding: .15em .6em; max-width: none; white-space: normal; }
  table.grid td.num { text-align: left; }
  #targets-table thead { position: static; width: auto; height: auto; overflow: visible; clip: auto; display: block; }
  #targets-table thead tr { display: block; border: none; margin: 0; }
  #targets-table thead th { display: none; }
  #targets-table thead th#series-header { display: block; background: none; border: none; padding: .2em 0; }
  table.grid td[data-label]::before { content: attr(data-label) ": "; color: var(--muted); font-family: system-ui, sans-serif; font-size: .9rem; }
}
`;
