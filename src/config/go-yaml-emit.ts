/**
 * gopkg.in/yaml.v2 (v2.4.0) Marshal, ported: a Go value tree (struct fields in declaration order, `omitempty`, maps in
 * yaml.v2's key order) printed by a port of its encoder and emitter (encode.go, emitterc.go: quoting and style
 * rules, 80-column folding, indentless sequences in mappings), so that kvass prints a configuration byte for byte as
 * Prometheus 2.42 does (status-config.ts). The emitter is long because emitterc.go is; it is kept whole so that it
 * can be read beside the original.
 */
import { formatDuration } from '../prom/duration.js';

// ---------------------------------------------------------------------------------------------------------------
// The Go value tree that yaml.v2 marshals.

export type GoNode =
  | { k: 'map'; items: Array<[string, GoNode]> }
  | { k: 'seq'; items: GoNode[]; flow?: boolean }
  /** A Go string: yaml.v2 picks plain, double-quoted or literal style for it. */
  | { k: 'str'; v: string }
  /** A bool, number or null: always plain. */
  | { k: 'raw'; v: string };

export const S = (v: string): GoNode => ({ k: 'str', v });
export const RAW = (v: string): GoNode => ({ k: 'raw', v });
export const NULL = RAW('null');
export const seqOf = (items: GoNode[], flow = false): GoNode => ({ k: 'seq', items, flow });

