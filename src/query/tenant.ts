/**
 * Tenant enforcement (`--query.enforce-tenant`): every vector selector of a query, and every `match[]`
 * selector, is narrowed to the tenant's own series before the global querier (a real Prometheus) sees it.
 *
 * How, and why this way:
 *  - The query is parsed with Prometheus's own lezer grammar (promql.ts, which also refuses whatever lezer and
 *    Prometheus's lexer could read differently). Each VectorSelector is found wherever it sits: alone, in a
 *    range, a subquery, a function argument, under `offset` or `@`.
 *  - A selector that already says `<label>="<tenant>"` is left as it is; one that says `<label>="<other>"`
 *    (the empty value included) refuses the whole query with 403: it can only mean reading another tenant.
 *  - Any other selector gets `<label>=~"<tenant, regex-escaped>"`, spliced into the text at its position so
 *    that every other byte (comments, offsets, `@`, durations, string arguments) stays as written. It is a
 *    regex matcher on purpose: `absent()` and `absent_over_time()` build their output labels from the
 *    equality matchers only, so an injected equality would add `<label>="<tenant>"` to their answer, which a
 *    Prometheus holding only the tenant's data would not; a regex matcher leaves those labels alone.
 *  - A selector of braces only whose matchers all match "" (such as `{}` or `{x=~".*"}`) is refused with
 *    Prometheus's own message: the injected matcher would make it valid, and the answer would differ from
 *    that of a Prometheus holding only the tenant's data.
 *  - The rewritten text is parsed again and checked (same number of selectors, each one enforced) before it
 *    is returned: a query that fails the check is refused, never sent.
 */
import {
  escapeRegex, isLabelName, parsePromQL, parseSeriesSelector, printSeriesSelector, PromQLSyntaxError, quotePromQLString,
  lineColumn, matchesEmpty, vectorSelectors, type Matcher, type SelectorNode,
} from './promql.js';

export { printSeriesSelector };

export interface TenantOptions {
  /** The tenant label (`tenant_id` by default). */
  labelName: string;
  /** The tenant of the request; never empty. */
  tenant: string;
}

export type Refusal = { ok: false; status: 400 | 403; error: string };

/** The matcher added to selectors without the tenant (for callers that build remote-read queries). */
export function tenantMatcher(o: TenantOptions): Matcher {
  checkOptions(o);
  return { name: o.labelName, type: '=~', value: escapeRegex(o.tenant) };
}

/** Narrows every selector of a PromQL expression to the tenant (see the header). */
export function enforceTenantInQuery(expr: string, o: TenantOptions): { ok: true; query: string } | Refusal {
  const injected = injectedText(o);
  let selectors: SelectorNode[];
  try {
    selectors = vectorSelectors(parsePromQL(expr), expr);
  } catch (e) {
    const error = e instanceof PromQLSyntaxError ? e.message : `internal error while reading the query (${(e as Error).message}); it was not run`;
    return { ok: false, status: 400, error };
  }
  for (const s of selectors) {
    const foreign = foreignMatcher(s.matchers, o);
    if (foreign) return forbidden(expr.slice(s.from, s.to), foreign, o);
  }
  const insertions: Array<{ at: number; text: string }> = [];
  for (const s of selectors) {
    const empty = s.name ? null : allMatchEmpty(expr, s);
    if (empty) return { ok: false, status: 400, error: empty };
    if (hasOwnEquality(s.matchers, o)) continue;
    if (s.braces) insertions.push({ at: s.braces.from + 1, text: injected + (s.matchers.length > 0 ? ',' : '') });
    else insertions.push({ at: s.name!.to, text: '{' + injected + '}' });
  }
  let query = '';
  let last = 0;
  for (const ins of insertions.sort((x, y) => x.at - y.at)) {
    query += expr.slice(last, ins.at) + ins.text;
    last = ins.at;
  }
  query += expr.slice(last);
  const problem = verifyEnforced(query, selectors.length, o);
  if (problem) return { ok: false, status: 400, error: `internal error: the rewritten query failed its check (${problem}); it was not run` };
  return { ok: true, query };
}

