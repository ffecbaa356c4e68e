/**
 * Syntax checks for `selectors[].label` and `selectors[].field`, as Prometheus runs them at config load
 * (k8s.io/apimachinery labels.Parse and fields.ParseSelector). The selector strings themselves are sent
 * to the API server unchanged; these functions only return an error message or undefined.
 */

type Tok = 'id' | 'end' | 'err' | ')' | ',' | '!' | '==' | '=' | '>' | '<' | '!=' | '(' | 'in' | 'notin';

const SYMBOLS = new Set<string>(['=', '!', '(', ')', ',', '>', '<']);
const SYMBOL_TOKENS: Record<string, Tok> = { ')': ')', ',': ',', '!': '!', '==': '==', '=': '=', '>': '>', '<': '<', '!=': '!=', '(': '(' };
const KEYWORDS: Record<string, Tok> = { in: 'in', notin: 'notin' };
const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\r' || c === '\n';

function lex(s: string): Array<[Tok, string]> {
  const out: Array<[Tok, string]> = [];
  let i = 0;
  for (;;) {
    while (i < s.length && isSpace(s[i]!)) i++;
    if (i >= s.length) {
      out.push(['end', '']);
      return out;
    }
    if (SYMBOLS.has(s[i]!)) {
      // Longest run of symbols that still forms a token; the first symbol that does not fit is left unread.
      let buf = '';
      let last: [Tok, string] | undefined;
      while (i < s.length && SYMBOLS.has(s[i]!)) {
        buf += s[i];
        const t = SYMBOL_TOKENS[buf];
        if (t) last = [t, buf];
        else if (last) break;
        i++;
      }
      if (!last) {
        out.push(['err', `error expected: keyword found '${buf}'`]);
        return out;
      }
      out.push(last);
      continue;
    }
    let id = '';
    while (i < s.length && !isSpace(s[i]!) && !SYMBOLS.has(s[i]!)) id += s[i++];
    out.push([KEYWORDS[id] ?? 'id', id]);
  }
}

const NAME_RE = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS1123_SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE_RE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function checkQualifiedName(key: string): string | undefined {
  const parts = key.split('/');
  let name = key;
  if (parts.length === 2) {
    const [prefix, n] = parts as [string, string];
    if (prefix.length === 0) return `key: Invalid value: ${JSON.stringify(key)}: prefix part must be non-empty`;
    if (prefix.length > 253 || !DNS1123_SUBDOMAIN_RE.test(prefix)) {
      return `key: Invalid value: ${JSON.stringify(key)}: prefix part must be a lowercase RFC 1123 subdomain`;
    }
    name = n;
  } else if (parts.length > 2) {
    return `key: Invalid value: ${JSON.stringify(key)}: a qualified name must consist of alphanumeric characters, '-', '_' or '.', with an optional DNS subdomain prefix and '/'`;
  }
  if (name.length === 0) return `key: Invalid value: ${JSON.stringify(key)}: name part must be non-empty`;
  if (name.length > 63) return `key: Invalid value: ${JSON.stringify(key)}: name part must be no more than 63 characters`;
  if (!NAME_RE.test(name)) {
    return `key: Invalid value: ${JSON.stringify(key)}: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`;
  }
  return undefined;
}

function checkLabelValue(v: string): string | undefined {
  if (v.length > 63 || !LABEL_VALUE_RE.test(v)) {
    return `values[0]: Invalid value: ${JSON.stringify(v)}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`;
  }
  return undefined;
}

class ParseError extends Error {}