/** A Go struct being marshalled: fields in declaration order, `omitempty` applied by each method. */
export class Struct {
  readonly items: Array<[string, GoNode]> = [];
  str(key: string, v: string, omitempty = true): this {
    if (!(omitempty && v === '')) this.items.push([key, S(v)]);
    return this;
  }
  bool(key: string, v: boolean, omitempty = true): this {
    if (!(omitempty && !v)) this.items.push([key, RAW(v ? 'true' : 'false')]);
    return this;
  }
  int(key: string, v: number | bigint, omitempty = true): this {
    if (!(omitempty && (v === 0 || v === 0n))) this.items.push([key, RAW(String(v))]);
    return this;
  }
  /** common/model.Duration (MarshalYAML gives its string). */
  dur(key: string, ms: number, omitempty = true): this {
    if (!(omitempty && ms === 0)) this.items.push([key, S(formatDuration(ms))]);
    return this;
  }
  /** common/config.Secret: `<secret>` when set; unset prints null unless omitted. */
  secret(key: string, v: string, omitempty = true): this {
    if (v !== '') this.items.push([key, S('<secret>')]);
    else if (!omitempty) this.items.push([key, NULL]);
    return this;
  }
  strList(key: string, v: string[] | undefined, omitempty = true, flow = false): this {
    if (!(omitempty && (v === undefined || v.length === 0))) this.items.push([key, seqOf((v ?? []).map(S), flow)]);
    return this;
  }
  /** A field that is omitted when undefined (nil pointer, empty slice or map, zero struct with omitempty). */
  node(key: string, n: GoNode | undefined): this {
    if (n !== undefined) this.items.push([key, n]);
    return this;
  }
  add(items: Array<[string, GoNode]>): this {
    this.items.push(...items);
    return this;
  }
  get empty(): boolean {
    return this.items.length === 0;
  }
  done(): GoNode {
    return { k: 'map', items: this.items };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// yaml.v2's map key order (sorter.go keyList.Less) for string keys.

const isLetter = (c: number): boolean => (c < 0x80 ? (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) : /\p{L}/u.test(String.fromCodePoint(c)));
const isDigit = (c: number): boolean => (c < 0x80 ? c >= 0x30 && c <= 0x39 : /\p{Nd}/u.test(String.fromCodePoint(c)));

function goKeyLess(a: string, b: string): boolean {
  const ar = Array.from(a, (c) => c.codePointAt(0)!);
  const br = Array.from(b, (c) => c.codePointAt(0)!);
  for (let i = 0; i < ar.length && i < br.length; i++) {
    const x = ar[i]!;
    const y = br[i]!;
    if (x === y) continue;
    const al = isLetter(x);
    const bl = isLetter(y);
    if (al && bl) return x < y;
    if (al || bl) return bl;
    let an = 0n;
    let bn = 0n;
    if (x === 0x30 || y === 0x30) {
      for (let j = i - 1; j >= 0 && isDigit(ar[j]!); j--) {
        if (ar[j] !== 0x30) {
          an = 1n;
          bn = 1n;
          break;
        }
      }
    }
    let ai = i;
    for (; ai < ar.length && isDigit(ar[ai]!); ai++) an = BigInt.asIntN(64, an * 10n + BigInt(ar[ai]! - 0x30));
    let bi = i;
    for (; bi < br.length && isDigit(br[bi]!); bi++) bn = BigInt.asIntN(64, bn * 10n + BigInt(br[bi]! - 0x30));
    if (an !== bn) return an < bn;
    if (ai !== bi) return ai < bi;
    return x < y;
  }
  return ar.length < br.length;
}

/** A Go map with string keys, in yaml.v2's order. */
export function goMap(entries: Iterable<[string, GoNode]>): GoNode {
  const items = [...entries].sort(([a], [b]) => (goKeyLess(a, b) ? -1 : goKeyLess(b, a) ? 1 : 0));
  return { k: 'map', items };
}

// ---------------------------------------------------------------------------------------------------------------
// yaml.v2 resolve(): would a plain scalar read back as something other than a string?

const RESOLVE_MAP = new Set([
  'y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON',
  'n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF',
  '', '~', 'null', 'Null', 'NULL', '.nan', '.NaN', '.NAN', '.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF',
  '-.inf', '-.Inf', '-.INF', '<<',
]);

/** strconv.ParseFloat(s, 64) succeeds (decimal syntax, no overflow); only reached for such shapes. */
function goParsesDecimalFloat(s: string): boolean {
  if (!/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(s)) return false;
  return Number.isFinite(Number(s));
}

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

/** strconv.ParseInt(s, 0, 64) or ParseUint(s, 0, 64) succeeds. */
function goParsesInt(s: string): boolean {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) return false;
  let body = m[2]!;
  if (/^0[0-7]+$/.test(body)) body = '0o' + body.slice(1);
  const v = BigInt(body) * (m[1] === '-' ? -1n : 1n);
  if (v >= INT64_MIN && v <= INT64_MAX) return true;
  return m[1] === '' && v <= UINT64_MAX; // ParseUint takes no sign
}

function daysIn(month: number, year: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** yaml.v2 parseTimestamp with Go's time.Parse and the four accepted layouts. */
function goParsesTimestamp(s: string): boolean {
  if (!/^\d{4}-/.test(s)) return false;
  const m = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:(?:[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})(?:[.,]\d+)?(?:Z|[+-]\d{2}:\d{2}))|(?: (\d{1,2}):(\d{1,2}):(\d{1,2})(?:[.,]\d+)?))?$/.exec(s);
  if (!m) return false;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1 || day > daysIn(month, year)) return false;
  const h = m[4] ?? m[7];
  if (h !== undefined) {
    const mi = m[5] ?? m[8];
    const se = m[6] ?? m[9];
    if (Number(h) > 23 || Number(mi) > 59 || Number(se) > 59) return false;
  }
  return true;
}

function resolvesToString(s: string): boolean {
  let hint: string;
  if (s === '') hint = 'N';
  else {
    const c = Buffer.from(s.slice(0, 2), 'utf8')[0]!;
    if (c === 0x2b || c === 0x2d) hint = 'S';
    else if (c >= 0x30 && c <= 0x39) hint = 'D';
    else if ('yYnNtTfFoO~'.includes(String.fromCharCode(c))) hint = 'M';
    else if (c === 0x2e) hint = '.';
    else return true;
  }
  if (RESOLVE_MAP.has(s)) return false;
  if (hint === '.') return !goParsesDecimalFloat(s);
  if (hint === 'D' || hint === 'S') {
    if (goParsesTimestamp(s)) return false;
    const plain = s.replace(/_/g, '');
    if (goParsesInt(plain)) return false;
    if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(plain) && goParsesDecimalFloat(plain)) return false;
    if (plain.startsWith('0b')) {
      const m = /^([+-]?)([01]+)$/.exec(plain.slice(2));
      if (m) {
        const v = BigInt('0b' + m[2]!) * (m[1] === '-' ? -1n : 1n);
        if ((v >= INT64_MIN && v <= INT64_MAX) || (m[1] === '' && v <= UINT64_MAX)) return false;
      }
    } else if (plain.startsWith('-0b')) {
      const m = /^[01]+$/.exec(plain.slice(3));
      if (m && -BigInt('0b' + m[0]) >= INT64_MIN) return false;
    }
  }
  return true;
}