/** Narrows one `match[]` selector (series, labels, label values, federate) to the tenant. */
export function enforceTenantInSelector(sel: string, o: TenantOptions): { ok: true; selector: string } | Refusal {
  checkOptions(o);
  let matchers: Matcher[];
  try {
    matchers = parseSeriesSelector(sel);
  } catch (e) {
    return { ok: false, status: 400, error: (e as Error).message };
  }
  const foreign = foreignMatcher(matchers, o);
  if (foreign) return forbidden(sel, foreign, o);
  const enforced = hasOwnEquality(matchers, o) ? matchers : [tenantMatcher(o), ...matchers];
  const selector = printSeriesSelector(enforced);
  if (!readsBackAs(selector, enforced)) {
    return { ok: false, status: 400, error: 'internal error: the rewritten selector failed its check; it was not run' };
  }
  return { ok: true, selector };
}

/** Whether a printed selector parses back as exactly these matchers. */
function readsBackAs(selector: string, matchers: Matcher[]): boolean {
  try {
    const back = parseSeriesSelector(selector);
    return back.length === matchers.length && back.every((m, i) => sameMatcher(m, matchers[i]!));
  } catch {
    return false;
  }
}

function checkOptions(o: TenantOptions): void {
  if (o.tenant === '') throw new Error('tenant enforcement without a tenant');
  if (!o.tenant.isWellFormed()) throw new Error('tenant is not valid Unicode');
  if (!isLabelName(o.labelName)) throw new Error(`invalid tenant label name ${JSON.stringify(o.labelName)}`);
}

function injectedText(o: TenantOptions): string {
  const m = tenantMatcher(o);
  return m.name + m.type + quotePromQLString(m.value);
}

/** Whether the matchers already say `<label>="<tenant>"` (callers look for another tenant's equality first). */
function hasOwnEquality(matchers: Matcher[], o: TenantOptions): boolean {
  return matchers.some((m) => m.name === o.labelName && m.type === '=' && m.value === o.tenant);
}

function foreignMatcher(matchers: Matcher[], o: TenantOptions): Matcher | undefined {
  return matchers.find((m) => m.name === o.labelName && m.type === '=' && m.value !== o.tenant);
}

function forbidden(selector: string, m: Matcher, o: TenantOptions): Refusal {
  const shown = selector.length > 200 ? selector.slice(0, 200) + '…' : selector;
  return {
    ok: false,
    status: 403,
    error: `selector ${shown} asks for ${m.name}=${quotePromQLString(m.value)}: tenant ${quotePromQLString(o.tenant)} may only read its own series`,
  };
}

/** Prometheus's check for braces-only selectors, as its message; null when the selector passes. */
function allMatchEmpty(text: string, s: SelectorNode): string | null {
  const where = `parse error at ${lineColumn(text, s.from)}`;
  for (const m of s.matchers) {
    try {
      if (!matchesEmpty(m)) return null;
    } catch (e) {
      return `${where}: invalid regular expression in ${m.name}${m.type}${quotePromQLString(m.value)}: ${(e as Error).message}`;
    }
  }
  return `${where}: vector selector must contain at least one non-empty matcher`;
}

function sameMatcher(a: Matcher, b: Matcher): boolean {
  return a.name === b.name && a.type === b.type && a.value === b.value;
}

/** Re-reads a rewritten query: null when it parses, has `count` selectors and each one is enforced. */
function verifyEnforced(query: string, count: number, o: TenantOptions): string | null {
  let selectors: SelectorNode[];
  try {
    selectors = vectorSelectors(parsePromQL(query), query);
  } catch (e) {
    return (e as Error).message;
  }
  if (selectors.length !== count) return `${selectors.length} selectors instead of ${count}`;
  const regex = escapeRegex(o.tenant);
  for (const s of selectors) {
    if (foreignMatcher(s.matchers, o)) return `selector at ${lineColumn(query, s.from)} asks for another tenant`;
    const injected = s.matchers.some((m) => m.name === o.labelName && m.type === '=~' && m.value === regex);
    if (!injected && !hasOwnEquality(s.matchers, o)) return `selector at ${lineColumn(query, s.from)} is not narrowed to the tenant`;
  }
  return null;
}
