/**
 * Go's ways, where kvass must match them byte for byte: gopkg.in/yaml.v2's `UnmarshalStrict` over the `yaml`
 * package's syntax tree (the web config is decoded as exporter-toolkit decodes it), and Go's texts for quoted strings
 * and file errors.
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, type Document } from 'yaml';


/* ------------------------------------------------------------------------------------------------------------ */
/* Go-style texts.                                                                                              */

/** strconv.Quote for the characters that occur here. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + '"';
}

/** An os.ReadFile error as Go prints it. */
export function goFileError(e: unknown, path: string): string {
  const code = (e as NodeJS.ErrnoException).code;
  const texts: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    ENOTDIR: 'not a directory',
    ELOOP: 'too many levels of symbolic links',
  };
  if (code === 'EISDIR') return `read ${path}: is a directory`;
  return `open ${path}: ${(code && texts[code]) ?? (e as Error).message}`;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* gopkg.in/yaml.v2 UnmarshalStrict over the `yaml` package's syntax tree.                                      */

export class Fatal extends Error {}

export type Classified =
  | { kind: 'null' }
  | { kind: 'scalar'; tag: string; value: string; bool?: boolean; line: number }
  | { kind: 'map'; node: { items: Array<{ key: unknown; value: unknown }> }; line: number }
  | { kind: 'seq'; node: { items: unknown[] }; line: number };

export const BOOL_TRUE = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON']);
export const BOOL_FALSE = new Set(['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF']);
export const NULLS = new Set(['', '~', 'null', 'Null', 'NULL']);

/** The tag yaml.v2 resolves a plain scalar to. */
export function resolvePlain(s: string): string {
  if (NULLS.has(s)) return '!!null';
  if (BOOL_TRUE.has(s) || BOOL_FALSE.has(s)) return '!!bool';
  if (/^[-+]?\.(inf|Inf|INF)$/.test(s) || /^\.(nan|NaN|NAN)$/.test(s)) return '!!float';
  if (/^[-+]?(0b[01_]+|0o?[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*)$/.test(s)) return '!!int';
  if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(s)) return '!!float';
  if (/^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}/.test(s)) return '!!timestamp';
  return '!!str';
}

export class YamlDecoder {
  readonly terrors: string[] = [];

  constructor(
    private readonly doc: Document,
    private readonly lc: LineCounter,
  ) {}

  private lineOf(node: unknown): number {
    const range = (node as { range?: [number, number, number] } | null)?.range;
    return range ? this.lc.linePos(range[0]).line : 0;
  }

  classify(raw: unknown): Classified {
    let node = raw;
    for (let depth = 0; isAlias(node); depth++) {
      if (depth > 100) throw new Fatal('anchor value contains itself');
      node = node.resolve(this.doc);
    }
    if (node === null || node === undefined) return { kind: 'null' };
    const line = this.lineOf(node);
    if (isMap(node)) return { kind: 'map', node: node as unknown as { items: Array<{ key: unknown; value: unknown }> }, line };
    if (isSeq(node)) return { kind: 'seq', node: node as unknown as { items: unknown[] }, line };
    if (!isScalar(node)) return { kind: 'null' };
    const text = node.source ?? (node.value === null || node.value === undefined ? '' : String(node.value));
    const explicit = node.tag?.startsWith('tag:yaml.org,2002:') ? '!!' + node.tag.slice('tag:yaml.org,2002:'.length) : node.tag;
    let tag: string;
    if (explicit !== undefined) tag = explicit === '!!bool' || explicit === '!!null' ? resolvePlain(text) : explicit;
    else tag = node.type === 'PLAIN' ? resolvePlain(text) : '!!str';
    if (tag === '!!null') return { kind: 'null' };
    return { kind: 'scalar', tag, value: text, bool: tag === '!!bool' ? BOOL_TRUE.has(text) : undefined, line };
  }

  terror(c: Exclude<Classified, { kind: 'null' }>, into: string): void {
    let what: string;
    if (c.kind === 'map') what = '!!map';
    else if (c.kind === 'seq') what = '!!seq';
    else what = `${c.tag} \`${c.value.length > 10 ? c.value.slice(0, 7) + '...' : c.value}\``;
    this.terrors.push(`line ${c.line}: cannot unmarshal ${what} into ${into}`);
  }