function isBase60Float(s: string): boolean {
  if (s === '') return false;
  const c = s[0]!;
  if (!(c === '+' || c === '-' || (c >= '0' && c <= '9')) || !s.includes(':')) return false;
  return /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/.test(s);
}

// ---------------------------------------------------------------------------------------------------------------
// yaml.v2's emitter (emitterc.go), for the events its encoder produces: no tags, no anchors, implicit documents.

const enum Ev { StreamStart, StreamEnd, DocStart, DocEnd, SeqStart, SeqEnd, MapStart, MapEnd, Scalar }
const enum Style { Any, Plain, Single, Double, Literal, Folded }
const enum St {
  StreamStart, FirstDocStart, DocStart, DocContent, DocEnd, FlowSeqFirst, FlowSeqItem, FlowMapFirstKey, FlowMapKey,
  FlowMapSimpleValue, FlowMapValue, BlockSeqFirst, BlockSeqItem, BlockMapFirstKey, BlockMapKey, BlockMapSimpleValue,
  BlockMapValue, End,
}

interface YamlEvent {
  t: Ev;
  flow?: boolean;
  value?: Buffer;
  style?: Style;
}

/** encoder.go: the events for one Go value. */
function encodeEvents(root: GoNode): YamlEvent[] {
  const out: YamlEvent[] = [{ t: Ev.StreamStart }, { t: Ev.DocStart }];
  const scalar = (v: string, style: Style) => out.push({ t: Ev.Scalar, value: Buffer.from(v, 'utf8'), style });
  const str = (s: string) => {
    // stringv: literal for text with newlines, plain when it reads back as the same string, else double-quoted.
    const canUsePlain = resolvesToString(s) && !isBase60Float(s);
    scalar(s, s.includes('\n') ? Style.Literal : canUsePlain ? Style.Plain : Style.Double);
  };
  const walk = (n: GoNode) => {
    switch (n.k) {
      case 'map':
        out.push({ t: Ev.MapStart });
        for (const [k, v] of n.items) {
          str(k);
          walk(v);
        }
        out.push({ t: Ev.MapEnd });
        break;
      case 'seq':
        out.push({ t: Ev.SeqStart, flow: n.flow });
        n.items.forEach(walk);
        out.push({ t: Ev.SeqEnd });
        break;
      case 'str':
        str(n.v);
        break;
      case 'raw':
        scalar(n.v, Style.Plain);
        break;
    }
  };
  walk(root);
  out.push({ t: Ev.DocEnd }, { t: Ev.StreamEnd });
  return out;
}

const width = (b: number): number => ((b & 0x80) === 0 ? 1 : (b & 0xe0) === 0xc0 ? 2 : (b & 0xf0) === 0xe0 ? 3 : (b & 0xf8) === 0xf0 ? 4 : 0);
const isSpace = (b: Buffer, i: number): boolean => b[i] === 0x20;
const isBlank = (b: Buffer, i: number): boolean => b[i] === 0x20 || b[i] === 0x09;
const isBreak = (b: Buffer, i: number): boolean =>
  b[i] === 0x0d || b[i] === 0x0a || (b[i] === 0xc2 && b[i + 1] === 0x85) ||
  (b[i] === 0xe2 && b[i + 1] === 0x80 && (b[i + 2] === 0xa8 || b[i + 2] === 0xa9));
const isBlankz = (b: Buffer, i: number): boolean => isBlank(b, i) || isBreak(b, i) || b[i] === 0 || b[i] === undefined;
const isBom = (b: Buffer): boolean => b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf;
function isPrintable(b: Buffer, i: number): boolean {
  const c = b[i]!;
  const c1 = b[i + 1] ?? -1;
  const c2 = b[i + 2] ?? -1;
  return c === 0x0a || (c >= 0x20 && c <= 0x7e) || (c === 0xc2 && c1 >= 0xa0) || (c > 0xc2 && c < 0xed) ||
    (c === 0xed && c1 < 0xa0) || c === 0xee || (c === 0xef && !(c1 === 0xbb && c2 === 0xbf) && !(c1 === 0xbf && (c2 === 0xbe || c2 === 0xbf)));
}

