/**
 * The Targets view, built for 100,000 targets: each target is reduced once, when the list arrives, to a row with a
 * lowercase search string (job, address, every final label as `name="value"`); a filter is then one pass over the
 * rows (or over the previous result when the search only grew), and only one page of 100 rows is ever in the DOM.
 * The series orders are sorted once, on first use, and filtering walks them, so sorting costs nothing per keystroke.
 */
import type { Target } from './api.js';
import { cell, el, naturalCompare, timeEl } from './table.js';

export const PAGE_SIZE = 100;
const HEALTH = new Set(['up', 'down', 'unknown']);

export interface Row {
  t: Target;
  job: string;
  instance: string;
  health: string;
  /** The measured series; -1 when the target has none yet. */
  series: number;
  shards: readonly string[];
  /** Lowercase: job, address and every final label, separated by newlines (no search term can span two). */
  search: string;
}

export type Sort = 'none' | 'desc' | 'asc';

export interface Filter {
  /** Words (lowercase) that must all occur in the row's search string. */
  words: readonly string[];
  job: string;
  shard: string;
  health: string;
  transfer: boolean;
  sort: Sort;
}

const sameExceptWords = (a: Filter, b: Filter): boolean => a.job === b.job && a.shard === b.shard && a.health === b.health && a.transfer === b.transfer && a.sort === b.sort;

/** The rows of one targets list (appended to as it arrives), its jobs and shards with counts, the sort orders and the filter. */
export class TargetIndex {
  readonly rows: Row[] = [];
  private readonly jobCounts = new Map<string, number>();
  private readonly shardCounts = new Map<string, number>();
  private orders = new Map<Sort, Int32Array>();
  private last?: { f: Filter; result: Int32Array };

  constructor(targets: readonly Target[] = []) {
    this.append(targets);
  }

  append(targets: readonly Target[]): void {
    const { rows, jobCounts, shardCounts } = this;
    for (const t of targets) {
      const labels = t.labels ?? {};
      const job = t.scrapePool ?? labels.job ?? '';
      const instance = labels.instance ?? t.discoveredLabels?.__address__ ?? '';
      let search = `${job}\n${instance}`;
      for (const k in labels) search += `\n${k}="${labels[k]}"`;
      const ids = Array.isArray(t.shards) ? t.shards : [];
      rows.push({
        t,
        job,
        instance,
        health: HEALTH.has(t.health) ? t.health : 'unknown',
        series: typeof t.series === 'number' && Number.isFinite(t.series) ? t.series : -1,
        shards: ids,
        search: search.toLowerCase(),
      });
      jobCounts.set(job, (jobCounts.get(job) ?? 0) + 1);
      for (const id of ids) shardCounts.set(id, (shardCounts.get(id) ?? 0) + 1);
    }
    if (targets.length > 0) {
      this.orders.clear();
      this.last = undefined;
    }
  }

  get jobs(): Array<[string, number]> {
    return [...this.jobCounts].sort((a, b) => naturalCompare(a[0], b[0]));
  }

  get shards(): Array<[string, number]> {
    return [...this.shardCounts].sort((a, b) => naturalCompare(a[0], b[0]));
  }

  /** The row numbers in `sort` order (ties keep the list's order). */
  order(sort: Sort): Int32Array {
    let o = this.orders.get(sort);
    if (!o) {
      o = new Int32Array(this.rows.length);
      for (let i = 0; i < o.length; i++) o[i] = i;
      const rows = this.rows;
      if (sort === 'desc') o.sort((a, b) => rows[b]!.series - rows[a]!.series || a - b);
      else if (sort === 'asc') o.sort((a, b) => rows[a]!.series - rows[b]!.series || a - b);
      this.orders.set(sort, o);
    }
    return o;
  }

  /** The row numbers that pass `f`, in its sort order. */
  filter(f: Filter): Int32Array {
    const last = this.last;
    // A narrower search (each word contains the previous one, maybe more words) only removes rows: search the last result.
    const narrower = last !== undefined && sameExceptWords(last.f, f) && last.f.words.length <= f.words.length && last.f.words.every((w, i) => f.words[i]!.includes(w));
    const from = narrower ? last.result : this.order(f.sort);
    const out = new Int32Array(from.length);
    let n = 0;
    const rows = this.rows;
    const { words, job, shard, health, transfer } = f;
    const nw = words.length;
    outer: for (let k = 0; k < from.length; k++) {
      const i = from[k]!;
      const r = rows[i]!;
      if (job !== '' && r.job !== job) continue;
      if (health !== '' && r.health !== health) continue;
      if (transfer && r.shards.length < 2) continue;
      if (shard !== '' && !r.shards.includes(shard)) continue;
      for (let w = 0; w < nw; w++) if (!r.search.includes(words[w]!)) continue outer;
      out[n++] = i;
    }
    const result = out.slice(0, n);
    this.last = { f, result };
    return result;
  }
}