  /** A scalar into a Go string: null is "", a mapping or sequence is a type error (undefined). */
  string(raw: unknown, into = 'string'): string | undefined {
    const c = this.classify(raw);
    if (c.kind === 'null') return '';
    if (c.kind !== 'scalar') {
      this.terror(c, into);
      return undefined;
    }
    return c.value;
  }

  bool(raw: unknown): boolean | undefined {
    const c = this.classify(raw);
    if (c.kind === 'null') return false;
    if (c.kind === 'scalar' && c.bool !== undefined) return c.bool;
    this.terror(c, 'bool');
    return undefined;
  }

  /** A type with UnmarshalYAML reading a string: null leaves Go's zero value (null), else the string. */
  custom(raw: unknown): string | null | undefined {
    const c = this.classify(raw);
    if (c.kind === 'null') return null;
    return this.string(raw);
  }

  private isMergeKey(key: unknown): boolean {
    return isScalar(key) && key.type === 'PLAIN' && key.source === '<<' && key.tag === undefined;
  }

  /** A `<<` merge: a mapping, or a sequence of mappings (applied last to first). */
  private merge(raw: unknown, apply: (map: unknown) => void): void {
    const c = this.classify(raw);
    if (c.kind === 'map') return apply(raw);
    if (c.kind === 'seq') {
      for (const item of [...c.node.items].reverse()) {
        if (this.classify(item).kind !== 'map') throw new Fatal('map merge requires map or sequence of maps as the value');
        apply(item);
      }
      return;
    }
    throw new Fatal('map merge requires map or sequence of maps as the value');
  }

  /** A Go struct: known fields only, each once. */
  struct(raw: unknown, type: string, fields: Record<string, (value: unknown) => void>, zero: () => void): void {
    const c = this.classify(raw);
    if (c.kind === 'null') return zero();
    if (c.kind !== 'map') return this.terror(c, type);
    const done = new Set<string>();
    for (const pair of c.node.items) {
      if (this.isMergeKey(pair.key)) {
        this.merge(pair.value, (m) => this.struct(m, type, fields, zero));
        continue;
      }
      const name = this.string(pair.key);
      if (name === undefined) continue;
      const line = this.lineOf(pair.key);
      if (!Object.hasOwn(fields, name)) {
        this.terrors.push(`line ${line}: field ${name} not found in type ${type}`);
        continue;
      }
      if (done.has(name)) {
        this.terrors.push(`line ${line}: field ${name} already set in type ${type}`);
        continue;
      }
      done.add(name);
      fields[name]!(pair.value);
    }
  }

  /** A Go map[string]V whose values are read as strings (V's name for type errors). */
  stringMap(raw: unknown, type: string, valueType: string, out: Map<string, string>): void {
    const c = this.classify(raw);
    if (c.kind === 'null') return out.clear();
    if (c.kind !== 'map') return this.terror(c, type);
    for (const pair of c.node.items) {
      if (this.isMergeKey(pair.key)) {
        this.merge(pair.value, (m) => this.stringMap(m, type, valueType, out));
        continue;
      }
      const key = this.string(pair.key);
      if (key === undefined) continue;
      const value = this.string(pair.value, valueType);
      if (value === undefined) continue;
      if (out.has(key)) {
        this.terrors.push(`line ${pair.value ? this.lineOf(pair.value) : this.lineOf(pair.key)}: key ${goQuote(key)} already set in map`);
        continue;
      }
      out.set(key, value);
    }
  }

  /** A Go slice whose elements have UnmarshalYAML reading a string. */
  list(raw: unknown, type: string, each: (s: string) => void, reset: () => void): void {
    const c = this.classify(raw);
    if (c.kind === 'null') return reset();
    if (c.kind !== 'seq') return this.terror(c, type);
    reset();
    for (const item of c.node.items) {
      const s = this.custom(item);
      if (typeof s === 'string') each(s);
    }
  }
}

