/**
 * The kvass web console (served at /kvass/ by src/console/serve.ts): shards against their series budget, every
 * target with its shard, the coordinator's recent actions, and a what-if placement for another budget.
 *
 * Why no framework: the console is four read-only views over five small JSON answers; plain DOM calls and one
 * paged table do all of it. A framework would add a bundler, a dependency tree and a CDN or vendored copy to a
 * project whose only build tool is tsc, and would not make the one hard part (100,000 targets) faster: that is
 * solved by filtering precomputed search strings and drawing one page (targets.ts). Everything is same-origin; no
 * request leaves the server the page came from.
 */
import { getData, type ConsoleData, type ConsoleEvent, type ShardsData, type WhatIfData } from './api.js';
import { streamTargets } from './stream.js';
import { TargetsView } from './targets.js';
import { drawEvents, drawShards, drawWhatIf } from './views.js';

const VIEWS = ['shards', 'targets', 'activity', 'whatif'] as const;
type View = (typeof VIEWS)[number];
const EVENTS_LIMIT = 200;

const $ = <T extends HTMLElement>(id: string): T => {
  const e = document.getElementById(id);
  if (!e) throw new Error(`the page has no #${id}`);
  return e as T;
};

/** The status line: errors stay until their source succeeds; otherwise what is loading, or when data last came. */
class Status {
  private errors = new Map<string, string>();
  private busy = new Map<string, string>();
  private info = '';
  constructor(private readonly line: HTMLElement) {}
  start(key: string, text: string): void {
    this.busy.set(key, text);
    this.draw();
  }
  ok(key: string, info?: string): void {
    this.busy.delete(key);
    this.errors.delete(key);
    if (info !== undefined) this.info = info;
    this.draw();
  }
  fail(key: string, e: unknown): void {
    this.busy.delete(key);
    this.errors.set(key, e instanceof Error ? e.message : String(e));
    this.draw();
  }
  private draw(): void {
    const errs = [...this.errors.values()];
    this.line.classList.toggle('error', errs.length > 0);
    this.line.textContent = errs.length > 0 ? `Error: ${errs.join(' · ')}` : this.busy.size > 0 ? [...this.busy.values()].join(' · ') : this.info;
  }
}

const status = new Status($('status'));
const clock = (): string => new Date().toLocaleTimeString();

let config: ConsoleData | undefined;
let shards: ShardsData | undefined;
let eventsLoaded = false;
let current: View = 'shards';

const targets = new TargetsView({
  search: $('target-search'),
  job: $('filter-job'),
  shard: $('filter-shard'),
  health: $('filter-health'),
  transfer: $('filter-transfer'),
  sortButton: $('sort-series'),
  seriesHeader: $('series-header'),
  body: $<HTMLTableElement>('targets-table').tBodies[0]!,
  count: $('targets-count'),
  pageInfo: $('page-info'),
  first: $('page-first'),
  prev: $('page-prev'),
  next: $('page-next'),
  lastPage: $('page-last'),
});

const knownShardIds = (): string[] => (shards?.replicas ?? []).flatMap((r) => (r.shards ?? []).map((s) => s.id));
const shardCount = (): number | undefined => (shards ? new Set(knownShardIds()).size : undefined);

/** Runs one load with its status; never throws. */
async function load<T>(key: string, what: string, path: string, use: (data: T) => void): Promise<void> {
  status.start(key, `Loading ${what}…`);
  try {
    const data = await getData<T>(path);
    use(data);
    status.ok(key, `Updated ${clock()}`);
  } catch (e) {
    status.fail(key, e);
  }
}

const drawShardsView = (): void => drawShards($('bounds'), $('shards-body'), shards, config);

const loadConfig = (): Promise<void> =>
  load<ConsoleData>('console', 'the settings', '/api/v1/console', (c) => {
    config = c;
    const link = $<HTMLAnchorElement>('query-link');
    // A path on this server or an http(s) URL; null (this server has no global view) or anything else
    // (javascript:, data:) hides the link.
    const ok = typeof c.queryUrl === 'string' && /^(\/(?!\/)|https?:\/\/)/i.test(c.queryUrl);
    if (ok) {
      link.href = c.queryUrl!;
      link.removeAttribute('aria-disabled');
    } else link.removeAttribute('href');
    link.hidden = !ok;
    const budget = $<HTMLInputElement>('whatif-budget');
    if (budget.value === '') budget.value = String(c.budget);
    drawShardsView();
  });

