/**
 * PromQL text utilities: string literals as Prometheus 2.42 reads them, RE2 escaping, series selectors, and a
 * checked parse with @prometheus-io/lezer-promql (the grammar of the Prometheus 2.42 UI).
 *
 * Why lezer and not a PromQL parser of our own: the grammar is Prometheus's own, and it gives a concrete tree
 * with exact text positions, so callers can edit a query by splicing text and leave every other byte alone.
 * Its tokens are not exactly those of Prometheus's Go lexer, though, and a query is only safe to rewrite when
 * both see the same tokens. `parsePromQL` therefore refuses, besides every error node (⚠), each place where
 * the two can disagree on a text Prometheus accepts:
 *  - a line comment: Go ends it at "\r" or "\n", lezer at "\n" only, so `x # \r or y` is one selector for
 *    lezer and two for Prometheus. Text after a "\r" in a comment must be blank;
 *  - characters outside strings and comments: lezer skips Unicode spaces, "\v" and "\f", Go knows only
 *    " \t\n\r" (anything else there is an error in Go, and a token lezer may have misread);
 *  - string literals: lezer's token does not need the closing quote and takes any escape; each one must
 *    decode as Prometheus decodes it (its lexer's escape checks, then util/strutil.Unquote; the lexer also
 *    refuses a literal U+FFFD, which it cannot tell from an invalid byte);
 *  - lone UTF-16 surrogates, which have no UTF-8 form.
 * Known differences that remain make lezer refuse what Prometheus accepts, never the reverse: the keywords
 * lezer reserves (`offset`, `bool`, `on`, `ignoring`, `group_left`, `group_right`, `inf`, `nan`) cannot be
 * metric names (Prometheus accepts `offset` as one); `0X1F` (lezer knows only `0x`); left-associative chains
 * of more than about 300 operators after 2000 characters, and nesting deeper than about 2800 levels (limits
 * of @lezer/lr that end in error nodes).
 */
import type { LabelMatcher } from './remote/read-proto.js';
// @ts-expect-error: the package's "exports" has no "types" condition, so TypeScript does not find its index.d.ts.
import { parser as lezerParser } from '@prometheus-io/lezer-promql';
import type { LRParser } from '@lezer/lr';
import { Re2Regex } from '../prom/regex.js';

const parser: LRParser = lezerParser;
export type Tree = ReturnType<LRParser['parse']>;
type SyntaxNode = Tree['topNode'];

export interface Matcher {
  name: string;
  type: '=' | '!=' | '=~' | '!~';
  value: string;
}

/** A matcher of a parsed selector, with the position of its text. */
export interface PlacedMatcher extends Matcher {
  from: number;
  to: number;
}

/** A vector selector of a parse tree: `name{matchers}`, `name` or `{matchers}`. */
export interface SelectorNode {
  from: number;
  to: number;
  /** The metric name's position, if written. */
  name: { from: number; to: number; text: string } | null;
  /** The position of `{…}`, if written. */
  braces: { from: number; to: number } | null;
  /** The matchers inside the braces, in order (the metric name is not one of them). */
  matchers: PlacedMatcher[];
}

/** A query Prometheus would refuse, or that we cannot read exactly as Prometheus does. */
export class PromQLSyntaxError extends Error {
  constructor(readonly text: string, readonly offset: number, what: string) {
    super(`parse error at ${lineColumn(text, offset)}: ${what}`);
  }
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const SIMPLE_ESCAPES: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92 };
// ignoreBOM: a literal's first character may be U+FEFF, which a decoder otherwise takes off as a byte order mark.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const toUtf8 = new TextEncoder();

/**
 * Decodes a PromQL string literal as Prometheus 2.42 does: its lexer's escape checks, then util/strutil.Unquote
 * (Go's strconv.Unquote, with single quotes for strings too). `\xNN` and octal escapes are bytes; the result
 * must be valid UTF-8 (a JS string cannot hold other bytes, and lossy decoding could make two values equal).
 */