class Emitter {
  private readonly out: number[] = [];
  private readonly bestIndent = 2;
  private readonly bestWidth = 80;
  private state = St.StreamStart;
  private readonly states: St[] = [];
  private indent = -1;
  private readonly indents: number[] = [];
  private flowLevel = 0;
  private column = 0;
  private whitespace = true;
  private indention = true;
  private openEnded = false;
  private rootContext = false;
  private mappingContext = false;
  private simpleKeyContext = false;
  private events: YamlEvent[] = [];
  private head = 0;
  private sd: { value: Buffer; multiline: boolean; flowPlain: boolean; blockPlain: boolean; singleQuoted: boolean; block: boolean; style: Style } = { value: Buffer.alloc(0), multiline: false, flowPlain: false, blockPlain: false, singleQuoted: false, block: false, style: Style.Any };

  run(events: YamlEvent[]): string {
    this.events = events;
    for (this.head = 0; this.head < events.length; this.head++) {
      const ev = events[this.head]!;
      if (ev.t === Ev.Scalar) this.analyzeScalar(ev.value!);
      this.dispatch(ev);
    }
    return Buffer.from(this.out).toString('utf8');
  }

  // --- output primitives
  private put(c: number): void {
    this.out.push(c);
    this.column++;
  }
  private putBreak(): void {
    this.out.push(0x0a);
    this.column = 0;
  }
  private write(s: Buffer, i: number): number {
    const w = width(s[i]!);
    for (let k = 0; k < w; k++) this.out.push(s[i + k]!);
    this.column++;
    return i + w;
  }
  private writeAll(s: string): void {
    const b = Buffer.from(s, 'utf8');
    for (let i = 0; i < b.length;) i = this.write(b, i);
  }
  private writeBreak(s: Buffer, i: number): number {
    if (s[i] === 0x0a) {
      this.putBreak();
      return i + 1;
    }
    const n = this.write(s, i);
    this.column = 0;
    return n;
  }
  private writeIndent(): void {
    const indent = Math.max(this.indent, 0);
    if (!this.indention || this.column > indent || (this.column === indent && !this.whitespace)) this.putBreak();
    while (this.column < indent) this.put(0x20);
    this.whitespace = true;
    this.indention = true;
  }
  private writeIndicator(ind: string, needWhitespace: boolean, isWhitespace: boolean, isIndention: boolean): void {
    if (needWhitespace && !this.whitespace) this.put(0x20);
    this.writeAll(ind);
    this.whitespace = isWhitespace;
    this.indention = this.indention && isIndention;
    this.openEnded = false;
  }
  private increaseIndent(flow: boolean, indentless: boolean): void {
    this.indents.push(this.indent);
    if (this.indent < 0) this.indent = flow ? this.bestIndent : 0;
    else if (!indentless) this.indent += this.bestIndent;
  }
  private popIndent(): void {
    this.indent = this.indents.pop()!;
  }
  private popState(): void {
    this.state = this.states.pop()!;
  }

