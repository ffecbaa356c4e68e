/**
 * Small DOM helpers shared by the views: element creation (text only: data never becomes markup), table cells that
 * carry their column name for the narrow-window card layout, the budget bar, and time formatting.
 */

type Attrs = Record<string, string | number | boolean | undefined>;
type Child = Node | string | number | null | undefined | false;

/** `el('td', {class: 'num'}, '42')`: attributes set as attributes, children as text nodes or nodes. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    e.append(typeof c === 'number' ? String(c) : c);
  }
  return e;
}

/** A body cell labelled with its column (shown before the value when rows become cards in a narrow window). */
export function cell(label: string, attrs: Attrs, ...children: Child[]): HTMLTableCellElement {
  return el('td', { ...attrs, 'data-label': label }, ...children);
}

/** A table with a caption, header cells and an empty body, wrapped so that it scrolls rather than overflows. */
export function table(caption: string, headers: Array<string | HTMLTableCellElement>, attrs: Attrs = {}): { wrap: HTMLDivElement; table: HTMLTableElement; body: HTMLTableSectionElement } {
  const body = el('tbody');
  const head = el('tr', {}, ...headers.map((h) => (typeof h === 'string' ? el('th', { scope: 'col' }, h) : h)));
  const t = el('table', { class: 'grid', ...attrs }, el('caption', {}, caption), el('thead', {}, head), body);
  return { wrap: el('div', { class: 'table-wrap' }, t), table: t, body };
}

/** "20100 / 30000 (67%)", or just the series when there is no budget. */
export function budgetText(series: number, budget: number | undefined): string {
  if (!budget || budget <= 0) return `${series} series`;
  return `${series} / ${budget} (${Math.round((100 * series) / budget)}%)`;
}

/** A bar of `series` against `budget` with both numbers written beside it; its colour is never the only signal. */
export function budgetBar(series: number, budget: number | undefined): HTMLDivElement {
  const pct = budget && budget > 0 ? (100 * series) / budget : 0;
  const fill = el('div', { class: 'bar-fill' });
  fill.style.width = `${Math.min(100, Math.max(0, pct))}%`;
  const level = pct > 100 ? 'over' : pct >= 90 ? 'high' : 'ok';
  return el('div', { class: `bar bar-${level}` }, el('div', { class: 'bar-track', 'aria-hidden': 'true' }, fill), el('span', { class: 'bar-text' }, budgetText(series, budget), level === 'over' ? ' over budget' : ''));
}

const ISO_SECONDS = /\.\d+Z$/;

/** A `<time>` in UTC ("2026-12-03 22:00:00 UTC") with how long ago; "never" for Prometheus's zero time. */
export function timeEl(iso: string | null | undefined, now = Date.now()): HTMLElement | string {
  if (!iso) return '—';
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms) || ms <= 0) return 'never';
  const text = new Date(ms).toISOString().replace('T', ' ').replace(ISO_SECONDS, 'Z').replace('Z', ' UTC');
  return el('time', { datetime: iso, title: new Date(ms).toString() }, `${text} (${ago(now - ms)})`);
}

/** "5s ago", "3m ago", "2h ago", "4d ago"; "in the future" for clocks ahead. */
export function ago(ms: number): string {
  if (ms < 0) return 'in the future';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

/** Shard ids in natural order: shard-2 before shard-10. */
export const naturalCompare = (a: string, b: string): number => a.localeCompare(b, 'en', { numeric: true });