export function unquotePromQLString(lit: string): string {
  const fail = (why: string): never => {
    throw new Error(`invalid string literal ${lit.length > 60 ? lit.slice(0, 60) + '…' : lit}: ${why}`);
  };
  const quote = lit[0];
  if (lit.length < 2 || lit[lit.length - 1] !== quote) fail('not terminated');
  const body = lit.slice(1, -1);
  if (!body.isWellFormed()) fail('not valid Unicode');
  // Go's lexer reads each character with utf8.DecodeRuneInString and takes U+FFFD for an invalid byte.
  if (body.includes('\ufffd')) fail('Prometheus reads a literal U+FFFD in a string as invalid UTF-8 (write \\ufffd)');
  if (quote === '`') return body.includes('`') ? fail('a raw string cannot contain a backtick') : body;
  if (quote !== '"' && quote !== "'") fail('not a quoted string');
  if (body.includes('\n')) fail('newline in string');
  const bytes: number[] = [];
  for (let i = 0; i < body.length; ) {
    const cp = body.codePointAt(i)!;
    if (cp === lit.charCodeAt(0)) fail('unescaped quote inside the string');
    if (cp !== 0x5c) {
      bytes.push(...toUtf8.encode(String.fromCodePoint(cp)));
      i += cp > 0xffff ? 2 : 1;
      continue;
    }
    const c = body[i + 1];
    i += 2;
    if (c === undefined) fail('escape sequence not terminated');
    else if (Object.hasOwn(SIMPLE_ESCAPES, c) || c === quote) bytes.push(c === quote ? c.charCodeAt(0) : SIMPLE_ESCAPES[c]!);
    else if (c === 'x' || c === 'u' || c === 'U') {
      const n = c === 'x' ? 2 : c === 'u' ? 4 : 8;
      const digits = body.slice(i, i + n);
      if (!/^[0-9a-fA-F]+$/.test(digits) || digits.length < n) fail(`bad \\${c} escape`);
      const v = parseInt(digits, 16);
      i += n;
      if (c === 'x') bytes.push(v);
      else if (v > 0x10ffff || (v >= 0xd800 && v < 0xe000)) fail('escape sequence is an invalid Unicode code point');
      else bytes.push(...toUtf8.encode(String.fromCodePoint(v)));
    } else if (c >= '0' && c <= '7') {
      const digits = body.slice(i - 1, i + 2);
      if (!/^[0-7]{3}$/.test(digits)) fail('bad octal escape');
      const v = parseInt(digits, 8);
      if (v > 255) fail('octal escape above \\377');
      bytes.push(v);
      i += 2;
    } else fail(`unknown escape sequence \\${c}`);
  }
  try {
    return utf8.decode(new Uint8Array(bytes));
  } catch {
    return fail('the decoded bytes are not valid UTF-8');
  }
}

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u; // Go's unicode.IsPrint (with this Node's Unicode tables)
const NAMED: Record<string, string> = { 7: 'a', 8: 'b', 12: 'f', 10: 'n', 13: 'r', 9: 't', 11: 'v', 34: '"', 92: '\\' };

/**
 * A double-quoted literal that Prometheus reads back as `s`, written as Go's strconv.Quote writes it, except
 * for U+FFFD, escaped as `\ufffd` (Prometheus's lexer refuses it written as is).
 */
export function quotePromQLString(s: string): string {
  if (!s.isWellFormed()) throw new Error('cannot quote a string with a lone UTF-16 surrogate');
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    const hex = (n: number) => cp.toString(16).padStart(n, '0');
    if (NAMED[cp] !== undefined) out += '\\' + NAMED[cp];
    else if (cp < 0x20 || cp === 0x7f) out += '\\x' + hex(2);
    else if (PRINTABLE.test(ch) && cp !== 0xfffd) out += ch;
    else out += cp < 0x10000 ? '\\u' + hex(4) : '\\U' + hex(8);
  }
  return out + '"';
}