  // --- state machine
  private dispatch(ev: YamlEvent): void {
    switch (this.state) {
      case St.StreamStart:
        if (ev.t !== Ev.StreamStart) throw new Error('yaml emitter: expected STREAM-START');
        this.indent = -1;
        this.column = 0;
        this.whitespace = true;
        this.indention = true;
        this.state = St.FirstDocStart;
        return;
      case St.FirstDocStart:
      case St.DocStart:
        if (ev.t === Ev.DocStart) {
          this.state = St.DocContent; // implicit document: no `---`
          return;
        }
        if (ev.t === Ev.StreamEnd) {
          if (this.openEnded) {
            this.writeIndicator('...', true, false, false);
            this.writeIndent();
          }
          this.state = St.End;
          return;
        }
        throw new Error('yaml emitter: expected DOCUMENT-START or STREAM-END');
      case St.DocContent:
        this.states.push(St.DocEnd);
        return this.emitNode(ev, true, false, false, false);
      case St.DocEnd:
        if (ev.t !== Ev.DocEnd) throw new Error('yaml emitter: expected DOCUMENT-END');
        this.writeIndent();
        this.state = St.DocStart;
        return;
      case St.FlowSeqFirst:
        return this.flowSequenceItem(ev, true);
      case St.FlowSeqItem:
        return this.flowSequenceItem(ev, false);
      case St.FlowMapFirstKey:
        return this.flowMappingKey(ev, true);
      case St.FlowMapKey:
        return this.flowMappingKey(ev, false);
      case St.FlowMapSimpleValue:
        return this.flowMappingValue(ev, true);
      case St.FlowMapValue:
        return this.flowMappingValue(ev, false);
      case St.BlockSeqFirst:
        return this.blockSequenceItem(ev, true);
      case St.BlockSeqItem:
        return this.blockSequenceItem(ev, false);
      case St.BlockMapFirstKey:
        return this.blockMappingKey(ev, true);
      case St.BlockMapKey:
        return this.blockMappingKey(ev, false);
      case St.BlockMapSimpleValue:
        return this.blockMappingValue(ev, true);
      case St.BlockMapValue:
        return this.blockMappingValue(ev, false);
      case St.End:
        throw new Error('yaml emitter: expected nothing after STREAM-END');
    }
  }

  private flowSequenceItem(ev: YamlEvent, first: boolean): void {
    if (first) {
      this.writeIndicator('[', true, true, false);
      this.increaseIndent(true, false);
      this.flowLevel++;
    }
    if (ev.t === Ev.SeqEnd) {
      this.flowLevel--;
      this.popIndent();
      this.writeIndicator(']', false, false, false);
      this.popState();
      return;
    }
    if (!first) this.writeIndicator(',', false, false, false);
    if (this.column > this.bestWidth) this.writeIndent();
    this.states.push(St.FlowSeqItem);
    this.emitNode(ev, false, true, false, false);
  }

  private flowMappingKey(ev: YamlEvent, first: boolean): void {
    if (first) {
      this.writeIndicator('{', true, true, false);
      this.increaseIndent(true, false);
      this.flowLevel++;
    }
    if (ev.t === Ev.MapEnd) {
      this.flowLevel--;
      this.popIndent();
      this.writeIndicator('}', false, false, false);
      this.popState();
      return;
    }
    if (!first) this.writeIndicator(',', false, false, false);
    if (this.column > this.bestWidth) this.writeIndent();
    if (this.checkSimpleKey()) {
      this.states.push(St.FlowMapSimpleValue);
      return this.emitNode(ev, false, false, true, true);
    }
    this.writeIndicator('?', true, false, false);
    this.states.push(St.FlowMapValue);
    this.emitNode(ev, false, false, true, false);
  }

  private flowMappingValue(ev: YamlEvent, simple: boolean): void {
    if (simple) this.writeIndicator(':', false, false, false);
    else {
      if (this.column > this.bestWidth) this.writeIndent();
      this.writeIndicator(':', true, false, false);
    }
    this.states.push(St.FlowMapKey);
    this.emitNode(ev, false, false, true, false);
  }

  private blockSequenceItem(ev: YamlEvent, first: boolean): void {
    if (first) this.increaseIndent(false, this.mappingContext && !this.indention);
    if (ev.t === Ev.SeqEnd) {
      this.popIndent();
      this.popState();
      return;
    }
    this.writeIndent();
    this.writeIndicator('-', true, false, true);
    this.states.push(St.BlockSeqItem);
    this.emitNode(ev, false, true, false, false);
  }

  private blockMappingKey(ev: YamlEvent, first: boolean): void {
    if (first) this.increaseIndent(false, false);
    if (ev.t === Ev.MapEnd) {
      this.popIndent();
      this.popState();
      return;
    }
    this.writeIndent();
    if (this.checkSimpleKey()) {
      this.states.push(St.BlockMapSimpleValue);
      return this.emitNode(ev, false, false, true, true);
    }
    this.writeIndicator('?', true, false, true);
    this.states.push(St.BlockMapValue);
    this.emitNode(ev, false, false, true, false);
  }

  private blockMappingValue(ev: YamlEvent, simple: boolean): void {
    if (simple) this.writeIndicator(':', false, false, false);
    else {
      this.writeIndent();
      this.writeIndicator(':', true, false, true);
    }
    this.states.push(St.BlockMapKey);
    this.emitNode(ev, false, false, true, false);
  }