/** labels.Parse: returns an error message, or undefined for a valid (possibly empty) label selector. */
export function labelSelectorError(selector: string): string | undefined {
  const toks = lex(selector);
  let pos = 0;
  // In value context the keywords `in`/`notin` read as identifiers.
  const peek = (): [Tok, string] => {
    const t = toks[Math.min(pos, toks.length - 1)]!;
    return t[0] === 'in' || t[0] === 'notin' ? ['id', t[1]] : t;
  };
  const next = (values = true): [Tok, string] => {
    const t = toks[Math.min(pos++, toks.length - 1)]!;
    if (t[0] === 'err') throw new ParseError(t[1]);
    return values && (t[0] === 'in' || t[0] === 'notin') ? ['id', t[1]] : t;
  };

  const requirement = (): void => {
    let [tok, lit] = next();
    let op = '';
    if (tok === '!') {
      op = '!';
      [tok, lit] = next();
    }
    if (tok === 'err') throw new ParseError(lit);
    if (tok !== 'id') throw new ParseError(`found '${lit}', expected: identifier`);
    const keyErr = checkQualifiedName(lit);
    if (keyErr) throw new ParseError(keyErr);
    const [la] = peek();
    if (la === 'end' || la === ',' || op === '!') return; // exists / does-not-exist
    const [opTok, opLit] = next(false);
    const values: string[] = [];
    if (opTok === 'in' || opTok === 'notin') {
      const [p, pl] = next();
      if (p !== '(') throw new ParseError(`found '${pl}' expected: '('`);
      const [t0, l0] = peek();
      if (t0 === ')') {
        next();
        values.push('');
      } else if (t0 === 'id' || t0 === ',') {
        for (;;) {
          const [t, l] = next();
          if (t === 'id') {
            values.push(l);
            const [t2, l2] = peek();
            if (t2 === ',') continue;
            if (t2 === ')') break;
            throw new ParseError(`found '${l2}', expected: ',' or ')'`);
          } else if (t === ',') {
            if (values.length === 0) values.push('');
            const [t2] = peek();
            if (t2 === ')') {
              values.push('');
              break;
            }
            if (t2 === ',') {
              next();
              values.push('');
            }
          } else {
            throw new ParseError(`found '${l}', expected: ',', or identifier`);
          }
        }
        const [c, cl] = next();
        if (c !== ')') throw new ParseError(`found '${cl}', expected: ')'`);
      } else {
        throw new ParseError(`found '${l0}', expected: ',', ')' or identifier`);
      }
    } else if (opTok === '=' || opTok === '==' || opTok === '!=' || opTok === '>' || opTok === '<') {
      const [t] = peek();
      if (t === 'end' || t === ',') values.push('');
      else {
        const [vt, vl] = next();
        if (vt !== 'id') throw new ParseError(`found '${vl}', expected: identifier`);
        values.push(vl);
      }
      if ((opTok === '>' || opTok === '<') && !/^[+-]?\d+$/.test(values[0]!)) {
        throw new ParseError(`for 'Gt', 'Lt' operators, the value must be an integer`);
      }
    } else {
      if (opTok === 'err') throw new ParseError(opLit);
      throw new ParseError(`found '${opLit}', expected: in, notin, =, ==, !=, gt, lt`);
    }
    if (opTok !== '>' && opTok !== '<') {
      for (const v of values) {
        const e = checkLabelValue(v);
        if (e) throw new ParseError(e);
      }
    }
  };

  try {
    for (;;) {
      const [tok, lit] = peek();
      if (tok === 'end') return undefined;
      if (tok === 'err') return lit;
      if (tok !== 'id' && tok !== '!') return `found '${lit}', expected: !, identifier, or 'end of string'`;
      try {
        requirement();
      } catch (e) {
        if (e instanceof ParseError) return `unable to parse requirement: ${e.message}`;
        throw e;
      }
      const [t, l] = next();
      if (t === 'end') return undefined;
      if (t !== ',') return `found '${l}', expected: ',' or 'end of string'`;
      const [t2, l2] = peek();
      if (t2 !== 'id' && t2 !== '!') return `found '${l2}', expected: identifier after ','`;
    }
  } catch (e) {
    if (e instanceof ParseError) return e.message;
    throw e;
  }
}

/** Splits on commas not escaped by a backslash (fields.splitTerms). */
function splitTerms(s: string): string[] {
  if (s === '') return [];
  const terms: string[] = [];
  let cur = '';
  let escaped = false;
  for (const c of s) {
    if (escaped) {
      cur += c;
      escaped = false;
    } else if (c === '\\') {
      cur += c;
      escaped = true;
    } else if (c === ',') {
      terms.push(cur);
      cur = '';
    } else cur += c;
  }
  terms.push(cur);
  return terms;
}

/** The first unescaped `!=`, `==` or `=` (fields.splitTerm). */
function splitTerm(term: string): [string, string, string] | undefined {
  let escaped = false;
  for (let i = 0; i < term.length; i++) {
    if (escaped) {
      escaped = false;
      continue;
    }
    if (term[i] === '\\') {
      escaped = true;
      continue;
    }
    for (const op of ['!=', '==', '=']) {
      if (term.startsWith(op, i)) return [term.slice(0, i), op, term.slice(i + op.length)];
    }
  }
  return undefined;
}

function unescapeError(v: string): string | undefined {
  let inSlash = false;
  for (const c of v) {
    if (inSlash) {
      if (c !== '\\' && c !== ',' && c !== '=') return `invalid field selector: invalid escape sequence: \\${c}`;
      inSlash = false;
    } else if (c === '\\') inSlash = true;
    else if (c === ',' || c === '=') return `invalid field selector: unescaped character in value: ${c.codePointAt(0)}`;
  }
  return inSlash ? 'invalid field selector: invalid escape sequence: \\' : undefined;
}

/** fields.ParseSelector: returns an error message, or undefined for a valid (possibly empty) field selector. */
export function fieldSelectorError(selector: string): string | undefined {
  for (const part of [...splitTerms(selector)].sort()) {
    if (part === '') continue;
    const t = splitTerm(part);
    if (!t) return `invalid selector: '${selector}'; can't understand '${part}'`;
    const e = unescapeError(t[2]);
    if (e) return e;
  }
  return undefined;
}