const loadShards = (): Promise<void> =>
  load<ShardsData>('shards', 'the shards', '/api/v1/shards', (s) => {
    shards = s;
    drawShardsView();
    targets.setKnownShards(knownShardIds());
  });

/** The targets, streamed (stream.ts): the view shows the first ones while the rest arrive. One load at a time. */
let targetsLoading: Promise<void> | undefined;
const loadTargets = (): Promise<void> =>
  (targetsLoading ??= (async () => {
    document.body.dataset.targets = 'loading';
    status.start('targets', 'Loading the targets…');
    targets.beginTargets();
    try {
      const n = await streamTargets((batch) => targets.addTargets(batch));
      targets.endTargets(true);
      status.ok('targets', `Updated ${clock()}: ${n} targets`);
      document.body.dataset.targets = 'loaded';
    } catch (e) {
      targets.endTargets(false);
      status.fail('targets', e);
      document.body.dataset.targets = 'error';
    } finally {
      targetsLoading = undefined;
    }
  })());

const loadEvents = (): Promise<void> =>
  load<ConsoleEvent[]>('events', 'the activity', `/api/v1/events?limit=${EVENTS_LIMIT}`, (events) => {
    eventsLoaded = true;
    drawEvents($('events-body'), events);
  });

/** Shows `view` (tab selected, panel shown) and loads what it needs the first time. */
function select(view: View, focus = false): void {
  current = view;
  for (const v of VIEWS) {
    const tab = $(`tab-${v}`);
    tab.setAttribute('aria-selected', String(v === view));
    tab.classList.toggle('active', v === view);
    $(`view-${v}`).hidden = v !== view;
  }
  if (focus) $(`tab-${view}`).focus();
  if (location.hash !== `#${view}`) history.replaceState(null, '', `#${view}`);
  targets.visible = view === 'targets';
  if (view === 'targets') targets.show();
  if (view === 'activity' && !eventsLoaded) void loadEvents();
}

const viewOf = (hash: string): View | undefined => VIEWS.find((v) => `#${v}` === hash);

for (const v of VIEWS) {
  const tab = $(`tab-${v}`);
  tab.addEventListener('click', () => select(v));
  // Left/Right/Home/End move between the tabs, as in the ARIA tabs pattern; Tab reaches each of them too.
  tab.addEventListener('keydown', (e) => {
    const i = VIEWS.indexOf(v);
    const to = e.key === 'ArrowRight' ? (i + 1) % VIEWS.length : e.key === 'ArrowLeft' ? (i + VIEWS.length - 1) % VIEWS.length : e.key === 'Home' ? 0 : e.key === 'End' ? VIEWS.length - 1 : -1;
    if (to < 0) return;
    e.preventDefault();
    select(VIEWS[to]!, true);
  });
}
window.addEventListener('hashchange', () => {
  const v = viewOf(location.hash);
  if (v && v !== current) select(v);
});

$('refresh').addEventListener('click', () => {
  void loadConfig();
  void loadShards();
  if (current === 'targets' || targets.loaded) void loadTargets();
  if (current === 'activity' || eventsLoaded) void loadEvents();
});

$<HTMLFormElement>('whatif-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = $<HTMLInputElement>('whatif-budget');
  const budget = Number(input.value);
  if (!Number.isSafeInteger(budget) || budget < 1) {
    status.fail('whatif', new Error(`the budget must be a whole number of series above 0, not ${JSON.stringify(input.value)}`));
    input.focus();
    return;
  }
  const out = $('whatif-result');
  out.setAttribute('aria-busy', 'true');
  void load<WhatIfData>('whatif', 'the placement', `/api/v1/whatif?budget=${budget}`, (w) => drawWhatIf(out, w, shardCount())).finally(() => out.removeAttribute('aria-busy'));
});

select(viewOf(location.hash) ?? 'shards');
// Everything at once: the targets (the big answer) load in the background, so the view is ready when opened.
void loadConfig();
void loadShards();
void loadTargets();