  private emitNode(ev: YamlEvent, root: boolean, _sequence: boolean, mapping: boolean, simpleKey: boolean): void {
    this.rootContext = root;
    this.mappingContext = mapping;
    this.simpleKeyContext = simpleKey;
    switch (ev.t) {
      case Ev.Scalar:
        return this.emitScalar(ev);
      case Ev.SeqStart:
        this.state = this.flowLevel > 0 || ev.flow || this.checkEmpty(Ev.SeqStart, Ev.SeqEnd) ? St.FlowSeqFirst : St.BlockSeqFirst;
        return;
      case Ev.MapStart:
        this.state = this.flowLevel > 0 || ev.flow || this.checkEmpty(Ev.MapStart, Ev.MapEnd) ? St.FlowMapFirstKey : St.BlockMapFirstKey;
        return;
      default:
        throw new Error('yaml emitter: expected SCALAR, SEQUENCE-START or MAPPING-START');
    }
  }

  private checkEmpty(start: Ev, end: Ev): boolean {
    return this.events[this.head]?.t === start && this.events[this.head + 1]?.t === end;
  }

  private checkSimpleKey(): boolean {
    const ev = this.events[this.head]!;
    switch (ev.t) {
      case Ev.Scalar:
        if (this.sd.multiline) return false;
        return this.sd.value.length <= 128;
      case Ev.SeqStart:
        return this.checkEmpty(Ev.SeqStart, Ev.SeqEnd);
      case Ev.MapStart:
        return this.checkEmpty(Ev.MapStart, Ev.MapEnd);
      default:
        return false;
    }
  }

  private emitScalar(ev: YamlEvent): void {
    this.selectScalarStyle(ev);
    this.increaseIndent(true, false);
    const v = this.sd.value;
    const allowBreaks = !this.simpleKeyContext;
    switch (this.sd.style) {
      case Style.Plain:
        this.writePlain(v, allowBreaks);
        break;
      case Style.Single:
        this.writeSingleQuoted(v, allowBreaks);
        break;
      case Style.Double:
        this.writeDoubleQuoted(v, allowBreaks);
        break;
      case Style.Literal:
        this.writeLiteral(v);
        break;
      default:
        throw new Error('yaml emitter: unexpected scalar style');
    }
    this.popIndent();
    this.popState();
  }

  private selectScalarStyle(ev: YamlEvent): void {
    let style = ev.style ?? Style.Any;
    if (style === Style.Any) style = Style.Plain;
    if (this.simpleKeyContext && this.sd.multiline) style = Style.Double;
    if (style === Style.Plain) {
      if ((this.flowLevel > 0 && !this.sd.flowPlain) || (this.flowLevel === 0 && !this.sd.blockPlain)) style = Style.Single;
      if (this.sd.value.length === 0 && (this.flowLevel > 0 || this.simpleKeyContext)) style = Style.Single;
    }
    if (style === Style.Single && !this.sd.singleQuoted) style = Style.Double;
    if ((style === Style.Literal || style === Style.Folded) && (!this.sd.block || this.flowLevel > 0 || this.simpleKeyContext)) style = Style.Double;
    this.sd.style = style;
  }

