/**
 * A seeded grammar of random PromQL over a test's own metrics and labels. The vocabulary (names, matchers, label
 * names, range functions) is the caller's; the base productions are those of the tenancy test's 1,000 queries (with
 * its vocabulary, no `always` and no `extended` options the sequence is the same for the same seed). `extended` adds offsets,
 * more range functions through the vocabulary, subqueries over any range function, tie-insensitive aggregations of
 * topk/bottomk, stdvar, histogram_quantile over `sum by (le)`, scalar operations on either side with and without
 * `bool`, and vector-vector operations with on/ignoring; it parenthesises the operands of operators and subqueries.
 */
import type { Rng } from './fuzz.js';

export interface PromqlVocabulary {
  /** One label matcher, e.g. `code="200"` (may draw from the generator). */
  matcher: (rng: Rng) => string;
  /** Metric names of selectors; '' is a selector by `nameless` (a `__name__` regex) and the matchers. */
  names: readonly string[];
  /** The `__name__` matcher of a nameless selector. */
  nameless: string;
  /** A matcher every selector of a name ('' for nameless ones) has first, e.g. to bound the series read. */
  always?: Readonly<Record<string, string>>;
  /** Functions of a range selector (`fn(selector[window])`); `quantile_over_time` gets 0.9 as its first argument. */
  rangeFunctions: readonly string[];
  /** Windows of range selectors. */
  windows: readonly string[];
  /** What follows `by`/`without` in an aggregation. */
  groupings: readonly string[];
  /** Aggregations without a parameter. */
  aggregations: readonly string[];
  /** label_replace: destination and source labels. */
  replaceTargets: readonly string[];
  replaceSources: readonly string[];
  /** The label list of `+ on(…)` between two vectors. */
  onLabels: string;
  extended?: ExtendedGrammar;
}

export interface ExtendedGrammar {
  /** Chance that a selector (instant or range) gets an offset, and the offsets. */
  offsetChance: number;
  offsets: readonly string[];
  /** histogram_quantile(φ, sum by (le…) (rate(bucket{…}[w]))): the bucket metric and what may join `le`. */
  bucket: string;
  bucketGroupings: readonly string[];
  /** Labels for `ignoring(…)` and further `on(…)` lists of vector-vector operations. */
  matchingLabels: readonly string[];
}

const quote = (fn: string): string => (fn === 'quantile_over_time' ? 'quantile_over_time(0.9, ' : `${fn}(`);

/** Returns a function giving the next random query. */
export function promqlGenerator(rng: Rng, v: PromqlVocabulary): () => string {
  const ext = v.extended;
  const matcher = (): string => v.matcher(rng);
  const offset = (): string => (ext && rng.chance(ext.offsetChance) ? ` offset ${rng.pick(ext.offsets)}` : '');
  const selector = (): string => {
    const drawn = Array.from({ length: rng.int(0, 2) }, matcher);
    const name = rng.pick(v.names);
    const fixed = v.always?.[name];
    const ms = fixed === undefined ? drawn : [fixed, ...drawn];
    if (name === '') return `{${[v.nameless, ...ms].join(', ')}}`;
    return ms.length > 0 || rng.chance(0.2) ? `${name}{${ms.join(', ')}}` : name;
  };
  /** An instant-vector selector, with an offset sometimes (extended). */
  const instant = (): string => selector() + offset();
  const range = (): string => `${quote(rng.pick(v.rangeFunctions))}${selector()}[${rng.pick(v.windows)}]${offset()})`;
  /** In the extended grammar, operands of operators and subqueries are parenthesised (precedence as written). */
  const p = (e: string): string => (ext ? `(${e})` : e);
  const by = (): string => (rng.chance(0.5) ? '' : ` ${rng.pick(['by', 'without'])} (${rng.pick(v.groupings)})`);
  const vec = (depth: number): string => {
    if (depth > 2) return rng.chance(0.7) ? instant() : range();
    const base: Array<readonly [number, () => string]> = [
      [4, instant], [2, range],
      [3, () => `${rng.pick(v.aggregations)}${by()} (${vec(depth + 1)})`],
      [1, () => `quantile${by()} (0.5, ${vec(depth + 1)})`],
      [1, () => `count_values${by()} ("v", ${vec(depth + 1)})`],
      [1, () => `${rng.pick(['abs', 'ceil', 'sort', 'sort_desc', 'floor'])}(${vec(depth + 1)})`],
      [1, () => `clamp_max(${vec(depth + 1)}, 10)`],
      [1, () => `label_replace(${vec(depth + 1)}, "${rng.pick(v.replaceTargets)}", "$1", "${rng.pick(v.replaceSources)}", "(.*)")`],
      [1, () => `absent(${selector()})`],
      [1, () => `absent_over_time(${selector()}[30s])`],
      [1, () => `max_over_time(${p(vec(depth + 1))}[30s:10s])`],
      [2, () => `${p(vec(depth + 1))} ${rng.pick(['*', '+', '-', '>', '<=', '== bool', '!='])} ${rng.pick(['2', '10', '0.5'])}`],
      [2, () => `${p(vec(depth + 1))} ${rng.pick(['and', 'or', 'unless'])} ${p(vec(depth + 1))}`],
      [1, () => `${p(vec(depth + 1))} + on(${v.onLabels}) ${p(vec(depth + 1))}`],
      [1, () => `vector(${rng.int(0, 5)})`],
    ];
    if (!ext) return rng.weighted(base)();
    const extra: Array<readonly [number, () => string]> = [
      // The multiset of the k highest (lowest) values per group does not depend on which of tied series are chosen.
      [1, () => `${rng.pick(['sum', 'count', 'max', 'min'])} (${rng.pick(['topk', 'bottomk'])}${by()} (${rng.int(1, 4)}, ${vec(depth + 1)}))`],
      [1, () => `histogram_quantile(${rng.pick(['0.5', '0.9', '0.99'])}, sum by (${rng.pick(ext.bucketGroupings)}) (rate(${ext.bucket}${rng.chance(0.3) ? `{${matcher()}}` : ''}[${rng.pick(v.windows)}]${offset()})))`],
      [2, () => (rng.chance(0.5)
        ? `${p(vec(depth + 1))} ${rng.pick(['/', '%', '^', '>=', '<', '> bool', '< bool', '!= bool', '=='])} ${rng.pick(['2', '10', '0.5', '50'])}`
        : `${rng.pick(['2', '10', '100'])} ${rng.pick(['-', '/', '*', '<', '>= bool', '== bool'])} ${p(vec(depth + 1))}`)],
      [1, () => `${p(vec(depth + 1))} ${rng.pick(['/', '-', '>', '> bool', '*'])} ${rng.pick(['on', 'ignoring'])}(${rng.pick(ext.matchingLabels)}) ${p(vec(depth + 1))}`],
      [1, () => `${quote(rng.pick(v.rangeFunctions))}${p(vec(depth + 1))}[${rng.pick(['20s', '30s'])}:${rng.pick(['5s', '10s'])}]${offset()})`],
    ];
    return rng.weighted([...base, ...extra])();
  };
  return () => vec(0);
}