/** Go's regexp.QuoteMeta: `=~escapeRegex(x)` matches exactly x (Prometheus anchors the pattern). */
export function escapeRegex(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

/** Whether a matcher accepts the empty value (as labels.Matcher.Matches("")); throws on an invalid regex. */
export function matchesEmpty(m: Matcher): boolean {
  if (m.type === '=' || m.type === '!=') return (m.value === '') === (m.type === '=');
  return Re2Regex.compile(m.value).test('') === (m.type === '=~');
}

/** `line:column` (1-based, columns in characters) of a position in `text`. */
export function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf('\n') + 1;
  return `${before.split('\n').length}:${[...before.slice(lineStart)].length + 1}`;
}

/** Parses a PromQL expression; throws PromQLSyntaxError naming the position (see the header for what else it refuses). */
export function parsePromQL(text: string): Tree {
  if (!text.isWellFormed()) throw new PromQLSyntaxError(text, firstLoneSurrogate(text), 'invalid Unicode (a lone UTF-16 surrogate)');
  const tree = parser.parse(text);
  const skipped: Array<[number, number]> = []; // strings and comments, in order
  const problems: PromQLSyntaxError[] = []; // the first one in text order is reported
  tree.iterate({
    enter(n) {
      if (problems.length > 0) return false;
      if (n.type.isError) {
        const got = JSON.stringify(text.slice(n.from, Math.max(n.to, n.from + 1)).slice(0, 20));
        problems.push(new PromQLSyntaxError(text, n.from, n.from >= text.length ? 'unexpected end of input' : `unexpected ${got}`));
      } else if (n.name === 'StringLiteral') {
        try {
          unquotePromQLString(text.slice(n.from, n.to));
        } catch (e) {
          problems.push(new PromQLSyntaxError(text, n.from, (e as Error).message));
        }
        skipped.push([n.from, n.to]);
      } else if (n.name === 'LineComment') {
        const comment = text.slice(n.from, n.to);
        const cr = comment.indexOf('\r');
        if (cr >= 0 && /[^ \t\r]/.test(comment.slice(cr))) {
          problems.push(new PromQLSyntaxError(text, n.from + cr, 'a carriage return inside a comment ends it for Prometheus; put the rest on its own line'));
        }
        skipped.push([n.from, n.to]);
      }
      return undefined;
    },
  });
  if (problems.length > 0) throw problems[0];
  let k = 0;
  for (let i = 0; i < text.length; i++) {
    while (k < skipped.length && skipped[k]![1] <= i) k++;
    if (k < skipped.length && skipped[k]![0] <= i) {
      i = skipped[k]![1] - 1;
      continue;
    }
    const c = text.charCodeAt(i);
    if (!(c === 9 || c === 10 || c === 13 || (c >= 0x20 && c <= 0x7e))) {
      throw new PromQLSyntaxError(text, i, `unexpected character ${JSON.stringify(text[i])}`);
    }
  }
  return tree;
}

function firstLoneSurrogate(text: string): number {
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i)!; // a whole code point for a valid pair, the surrogate itself otherwise
    if (cp >= 0xd800 && cp <= 0xdfff) return i;
    i += cp > 0xffff ? 2 : 1;
  }
  return 0;
}

const MATCH_OPS: Record<string, Matcher['type']> = { EqlSingle: '=', Neq: '!=', EqlRegex: '=~', NeqRegex: '!~' };

/** Every VectorSelector of a parse tree from parsePromQL, in text order (nested ones included). */
export function vectorSelectors(tree: Tree, text: string): SelectorNode[] {
  const out: SelectorNode[] = [];
  tree.iterate({
    enter(n) {
      if (n.name === 'VectorSelector') out.push(readSelector(n.node, text));
    },
  });
  return out;
}