  private analyzeScalar(value: Buffer): void {
    const sd = this.sd;
    sd.value = value;
    if (value.length === 0) {
      Object.assign(sd, { multiline: false, flowPlain: false, blockPlain: true, singleQuoted: true, block: false });
      return;
    }
    let blockIndicators = false;
    let flowIndicators = false;
    let lineBreaks = false;
    let specialCharacters = false;
    let leadingSpace = false;
    let leadingBreak = false;
    let trailingSpace = false;
    let trailingBreak = false;
    let breakSpace = false;
    let spaceBreak = false;
    let previousSpace = false;
    let previousBreak = false;
    if (value.length >= 3 && ((value[0] === 0x2d && value[1] === 0x2d && value[2] === 0x2d) || (value[0] === 0x2e && value[1] === 0x2e && value[2] === 0x2e))) {
      blockIndicators = true;
      flowIndicators = true;
    }
    let precededByWhitespace = true;
    for (let i = 0, w = 0; i < value.length; i += w) {
      w = width(value[i]!);
      const followedByWhitespace = i + w >= value.length || isBlank(value, i + w);
      const c = String.fromCharCode(value[i]!);
      if (i === 0) {
        if ('#,[]{}&*!|>\'"%@`'.includes(c)) {
          flowIndicators = true;
          blockIndicators = true;
        } else if (c === '?' || c === ':') {
          flowIndicators = true;
          if (followedByWhitespace) blockIndicators = true;
        } else if (c === '-' && followedByWhitespace) {
          flowIndicators = true;
          blockIndicators = true;
        }
      } else if (',?[]{}'.includes(c)) {
        flowIndicators = true;
      } else if (c === ':') {
        flowIndicators = true;
        if (followedByWhitespace) blockIndicators = true;
      } else if (c === '#' && precededByWhitespace) {
        flowIndicators = true;
        blockIndicators = true;
      }
      if (!isPrintable(value, i)) specialCharacters = true; // the emitter is in unicode mode
      if (isSpace(value, i)) {
        if (i === 0) leadingSpace = true;
        if (i + w === value.length) trailingSpace = true;
        if (previousBreak) breakSpace = true;
        previousSpace = true;
        previousBreak = false;
      } else if (isBreak(value, i)) {
        lineBreaks = true;
        if (i === 0) leadingBreak = true;
        if (i + w === value.length) trailingBreak = true;
        if (previousSpace) spaceBreak = true;
        previousSpace = false;
        previousBreak = true;
      } else {
        previousSpace = false;
        previousBreak = false;
      }
      precededByWhitespace = isBlankz(value, i);
    }
    sd.multiline = lineBreaks;
    sd.flowPlain = true;
    sd.blockPlain = true;
    sd.singleQuoted = true;
    sd.block = true;
    if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) {
      sd.flowPlain = false;
      sd.blockPlain = false;
    }
    if (trailingSpace) sd.block = false;
    if (breakSpace) {
      sd.flowPlain = false;
      sd.blockPlain = false;
      sd.singleQuoted = false;
    }
    if (spaceBreak || specialCharacters) {
      sd.flowPlain = false;
      sd.blockPlain = false;
      sd.singleQuoted = false;
      sd.block = false;
    }
    if (lineBreaks) {
      sd.flowPlain = false;
      sd.blockPlain = false;
    }
    if (flowIndicators) sd.flowPlain = false;
    if (blockIndicators) sd.blockPlain = false;
  }

  private writePlain(value: Buffer, allowBreaks: boolean): void {
    if (!this.whitespace) this.put(0x20);
    let spaces = false;
    let breaks = false;
    for (let i = 0; i < value.length;) {
      if (isSpace(value, i)) {
        if (allowBreaks && !spaces && this.column > this.bestWidth && !isSpace(value, i + 1)) {
          this.writeIndent();
          i += width(value[i]!);
        } else {
          i = this.write(value, i);
        }
        spaces = true;
      } else if (isBreak(value, i)) {
        if (!breaks && value[i] === 0x0a) this.putBreak();
        i = this.writeBreak(value, i);
        this.indention = true;
        breaks = true;
      } else {
        if (breaks) this.writeIndent();
        i = this.write(value, i);
        this.indention = false;
        spaces = false;
        breaks = false;
      }
    }
    this.whitespace = false;
    this.indention = false;
    if (this.rootContext) this.openEnded = true;
  }

  private writeSingleQuoted(value: Buffer, allowBreaks: boolean): void {
    this.writeIndicator("'", true, false, false);
    let spaces = false;
    let breaks = false;
    for (let i = 0; i < value.length;) {
      if (isSpace(value, i)) {
        if (allowBreaks && !spaces && this.column > this.bestWidth && i > 0 && i < value.length - 1 && !isSpace(value, i + 1)) {
          this.writeIndent();
          i += width(value[i]!);
        } else {
          i = this.write(value, i);
        }
        spaces = true;
      } else if (isBreak(value, i)) {
        if (!breaks && value[i] === 0x0a) this.putBreak();
        i = this.writeBreak(value, i);
        this.indention = true;
        breaks = true;
      } else {
        if (breaks) this.writeIndent();
        if (value[i] === 0x27) this.put(0x27);
        i = this.write(value, i);
        this.indention = false;
        spaces = false;
        breaks = false;
      }
    }
    this.writeIndicator("'", false, false, false);
    this.whitespace = false;
    this.indention = false;
  }

  private writeDoubleQuoted(value: Buffer, allowBreaks: boolean): void {
    let spaces = false;
    this.writeIndicator('"', true, false, false);
    const hex = (v: number, digits: number) => {
      for (let k = (digits - 1) * 4; k >= 0; k -= 4) {
        const d = (v >> k) & 0x0f;
        this.put(d < 10 ? d + 0x30 : d + 0x41 - 10);
      }
    };
    for (let i = 0; i < value.length;) {
      const c = value[i]!;
      if (!isPrintable(value, i) || isBom(value) || isBreak(value, i) || c === 0x22 || c === 0x5c) {
        let w = 1;
        let v = c & 0x7f;
        if ((c & 0x80) === 0) [w, v] = [1, c & 0x7f];
        else if ((c & 0xe0) === 0xc0) [w, v] = [2, c & 0x1f];
        else if ((c & 0xf0) === 0xe0) [w, v] = [3, c & 0x0f];
        else if ((c & 0xf8) === 0xf0) [w, v] = [4, c & 0x07];
        for (let k = 1; k < w; k++) v = (v << 6) + ((value[i + k] ?? 0) & 0x3f);
        i += w;
        this.put(0x5c);
        const esc: Record<number, string> = {
          0x00: '0', 0x07: 'a', 0x08: 'b', 0x09: 't', 0x0a: 'n', 0x0b: 'v', 0x0c: 'f', 0x0d: 'r', 0x1b: 'e',
          0x22: '"', 0x5c: '\\', 0x85: 'N', 0xa0: '_', 0x2028: 'L', 0x2029: 'P',
        };
        const e = esc[v];
        if (e !== undefined) this.put(e.charCodeAt(0));
        else if (v <= 0xff) {
          this.put(0x78); // x
          hex(v, 2);
        } else if (v <= 0xffff) {
          this.put(0x75); // u
          hex(v, 4);
        } else {
          this.put(0x55); // U
          hex(v, 8);
        }
        spaces = false;
      } else if (isSpace(value, i)) {
        if (allowBreaks && !spaces && this.column > this.bestWidth && i > 0 && i < value.length - 1) {
          this.writeIndent();
          if (isSpace(value, i + 1)) this.put(0x5c);
          i += width(value[i]!);
        } else {
          i = this.write(value, i);
        }
        spaces = true;
      } else {
        i = this.write(value, i);
        spaces = false;
      }
    }
    this.writeIndicator('"', false, false, false);
    this.whitespace = false;
    this.indention = false;
  }

  private writeBlockScalarHints(value: Buffer): void {
    if (isSpace(value, 0) || isBreak(value, 0)) this.writeIndicator(String(this.bestIndent), false, false, false);
    this.openEnded = false;
    let chomp = '';
    if (value.length === 0) chomp = '-';
    else {
      let i = value.length - 1;
      while ((value[i]! & 0xc0) === 0x80) i--;
      if (!isBreak(value, i)) chomp = '-';
      else if (i === 0) {
        chomp = '+';
        this.openEnded = true;
      } else {
        i--;
        while ((value[i]! & 0xc0) === 0x80) i--;
        if (isBreak(value, i)) {
          chomp = '+';
          this.openEnded = true;
        }
      }
    }
    if (chomp) this.writeIndicator(chomp, false, false, false);
  }

  private writeLiteral(value: Buffer): void {
    this.writeIndicator('|', true, false, false);
    this.writeBlockScalarHints(value);
    this.putBreak();
    this.indention = true;
    this.whitespace = true;
    let breaks = true;
    for (let i = 0; i < value.length;) {
      if (isBreak(value, i)) {
        i = this.writeBreak(value, i);
        this.indention = true;
        breaks = true;
      } else {
        if (breaks) this.writeIndent();
        i = this.write(value, i);
        this.indention = false;
        breaks = false;
      }
    }
  }
}

/** gopkg.in/yaml.v2 Marshal of a Go value tree. */
export function marshalGoYaml(root: GoNode): string {
  return new Emitter().run(encodeEvents(root));
}