/** The controls and table of the Targets view (their markup is in assets.ts). */
export interface TargetsDom {
  search: HTMLInputElement;
  job: HTMLSelectElement;
  shard: HTMLSelectElement;
  health: HTMLSelectElement;
  transfer: HTMLInputElement;
  sortButton: HTMLButtonElement;
  seriesHeader: HTMLTableCellElement;
  body: HTMLTableSectionElement;
  count: HTMLElement;
  pageInfo: HTMLElement;
  first: HTMLButtonElement;
  prev: HTMLButtonElement;
  next: HTMLButtonElement;
  lastPage: HTMLButtonElement;
}

const NEXT_SORT: Record<Sort, Sort> = { none: 'desc', desc: 'asc', asc: 'none' };
const ARIA_SORT: Record<Sort, string> = { none: 'none', desc: 'descending', asc: 'ascending' };
const SORT_MARK: Record<Sort, string> = { none: '↕', desc: '▼', asc: '▲' };

export class TargetsView {
  private index?: TargetIndex;
  /** A list being received: shown as it comes on the first load; a refresh replaces the old list when complete. */
  private loading?: { index: TargetIndex; progressive: boolean; lastDraw: number };
  /** Rows arrived since the last filter (drawn when the view is next shown or at the next throttled draw). */
  private stale = false;
  /** The first load failed part-way: what came is shown, and said to be incomplete. */
  private incomplete = false;
  private matched: Int32Array = new Int32Array(0);
  private page = 0;
  private sort: Sort = 'none';
  private rendered = false;
  private knownShards: readonly string[] = [];
  /** Set by app.ts: whether the view is on screen (nothing is drawn for a hidden view). */
  visible = false;

  constructor(private readonly d: TargetsDom) {
    const refilter = (): void => this.refilter();
    d.search.addEventListener('input', refilter);
    for (const s of [d.job, d.shard, d.health]) s.addEventListener('change', refilter);
    d.transfer.addEventListener('change', refilter);
    d.search.form?.addEventListener('submit', (e) => e.preventDefault());
    d.sortButton.addEventListener('click', () => {
      this.sort = NEXT_SORT[this.sort];
      refilter();
    });
    const go = (p: () => number) => () => {
      this.page = p();
      this.draw();
    };
    d.first.addEventListener('click', go(() => 0));
    d.prev.addEventListener('click', go(() => this.page - 1));
    d.next.addEventListener('click', go(() => this.page + 1));
    d.lastPage.addEventListener('click', go(() => this.pages() - 1));
    this.drawSortHeader();
  }

  /** Whether a complete list has been received. */
  get loaded(): boolean {
    return this.index !== undefined && this.loading?.index !== this.index;
  }

  /** A list starts arriving (first load or refresh): filters are kept, and the page when it still exists. */
  beginTargets(): void {
    const index = new TargetIndex();
    const progressive = this.index === undefined || this.loading?.index === this.index;
    this.loading = { index, progressive, lastDraw: -Infinity };
    if (progressive) {
      this.index = index;
      this.stale = true;
    }
  }

  /**
   * More targets of the list. On the first load the view follows: while the page is not full at every batch
   * (at most each 50 ms), then every 250 ms, so that the first page shows as soon as its rows are in.
   */
  addTargets(batch: readonly Target[]): void {
    const l = this.loading;
    if (!l) return;
    l.index.append(batch);
    if (!l.progressive) return;
    this.stale = true;
    if (!this.visible) return;
    const now = performance.now();
    if (now - l.lastDraw >= (this.matched.length < PAGE_SIZE ? 50 : 250)) {
      l.lastDraw = now;
      this.fillJobs();
      this.fillShards();
      this.refilter(false);
    }
  }

  /** The list is complete (ok) or its answer failed: a failed refresh keeps the old list, a failed first load what came. */
  endTargets(ok: boolean): void {
    const l = this.loading;
    if (!l) return;
    this.loading = undefined;
    if (ok || l.progressive) this.index = l.index;
    this.incomplete = !ok && l.progressive;
    this.fillJobs();
    this.fillShards();
    this.stale = true;
    if (this.visible) this.refilter(false);
  }

  /** A complete list at once. */
  setTargets(targets: readonly Target[]): void {
    this.beginTargets();
    this.addTargets(targets);
    this.endTargets(true);
  }

  /** The shards the coordinator reports: offered in the shard filter even when they hold no target. */
  setKnownShards(ids: readonly string[]): void {
    this.knownShards = ids;
    this.fillShards();
  }

  private fillJobs(): void {
    fillOptions(this.d.job, 'All jobs', this.index?.jobs ?? []);
  }

  private fillShards(): void {
    const shards = new Map(this.index?.shards ?? []);
    for (const s of this.knownShards) if (!shards.has(s)) shards.set(s, 0);
    fillOptions(this.d.shard, 'All shards', [...shards].sort((a, b) => naturalCompare(a[0], b[0])));
  }