function readSelector(node: SyntaxNode, text: string): SelectorNode {
  const sel: SelectorNode = { from: node.from, to: node.to, name: null, braces: null, matchers: [] };
  for (let c = node.firstChild; c; c = c.nextSibling) {
    if (c.name === 'Identifier') sel.name = { from: c.from, to: c.to, text: text.slice(c.from, c.to) };
    else if (c.name === 'LabelMatchers') {
      if (text[c.from] !== '{' || text[c.to - 1] !== '}') throw new Error(`internal: label matchers without braces at ${c.from}`);
      sel.braces = { from: c.from, to: c.to };
      for (let m = c.firstChild; m; m = m.nextSibling) if (m.name === 'LabelMatcher') sel.matchers.push(readMatcher(m, text));
    } else if (c.name !== 'LineComment') throw new Error(`internal: unexpected ${c.name} in a vector selector`);
  }
  return sel;
}

function readMatcher(node: SyntaxNode, text: string): PlacedMatcher {
  const name = node.getChild('LabelName');
  const op = node.getChild('MatchOp')?.firstChild;
  const value = node.getChild('StringLiteral');
  const type = op ? MATCH_OPS[op.name] : undefined;
  if (!name || !type || !value) throw new Error(`internal: incomplete label matcher at ${node.from}`);
  return { name: text.slice(name.from, name.to), type, value: unquotePromQLString(text.slice(value.from, value.to)), from: node.from, to: node.to };
}

/**
 * A `match[]` series selector (what Prometheus's parser.ParseMetricSelector accepts, plus the API's check that
 * one matcher does not match ""). The metric name becomes the last matcher, `__name__="…"`, as in Prometheus.
 */
export function parseSeriesSelector(text: string): Matcher[] {
  const tree = parsePromQL(text);
  const top = [];
  for (let c = tree.topNode.firstChild; c; c = c.nextSibling) if (c.name !== 'LineComment') top.push(c);
  if (top.length !== 1 || top[0]!.name !== 'VectorSelector') {
    const kind = top.length === 1 ? KINDS[top[0]!.name] ?? 'an expression' : 'an expression';
    throw new Error(`match[] must be a series selector such as foo{job="x"}, not ${kind}: ${text.length > 100 ? text.slice(0, 100) + '…' : text}`);
  }
  const sel = readSelector(top[0]!, text);
  const matchers: Matcher[] = sel.matchers.map(({ name, type, value }) => ({ name, type, value }));
  if (sel.name) matchers.push({ name: '__name__', type: '=', value: sel.name.text });
  let nonEmpty = false;
  for (const m of matchers) {
    try {
      if (!matchesEmpty(m)) nonEmpty = true; // every regex is compiled, as Prometheus does
    } catch (e) {
      throw new Error(`invalid regular expression in ${m.name}${m.type}${quotePromQLString(m.value)}: ${(e as Error).message}`);
    }
  }
  if (!nonEmpty) throw new Error('match[] must contain at least one non-empty matcher');
  return matchers;
}

const KINDS: Record<string, string> = {
  MatrixSelector: 'a range selector',
  SubqueryExpr: 'a subquery',
  OffsetExpr: 'a selector with offset',
  StepInvariantExpr: 'a selector with @',
  ParenExpr: 'a parenthesized expression',
};

/** `{a="b",__name__="foo"}`: every matcher inside the braces, values quoted as Go does. */
export function printSeriesSelector(m: Matcher[]): string {
  return '{' + m.map((x) => {
    if (!LABEL_NAME.test(x.name)) throw new Error(`invalid label name ${JSON.stringify(x.name)}`);
    return x.name + x.type + quotePromQLString(x.value);
  }).join(',') + '}';
}

export function isLabelName(s: string): boolean {
  return LABEL_NAME.test(s);
}

const READ_TYPES = { '=': 'EQ', '!=': 'NEQ', '=~': 'RE', '!~': 'NRE' } as const;
const SELECTOR_TYPES = { EQ: '=', NEQ: '!=', RE: '=~', NRE: '!~' } as const;

/** Selector matchers as remote-read matchers (read-proto.ts), and back. */
export const toReadMatcher = (m: Matcher): LabelMatcher => ({ type: READ_TYPES[m.type], name: m.name, value: m.value });
export const fromReadMatcher = (m: LabelMatcher): Matcher => ({ type: SELECTOR_TYPES[m.type], name: m.name, value: m.value });