  /** Called when the view is shown. */
  show(): void {
    this.visible = true;
    if (this.stale) this.refilter(false);
    else this.draw();
  }

  private filterNow(): Filter {
    const d = this.d;
    return {
      words: d.search.value.toLowerCase().split(/\s+/).filter((w) => w !== ''),
      job: d.job.value,
      shard: d.shard.value,
      health: d.health.value,
      transfer: d.transfer.checked,
      sort: this.sort,
    };
  }

  private refilter(resetPage = true): void {
    if (resetPage) this.page = 0;
    this.drawSortHeader();
    if (!this.index) return;
    this.matched = this.index.filter(this.filterNow());
    this.stale = false;
    this.draw();
  }

  private pages(): number {
    return Math.max(1, Math.ceil(this.matched.length / PAGE_SIZE));
  }

  private drawSortHeader(): void {
    this.d.seriesHeader.setAttribute('aria-sort', ARIA_SORT[this.sort]);
    const mark = this.d.sortButton.querySelector('.sort-mark');
    if (mark) mark.textContent = SORT_MARK[this.sort];
    this.d.sortButton.title = this.sort === 'none' ? 'Sort by series, most first' : this.sort === 'desc' ? 'Sort by series, fewest first' : 'Back to the list order';
  }

  /** Draws the current page: at most PAGE_SIZE rows. */
  draw(): void {
    const d = this.d;
    if (!this.visible || !this.index) return;
    const total = this.index.rows.length;
    const n = this.matched.length;
    const pages = this.pages();
    this.page = Math.min(Math.max(0, this.page), pages - 1);
    const from = this.page * PAGE_SIZE;
    const to = Math.min(n, from + PAGE_SIZE);
    const now = Date.now();
    const frag = document.createDocumentFragment();
    for (let k = from; k < to; k++) frag.append(rowElement(this.index.rows[this.matched[k]!]!, now));
    if (n === 0) frag.append(el('tr', { class: 'empty' }, el('td', { colspan: 8 }, total === 0 ? 'No targets.' : 'No target matches these filters.')));
    d.body.replaceChildren(frag);
    const more = this.loading?.index === this.index ? ' so far, more arriving…' : this.incomplete ? ' (incomplete: the list failed to load, see above)' : '';
    d.count.textContent = n === total ? `${total} targets${more}` : `${n} of ${total} targets match${more}`;
    d.pageInfo.textContent = n === 0 ? 'No rows' : `Rows ${from + 1}–${to} of ${n} · page ${this.page + 1} of ${pages}`;
    d.first.disabled = d.prev.disabled = this.page === 0;
    d.next.disabled = d.lastPage.disabled = this.page >= pages - 1;
    if (!this.rendered) {
      this.rendered = true;
      performance.mark('kvass:targets-first-render');
    }
  }
}

function fillOptions(select: HTMLSelectElement, all: string, values: ReadonlyArray<readonly [string, number]>): void {
  const keep = select.value;
  select.replaceChildren(el('option', { value: '' }, all), ...values.map(([v, n]) => el('option', { value: v }, `${v} (${n})`)));
  select.value = values.some(([v]) => v === keep) ? keep : '';
}

const SAFE_URL = /^https?:\/\//i;

function rowElement(r: Row, now: number): HTMLTableRowElement {
  const t = r.t;
  const labels = t.labels ?? {};
  const labelText = Object.keys(labels).map((k) => `${k}="${labels[k]}"`).join(', ');
  const inTransfer = r.shards.length > 1;
  const address = SAFE_URL.test(t.scrapeUrl ?? '') ? el('a', { href: t.scrapeUrl, rel: 'noreferrer noopener', target: '_blank', title: t.scrapeUrl }, r.instance) : r.instance;
  const duration = typeof t.lastScrapeDuration === 'number' && t.lastScrapeDuration > 0 ? ` in ${Math.round(t.lastScrapeDuration * 1000)} ms` : '';
  return el(
    'tr',
    { class: inTransfer ? 'transfer' : undefined },
    cell('Job', {}, r.job),
    cell('Address', { class: 'addr' }, address),
    cell('Labels', { class: 'labels' }, labelText),
    cell('Series', { class: 'num' }, r.series < 0 ? '—' : r.series),
    cell('Shard', { class: 'shards' }, r.shards.length === 0 ? 'unplaced' : r.shards.join(', '), inTransfer && el('span', { class: 'badge badge-transfer' }, 'in transfer')),
    cell('Health', {}, el('span', { class: `health health-${r.health}` }, r.health)),
    cell('Last scrape', { class: 'when' }, timeEl(t.lastScrape, now), duration),
    cell('Last error', { class: t.lastError ? 'err' : 'muted' }, t.lastError || '—'),
  );
}
