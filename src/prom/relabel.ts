/**
 * Prometheus 2.42's model/relabel: reading `relabel_configs` entries as Config.UnmarshalYAML does, and
 * applying them as relabel.Process does. Facts checked against the Prometheus 2.42.0 binary (promtool):
 * - a `replace` whose expanded target is not a valid label name, or whose expanded replacement is empty,
 *   deletes the label named by the *unexpanded* `target_label` (2.42 behaviour, fixed in later releases);
 * - setting a label to "" deletes it (labels.Builder.Set), so `lowercase` of a missing label removes the target;
 * - `labelmap` reads the label set as it was before the rule and writes in label-name order;
 * - a field given as YAML null takes Go's zero value, not the default (`regex:` matches only "",
 *   `separator:` is "", `action:` is "relabel action cannot be empty");
 * - `keepequal`/`dropequal` reject any explicit `regex`, even `(.*)` (Go compares the regex pointer with the
 *   default one), but accept explicit default separator and replacement values.
 */
import * as crypto from 'node:crypto';
import { ConfigError, type YamlPath } from './errors.js';
import { readList, readMap, readString } from './decode.js';
import { compareLabelNames, isValidLabelName, type Labels } from './labels.js';
import { expandTemplate, parseTemplate, Re2Regex, type Template } from './regex.js';
import { YamlLiteral } from './yaml-plain.js';
import { NameLayouts, isOutput, omitMaskOf, outputTemplate, slotOf, type NameLayout } from './relabel-layout.js';

export type RelabelAction =
  | 'replace'
  | 'keep'
  | 'drop'
  | 'hashmod'
  | 'labelmap'
  | 'labeldrop'
  | 'labelkeep'
  | 'lowercase'
  | 'uppercase'
  | 'keepequal'
  | 'dropequal';

export type Modulus = number | bigint;

export interface RelabelConfig {
  sourceLabels: string[];
  separator: string;
  regex: Re2Regex;
  /** A uint64: a number up to 2^53, a bigint above, where a double would lose digits. */
  modulus: Modulus;
  targetLabel: string;
  replacement: string;
  action: RelabelAction;
}

export const RELABEL_FIELDS: readonly string[] = ['source_labels', 'separator', 'regex', 'modulus', 'target_label', 'replacement', 'action'];

const ACTIONS: ReadonlySet<string> = new Set<RelabelAction>([
  'replace', 'keep', 'drop', 'hashmod', 'labelmap', 'labeldrop', 'labelkeep', 'lowercase', 'uppercase', 'keepequal', 'dropequal',
]);

export const DEFAULT_SEPARATOR = ';';
export const DEFAULT_REPLACEMENT = '$1';
export const DEFAULT_REGEX_SOURCE = '(.*)';

let defaultRegex: Re2Regex | undefined;

/** The shared default regex `(.*)` (DefaultRelabelConfig.Regex). */
export function defaultRelabelRegex(): Re2Regex {
  defaultRegex ??= Re2Regex.compile(DEFAULT_REGEX_SOURCE);
  return defaultRegex;
}

/** Go's %q for the strings in messages: strconv.Quote. */
function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (c === 7) out += '\\a';
    else if (c === 8) out += '\\b';
    else if (c === 12) out += '\\f';
    else if (c === 10) out += '\\n';
    else if (c === 13) out += '\\r';
    else if (c === 9) out += '\\t';
    else if (c === 11) out += '\\v';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + '"';
}

/** `target_label` of replace and labelmap's `replacement` (relabelTarget in relabel.go, written without nested loops). */
const RELABEL_TARGET = /^(?:[a-zA-Z_]|\$\{\w+\}|\$\w)(?:\w|\$\{\w+\}|\$\w)*$/;

/** Whether `s` may be a `target_label` of replace with `$` references, as Prometheus checks it. */
export function isValidRelabelTarget(s: string): boolean {
  return RELABEL_TARGET.test(s);
}

function yamlTag(v: unknown): string {
  if (v instanceof YamlLiteral) {
    const t = typeof v.value === 'boolean' ? '!!bool' : Number.isInteger(Number(v.value)) ? '!!int' : '!!float';
    return `${t} \`${v.text}\``;
  }
  if (typeof v === 'string') return `!!str \`${v}\``;
  if (typeof v === 'number') return `${Number.isInteger(v) ? '!!int' : '!!float'} \`${v}\``;
  if (typeof v === 'boolean') return `!!bool \`${v}\``;
  if (Array.isArray(v)) return '!!seq';
  return '!!map';
}

/**
 * `modulus` as yaml.v2 decodes it into a uint64: integers ≥ 0, floats truncated, no strings. Above 2^53 a
 * double loses digits, so such moduli are read exactly from the YAML text and kept as a bigint.
 */
function readModulus(v: unknown, path: YamlPath): Modulus {
  if (v === null || v === undefined) return 0;
  const val = v instanceof YamlLiteral ? v.value : v;
  if (v instanceof YamlLiteral && /^\+?(?:[0-9][0-9_]*|0x[0-9a-fA-F_]+|0o[0-7_]+|0b[01_]+)$/.test(v.text)) {
    const exact = BigInt(v.text.replace(/^\+/, '').replace(/_/g, ''));
    if (exact > MAX_UINT64) throw new ConfigError(`cannot unmarshal ${yamlTag(v)} into uint64`, path);
    return exact <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(exact) : exact;
  }
  if (typeof val === 'bigint' && val >= 0n && val <= MAX_UINT64) return val <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(val) : val;
  if (typeof val === 'number' && Number.isFinite(val) && val >= 0 && val < 2 ** 64) {
    const t = Math.trunc(val);
    return Number.isSafeInteger(t) ? t : BigInt(t);
  }
  throw new ConfigError(`cannot unmarshal ${yamlTag(v)} into uint64`, path);
}

const MAX_UINT64 = (1n << 64n) - 1n;

function fieldString(v: unknown, path: YamlPath, what: string): string {
  // A YAML null gives Go's zero value.
  return v === null || v === undefined ? '' : readString(v, path, what);
}

/**
 * Reads and validates one `relabel_configs` entry as Prometheus 2.42's relabel.Config.UnmarshalYAML and
 * Validate do. Throws ConfigError pointing at the offending field (or at the entry).
 */
export function readRelabelConfig(raw: unknown, path: YamlPath): RelabelConfig {
  if (raw === null || raw === undefined) throw new ConfigError('empty or null relabeling rule', path);
  const m = readMap(raw, path, 'relabel config', RELABEL_FIELDS);
  const at = (key: string): YamlPath => (key in m ? [...path, key] : path);

  let sourceLabels: string[] = [];
  let sourceLabelsSet = false;
  let separator = DEFAULT_SEPARATOR;
  let regex = defaultRelabelRegex();
  let regexSet = false;
  let modulus: Modulus = 0;
  let targetLabel = '';
  let replacement = DEFAULT_REPLACEMENT;
  let action = 'replace';

  // Fields in document order, as yaml.v2 decodes them: the first bad one is reported.
  for (const key of Object.keys(m)) {
    const v = m[key];
    const p: YamlPath = [...path, key];
    switch (key) {
      case 'source_labels':
        if (v === null || v === undefined) break;
        sourceLabelsSet = true;
        sourceLabels = readList(v, p, 'source_labels').map((item, i) => {
          const name = fieldString(item, [...p, i], 'source_labels');
          if (!isValidLabelName(name)) throw new ConfigError(`${goQuote(name)} is not a valid label name`, [...p, i]);
          return name;
        });
        break;
      case 'separator':
        separator = fieldString(v, p, 'separator');
        break;
      case 'regex': {
        regexSet = true;
        const src = fieldString(v, p, 'regex');
        try {
          regex = Re2Regex.compile(src);
        } catch (e) {
          throw new ConfigError((e as Error).message, p);
        }
        break;
      }
      case 'modulus':
        modulus = readModulus(v, p);
        break;
      case 'target_label':
        targetLabel = fieldString(v, p, 'target_label');
        break;
      case 'replacement':
        replacement = fieldString(v, p, 'replacement');
        break;
      case 'action': {
        // null leaves Go's zero value ""; an explicit string goes through Action.UnmarshalYAML.
        const s = fieldString(v, p, 'action');
        const lower = s.toLowerCase();
        if (v !== null && v !== undefined && !ACTIONS.has(lower)) throw new ConfigError(`unknown relabel action ${goQuote(s)}`, p);
        action = lower;
        break;
      }
    }
  }

  // relabel.Config.Validate, check by check.
  const fail = (msg: string, key?: string): never => {
    throw new ConfigError(msg, key === undefined ? path : at(key));
  };
  if (action === '') fail('relabel action cannot be empty', 'action');
  if (modulus === 0 && action === 'hashmod') fail('relabel configuration for hashmod requires non-zero modulus', 'modulus');
  const needsTarget = ['replace', 'hashmod', 'lowercase', 'uppercase', 'keepequal', 'dropequal'].includes(action);
  if (needsTarget && targetLabel === '') fail(`relabel configuration for ${action} action requires 'target_label' value`);
  if (action === 'replace' && !targetLabel.includes('$') && !isValidLabelName(targetLabel)) {
    fail(`${goQuote(targetLabel)} is invalid 'target_label' for ${action} action`, 'target_label');
  }
  if (action === 'replace' && targetLabel.includes('$') && !isValidRelabelTarget(targetLabel)) {
    fail(`${goQuote(targetLabel)} is invalid 'target_label' for ${action} action`, 'target_label');
  }
  const caseOrEqual = ['lowercase', 'uppercase', 'keepequal', 'dropequal'].includes(action);
  if (caseOrEqual && !isValidLabelName(targetLabel)) fail(`${goQuote(targetLabel)} is invalid 'target_label' for ${action} action`, 'target_label');
  if (caseOrEqual && replacement !== DEFAULT_REPLACEMENT) fail(`'replacement' can not be set for ${action} action`, 'replacement');
  if (action === 'labelmap' && !isValidRelabelTarget(replacement)) {
    fail(`${goQuote(replacement)} is invalid 'replacement' for ${action} action`, 'replacement');
  }
  if (action === 'hashmod' && !isValidLabelName(targetLabel)) fail(`${goQuote(targetLabel)} is invalid 'target_label' for ${action} action`, 'target_label');
  if (action === 'keepequal' || action === 'dropequal') {
    if (regexSet || modulus !== 0 || separator !== DEFAULT_SEPARATOR || replacement !== DEFAULT_REPLACEMENT) {
      fail(`${action} action requires only 'source_labels' and \`target_label\`, and no other fields`);
    }
  }
  if (action === 'labeldrop' || action === 'labelkeep') {
    if (sourceLabelsSet || targetLabel !== '' || modulus !== 0 || separator !== DEFAULT_SEPARATOR || replacement !== DEFAULT_REPLACEMENT) {
      fail(`${action} action requires only 'regex', and no other fields`);
    }
  }
  return { sourceLabels, separator, regex, modulus, targetLabel, replacement, action: action as RelabelAction };
}

/**
 * A list of relabel configs (`relabel_configs`, `metric_relabel_configs`). `what` names an entry in the
 * message for a null one, e.g. "target relabeling rule" gives Prometheus's
 * "empty or null target relabeling rule in scrape config".
 */
export function readRelabelConfigs(raw: unknown, path: YamlPath, what: string): RelabelConfig[] {
  const list = readList(raw, path, what);
  const out: RelabelConfig[] = [];
  let firstNull = -1;
  list.forEach((item, i) => {
    if (item === null || item === undefined) {
      if (firstNull < 0) firstNull = i;
      return;
    }
    out.push(readRelabelConfig(item, [...path, i]));
  });
  // Go decodes the whole list first and checks for nil entries afterwards.
  if (firstNull >= 0) throw new ConfigError(`empty or null ${what} in scrape config`, [...path, firstNull]);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Go 1.19's unicode.ToLower / unicode.ToUpper (simple case mapping, Unicode 13.0.0), which strings.ToLower
// and strings.ToUpper apply per code point. Runs of "distance from the previous run's end . count-1 .
// stride . delta", base 36. Generated from Go 1.19.8's unicode package.
// ---------------------------------------------------------------------------------------------------------
const GO_TO_LOWER =
  "1t.p.1.w,2u.m.1.w,2.6.1.w,y.n.2.1,2.0.1.-5j,2.2.2.1,3.7.2.1,3.m.2.1,2.0.1.-3d,1.2.2.1,4.0.1.5u,1.1.2.1,2.0.1.5" +
  "q,1.0.1.1,2.1.1.5p,1.0.1.1,3.0.1.27,1.0.1.5m,1.0.1.5n,1.0.1.1,2.0.1.5p,1.0.1.5r,2.0.1.5v,1.0.1.5t,1.0.1.1,4.0." +
  "1.5v,1.0.1.5x,2.0.1.5y,1.2.2.1,2.0.1.62,1.0.1.1,2.0.1.62,3.0.1.1,2.0.1.62,1.0.1.1,2.1.1.61,1.1.2.1,2.0.1.63,1." +
  "0.1.1,4.0.1.1,8.0.1.2,1.0.1.1,2.0.1.2,1.0.1.1,2.0.1.2,1.8.2.1,3.8.2.1,3.0.1.2,1.1.2.1,2.0.1.-2p,1.0.1.-1k,1.j." +
  "2.1,2.0.1.-3m,2.8.2.1,8.0.1.8bv,1.0.1.1,2.0.1.-4j,1.0.1.8bs,3.0.1.1,2.0.1.-5f,1.0.1.1x,1.0.1.1z,1.4.2.1,82.1.2" +
  ".1,4.0.1.1,9.0.1.38,7.0.1.12,2.2.1.11,2.0.1.1s,2.1.1.1r,2.g.1.w,2.8.1.w,10.0.1.8,9.b.2.1,6.0.1.-1o,3.0.1.1,2.0" +
  ".1.-7,1.0.1.1,3.2.1.-3m,1.f.1.28,1.v.1.w,1d.g.2.1,a.q.2.1,2.0.1.f,1.6.2.1,3.1b.2.1,3.11.1.1c,28a.11.1.5ls,2.0." +
  "1.5ls,6.0.1.5ls,k3.27.1.tzk,1.5.1.8,1p7.16.1.-2bk,3.2.1.-2bk,8x.22.2.1,a.0.1.-5vj,2.1b.2.1,a.7.1.-8,9.5.1.-8,b" +
  ".7.1.-8,9.7.1.-8,9.5.1.-8,c.3.2.-8,9.7.1.-8,p.7.1.-8,9.7.1.-8,9.7.1.-8,9.1.1.-8,1.1.1.-22,1.0.1.-9,c.3.1.-2e,1" +
  ".0.1.-9,c.1.1.-8,1.1.1.-2s,d.1.1.-8,1.1.1.-34,1.0.1.-7,c.1.1.-3k,1.1.1.-3i,1.0.1.-9,8a.0.1.-5st,4.0.1.-6gv,1.0" +
  ".1.-6di,7.0.1.s,1a.f.1.g,k.0.1.1,mr.p.1.q,1f5.1a.1.1c,1e.0.1.1,2.0.1.-8af,1.0.1.-2xy,1.0.1.-89z,3.2.2.1,2.0.1." +
  "-8bg,1.0.1.-8al,1.0.1.-8bj,1.0.1.-8bi,2.0.1.1,3.0.1.1,9.1.1.-8cf,1.1d.2.1,9.1.2.1,5.0.1.1,nym.m.2.1,k.d.2.1,3s" +
  ".6.2.1,4.u.2.1,b.1.2.1,2.0.1.-r9g,1.4.2.1,5.0.1.1,2.0.1.-wmg,3.1.2.1,4.9.2.1,2.0.1.-wn8,1.0.1.-wnj,1.0.1.-wnf," +
  "1.0.1.-wn5,1.0.1.-wn8,2.0.1.-wlu,1.0.1.-wmi,1.0.1.-wlx,1.0.1.ps,1.5.2.1,4.0.1.1,2.0.1.-1c,1.0.1.-wn7,1.0.1.-ra" +
  "w,1.1.2.1,18.0.1.1,h7w.p.1.w,xy.13.1.14,3t.z.1.14,1il.1e.1.1s,2cu.v.1.w,gw1.v.1.w,o81.x.1.y";
const GO_TO_UPPER =
  "2p.p.1.-w,1n.0.1.kn,17.m.1.-w,2.6.1.-w,1.0.1.3d,2.n.2.-1,2.0.1.-6g,2.2.2.-1,3.7.2.-1,3.m.2.-1,3.2.2.-1,1.0.1.-" +
  "8c,1.0.1.5f,3.1.2.-1,3.0.1.-1,4.0.1.-1,6.0.1.-1,3.0.1.2p,4.0.1.-1,1.0.1.4j,4.0.1.3m,3.2.2.-1,3.0.1.-1,5.0.1.-1" +
  ",3.0.1.-1,4.1.2.-1,3.0.1.-1,4.0.1.-1,2.0.1.1k,6.0.1.-1,1.0.1.-2,2.0.1.-1,1.0.1.-2,2.0.1.-1,1.0.1.-2,2.7.2.-1,1" +
  ".0.1.-27,2.8.2.-1,3.0.1.-1,1.0.1.-2,2.0.1.-1,4.j.2.-1,4.8.2.-1,9.0.1.-1,3.1.1.8cf,2.0.1.-1,5.4.2.-1,1.0.1.8bj," +
  "1.0.1.8bg,1.0.1.8bi,1.0.1.-5u,1.0.1.-5q,2.1.1.-5p,2.0.1.-5m,2.0.1.-5n,1.0.1.wnj,4.0.1.-5p,1.0.1.wnf,2.0.1.-5r," +
  "2.0.1.wmg,1.0.1.wn8,2.0.1.-5t,1.0.1.-5v,1.0.1.wn8,1.0.1.8af,1.0.1.wn5,3.0.1.-5v,2.0.1.8al,1.0.1.-5x,3.0.1.-5y," +
  "8.0.1.89z,3.0.1.-62,2.0.1.wn7,1.0.1.-62,4.0.1.wmi,1.0.1.-62,1.0.1.-1x,1.1.1.-61,1.0.1.-1z,6.0.1.-63,b.0.1.wlx," +
  "1.0.1.wlu,4n.0.1.2c,18.1.2.-1,4.0.1.-1,4.2.1.3m,1b.0.1.-12,1.2.1.-11,2.g.1.-w,1.0.1.-v,1.8.1.-w,1.0.1.-1s,1.1." +
  "1.-1r,2.0.1.-1q,1.0.1.-1l,4.0.1.-1b,1.0.1.-1i,1.0.1.-8,2.b.2.-1,1.0.1.-2e,1.0.1.-28,1.0.1.7,1.0.1.-38,2.0.1.-2" +
  "o,3.0.1.-1,3.0.1.-1,1h.v.1.-w,1.f.1.-28,2.g.2.-1,a.q.2.-1,3.6.2.-1,1.0.1.-f,2.1b.2.-1,1e.11.1.-1c,28a.16.1.2bk" +
  ",3.2.1.2bk,l5.5.1.-8,1oj.0.1.-4tq,1.0.1.-4tp,1.0.1.-4tg,1.1.1.-4te,1.0.1.-4tf,1.0.1.-4t8,1.0.1.-4rp,1.0.1.r7m," +
  "6p.0.1.r9g,4.0.1.2xy,h.0.1.raw,37.22.2.-1,6.0.1.-1n,6.1b.2.-1,1.7.1.8,9.5.1.8,b.7.1.8,9.7.1.8,9.5.1.8,c.3.2.8," +
  "9.7.1.8,9.1.1.22,1.3.1.2e,1.1.1.2s,1.1.1.3k,1.1.1.34,1.1.1.3i,3.7.1.8,9.7.1.8,9.7.1.8,9.1.1.8,2.0.1.9,b.0.1.-5" +
  "k5,5.0.1.9,d.1.1.8,f.1.1.8,4.0.1.7,e.0.1.9,9n.0.1.-s,y.f.1.-g,5.0.1.-1,ng.p.1.-q,1fr.1a.1.-1c,3.0.1.-1,4.0.1.-" +
  "8bv,1.0.1.-8bs,2.2.2.-1,7.0.1.-1,3.0.1.-1,b.1d.2.-1,9.1.2.-1,5.0.1.-1,d.11.1.-5ls,2.0.1.-5ls,6.0.1.-5ls,nx0.m." +
  "2.-1,k.d.2.-1,3s.6.2.-1,4.u.2.-1,b.1.2.-1,3.4.2.-1,5.0.1.-1,5.1.2.-1,1.0.1.1c,3.9.2.-1,c.5.2.-1,4.0.1.-1,5.1.2" +
  ".-1,18.0.1.-1,nx.0.1.-ps,t.27.1.-tzk,ghu.p.1.-w,y6.13.1.-14,3t.z.1.-14,1j9.1e.1.-1s,2by.v.1.-w,gw1.v.1.-w,o83." +
  "x.1.-y";

let lowerMap: Map<number, number> | undefined;
let upperMap: Map<number, number> | undefined;

function decodeCaseTable(src: string): Map<number, number> {
  const m = new Map<number, number>();
  let prev = 0;
  for (const item of src.split(',')) {
    const [a, n, st, d] = item.split('.') as [string, string, string, string];
    const start = prev + parseInt(a, 36);
    const count = parseInt(n, 36) + 1;
    const stride = Number(st);
    const delta = parseInt(d, 36);
    for (let i = 0; i < count; i++) m.set(start + i * stride, start + i * stride + delta);
    prev = start + (count - 1) * stride;
  }
  return m;
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return false;
  return true;
}

function mapRunes(s: string, m: Map<number, number>): string {
  let out = '';
  for (const ch of s) {
    const to = m.get(ch.codePointAt(0)!);
    out += to === undefined ? ch : String.fromCodePoint(to);
  }
  return out;
}

/** Go's strings.ToLower: per code point, simple case mapping (so 'İ' → 'i', and no final-sigma rule). */
export function goToLower(s: string): string {
  if (isAscii(s)) return s.toLowerCase();
  lowerMap ??= decodeCaseTable(GO_TO_LOWER);
  return mapRunes(s, lowerMap);
}

/** Go's strings.ToUpper: per code point, simple case mapping (so 'ß' stays 'ß', 'ᾳ' → 'ᾼ'). */
export function goToUpper(s: string): string {
  if (isAscii(s)) return s.toUpperCase();
  upperMap ??= decodeCaseTable(GO_TO_UPPER);
  return mapRunes(s, upperMap);
}

// ---------------------------------------------------------------------------------------------------------
// Process.
// ---------------------------------------------------------------------------------------------------------

const enum Act {
  Replace,
  Keep,
  Drop,
  HashMod,
  LabelMap,
  LabelDrop,
  LabelKeep,
  Lowercase,
  Uppercase,
  KeepEqual,
  DropEqual,
}

const ACT: Record<RelabelAction, Act> = {
  replace: Act.Replace,
  keep: Act.Keep,
  drop: Act.Drop,
  hashmod: Act.HashMod,
  labelmap: Act.LabelMap,
  labeldrop: Act.LabelDrop,
  labelkeep: Act.LabelKeep,
  lowercase: Act.Lowercase,
  uppercase: Act.Uppercase,
  keepequal: Act.KeepEqual,
  dropequal: Act.DropEqual,
};

/** A config with what relabel needs precomputed. */
interface Prepared {
  cfg: RelabelConfig;
  act: Act;
  src: readonly string[];
  sep: string;
  re: Re2Regex;
  /** replace with `(.*)` → `$1` and a fixed target: the value itself, no match needed. */
  copy: boolean;
  target: string;
  targetTpl: Template | null;
  repl: string;
  replTpl: Template | null;
  modulus: Modulus;
  /** labelmap: label name → mapped name (null: no match); labeldrop/labelkeep: name → whether it matches. */
  names: Map<string, string | boolean | null>;
}

/** Label names repeat across targets: results per name are kept, up to this many per rule. */
const NAME_CACHE_LIMIT = 20000;

const prepared = new WeakMap<RelabelConfig, Prepared>();
const preparedLists = new WeakMap<readonly RelabelConfig[], Prepared[]>();

function prepare(cfg: RelabelConfig): Prepared {
  let p = prepared.get(cfg);
  if (p && p.re === cfg.regex && p.target === cfg.targetLabel && p.repl === cfg.replacement && p.sep === cfg.separator) return p;
  const act = ACT[cfg.action];
  if (act === undefined) throw new Error(`relabel: unknown relabel action type ${goQuote(cfg.action)}`);
  const names = cfg.regex.subexpNames;
  const targetTpl = cfg.targetLabel.includes('$') ? parseTemplate(cfg.targetLabel, names) : null;
  const replTpl = cfg.replacement.includes('$') ? parseTemplate(cfg.replacement, names) : null;
  const replIsGroup1 = replTpl !== null && replTpl.length === 1 && typeof replTpl[0] !== 'string' && replTpl[0]!.length === 1 && replTpl[0]![0] === 1;
  p = {
    cfg,
    act,
    src: cfg.sourceLabels.slice(),
    sep: cfg.separator,
    re: cfg.regex,
    copy: act === Act.Replace && targetTpl === null && isValidLabelName(cfg.targetLabel) && replIsGroup1 && cfg.regex.isDotStarCapture(),
    target: cfg.targetLabel,
    targetTpl,
    repl: cfg.replacement,
    replTpl,
    modulus: cfg.modulus,
    names: new Map(),
  };
  prepared.set(cfg, p);
  return p;
}

function prepareAll(cfgs: readonly RelabelConfig[]): Prepared[] {
  let list = preparedLists.get(cfgs);
  if (list && list.length === cfgs.length) {
    let ok = true;
    for (let i = 0; i < list.length; i++) {
      if (list[i]!.cfg !== cfgs[i]) {
        ok = false;
        break;
      }
    }
    if (ok) return list;
  }
  list = cfgs.map(prepare);
  preparedLists.set(cfgs, list);
  return list;
}

/**
 * The label set while rules run: the caller's objects, untouched. With a name layout (target relabeling), their values
 * are listed by position and the rules write that list; without one, the changes go in an overlay (null marks a
 * deleted label). Objects with many dynamic keys are slow to copy or grow in V8, so the output object is built once,
 * at the end, and a dropped label set costs no copy at all.
 *
 * The input may be two layers, as a discovered target is: its own labels over its group's labels. A name the
 * upper layer holds hides the lower one, and an empty value means "no label" (labels.Builder deletes it).
 */
const NO_VALUES: string[] = [];

const NO_ENTRIES: [string[], string[]] = [[], []];
/**
 * Layouts of discovered targets only (relabelLayered): metric relabeling (relabel(), a sample at a time) would
 * fill the bounded trie with the name lists of scraped series, and a sample dropped by a rule would pay for a walk.
 */
const targetLayouts = new NameLayouts();

/** Names held in the targets' layout trie (for tests: metric relabeling must not grow it). */
export function targetLayoutNames(): number {
  return targetLayouts.size;
}

/**
 * A group's labels as name and value arrays, listed once per group rather than once per target (the lower layer
 * is a target group's labels, shared by all its targets and never mutated by discovery). Only the last group is
 * kept: a group's targets are relabeled one after the other, and a cache of every group (a WeakMap) held two
 * ≈40-entry arrays per group for as long as discovery held the group, ≈0.7 KB per single-target pod group.
 */
let lastGroup: Labels | null = null;
let lastEntries: [string[], string[]] = [[], []];

function entriesOf(labels: Labels): [string[], string[]] {
  if (labels !== lastGroup) {
    lastEntries = [Object.keys(labels), Object.values(labels) as string[]];
    lastGroup = labels;
  }
  return lastEntries;
}

class Work {
  base: Labels = {};
  under: Labels | null = null;
  /**
   * Without a layout: the overlay of changes over the input (null marks a deleted label). With one: the labels set
   * that have no position in it (past its bound of extra names), taken out when deleted.
   */
  over = new Map<string, string | null>();
  /** No rule has run yet and the input's empty values reach the first rule (see labelMap and relabelLayered). */
  first = true;
  private names: string[] | null = null;
  /**
   * Without a layout: the input's values. With one: the current value at each of its positions (input names, then
   * its extra names), "" where absent: rules write here, so a label they set or delete costs no overlay entry. It has
   * every position of the layout: load() lists the extra names known then, and only this call adds one meanwhile
   * (one Work uses layouts at a time: relabelLayered), at the list's end.
   */
  private values: string[] = [];
  private layout: NameLayout | null = null;
  /** Whether load() looks for the input's layout (target relabeling). */
  useLayouts = false;

  /**
   * The input labels as parallel name and value arrays, listed once per call: two bulk reads of each object are
   * much faster than a keyed read per name. With a layout (relabel-layout.ts) the names are the layout's, shared,
   * and an empty value stays in place (read as absent); without, empty values are left out.
   */
  private load(): void {
    const base = this.base;
    const own = Object.keys(base);
    const ownValues = Object.values(base) as string[];
    const under = this.under;
    const [un, uv] = under === null ? NO_ENTRIES : entriesOf(under);
    const layout = this.useLayouts ? targetLayouts.find(own, un) : null;
    if (layout !== null) {
      const lowerAt = layout.lowerAt;
      const n = own.length;
      // Object.values made this array: it is this call's own to extend and write.
      const values = ownValues;
      for (let j = 0; j < lowerAt.length; j++) values[n + j] = uv[lowerAt[j]!]!;
      for (let j = 0, m = layout.names.length, x = layout.extra.length; j < x; j++) values[m + j] = '';
      this.layout = layout;
      this.names = layout.names as string[];
      this.values = values;
      return;
    }
    let names = own;
    let values = ownValues;
    if (values.includes('')) {
      const n: string[] = [];
      const v: string[] = [];
      for (let i = 0; i < names.length; i++) if (values[i] !== '') (n.push(names[i]!), v.push(values[i]!));
      names = n;
      values = v;
    }
    if (under !== null) {
      const ownSet = own.length > 16 ? new Set(own) : null;
      if (names === own) names = names.slice();
      for (let i = 0; i < un.length; i++) {
        const k = un[i]!;
        if (uv[i] === '' || (ownSet !== null ? ownSet.has(k) : own.includes(k))) continue;
        names.push(k);
        values.push(uv[i]!);
      }
    }
    this.names = names;
    this.values = values;
  }

  /** The layout of this input, or null when it has none (past the layouts' bound). */
  layoutNow(): NameLayout | null {
    if (this.names === null) this.load();
    return this.layout;
  }

  /** With a layout: the current value at a position, "" when absent. */
  valueAt(i: number): string {
    return this.values[i]!;
  }

  /** With a layout: deletes the label at a position. */
  delAt(i: number): void {
    this.values[i] = '';
  }

  /**
   * With a layout: each label the input does not hold that rules set (its extra names, then the ones past its
   * bound), name and value. f may delete labels as it goes.
   */
  forEachAdded(f: (name: string, value: string) => void): void {
    const extra = this.layout!.extra;
    const values = this.values;
    for (let m = this.names!.length, i = m; i < values.length; i++) if (values[i] !== '') f(extra[i - m]!, values[i]!);
    if (this.over.size > 0) for (const [name, v] of this.over) if (v !== null) f(name, v);
  }

  keys(): string[] {
    if (this.names === null) this.load();
    return this.names!;
  }

  /** Input names whose value is empty (labels.Builder.Reset deletes them, yet the first rule's input has them). */
  emptyInputs(): string[] {
    const out: string[] = [];
    for (const k of Object.keys(this.base)) if (this.base[k] === '') out.push(k);
    if (this.under !== null) for (const k of Object.keys(this.under)) if (this.under[k] === '' && !Object.hasOwn(this.base, k)) out.push(k);
    return out;
  }

  /** Without a layout: an input label's value, "" when missing (inherited Object.prototype members are never strings). */
  private input(name: string): string {
    const v = this.base[name];
    if (typeof v === 'string') return v;
    if (this.under === null || Object.hasOwn(this.base, name)) return '';
    const u = this.under[name];
    return typeof u === 'string' ? u : '';
  }

  /** The current value, "" when missing. */
  get(name: string): string {
    const layout = this.layout;
    if (layout !== null) {
      const i = layout.at.get(name);
      if (i !== undefined) return this.values[i]!;
      return this.over.size > 0 ? (this.over.get(name) ?? '') : '';
    }
    if (this.over.size > 0) {
      const o = this.over.get(name);
      if (o !== undefined) return o ?? '';
    }
    return this.input(name);
  }

  /** labels.Builder.Set: an empty value deletes. */
  set(name: string, value: string): void {
    if (value === '') return this.del(name);
    const layout = this.layout;
    if (layout !== null) {
      const i = slotOf(layout, name);
      // A new extra name's position is the list's end (see `values`).
      if (i < 0) this.over.set(name, value);
      else this.values[i] = value;
      return;
    }
    this.over.set(name, value);
  }

  del(name: string): void {
    const layout = this.layout;
    if (layout !== null) {
      const i = layout.at.get(name);
      if (i !== undefined) this.values[i] = '';
      else if (this.over.size > 0) this.over.delete(name);
      return;
    }
    if (this.over.get(name) !== null) this.over.set(name, null);
  }

  /**
   * Without a layout: calls f with each current label (name, value); f may set or delete labels as it goes. (With
   * one, the name-only rules read the positions they act on.)
   */
  forEach(f: (name: string, value: string) => void): void {
    const over = this.over;
    const keys = this.keys();
    const values = this.values;
    if (over.size === 0) {
      for (let i = 0; i < keys.length; i++) f(keys[i]!, values[i]!);
      return;
    }
    const added: string[] = [];
    for (const [name, v] of over) if (v !== null && this.input(name) === '') added.push(name);
    for (let i = 0; i < keys.length; i++) {
      const name = keys[i]!;
      const o = over.get(name);
      if (o === undefined) f(name, values[i]!);
      else if (o !== null) f(name, o);
    }
    for (const name of added) {
      const o = over.get(name);
      if (o !== null && o !== undefined) f(name, o);
    }
  }

  /**
   * The resulting label set as a new object, without names starting with `omit` (when given); with `room` (an
   * empty value) where it comes from a template and does not hold it (see relabelLayered).
   */
  build(omit: string | null, room: string | null = null): Labels {
    const over = this.over;
    const out: Labels = {};
    const keys = this.keys();
    const values = this.values;
    const layout = this.layout;
    if (layout !== null) return this.buildByPosition(layout, omit, room);
    for (let i = 0; i < keys.length; i++) {
      const name = keys[i]!;
      if (omit !== null && name.startsWith(omit)) continue;
      const o = over.size === 0 ? undefined : over.get(name);
      if (o === undefined) put(out, name, values[i]!);
      else if (o !== null) put(out, name, o);
    }
    for (const [name, v] of over) {
      if (v === null || (omit !== null && name.startsWith(omit)) || this.input(name) !== '') continue;
      put(out, name, v);
    }
    return out;
  }

  /**
   * build() with a layout: the labels by position (input names, then extra names, the same order for every target
   * of a layout), then those past its bound.
   */
  private buildByPosition(layout: NameLayout, omit: string | null, room: string | null): Labels {
    const { over, values } = this;
    const names = layout.names;
    const extra = layout.extra;
    const mask = omit === null ? null : omitMaskOf(layout, omit);
    const m = names.length;
    // A copy of the template of these positions (relabel-layout.ts outputTemplate) when every label is held by
    // position (none past the layout's bound, in `over`).
    const template = over.size === 0 ? outputTemplate(layout, values, mask, room) : null;
    const out: Labels = template === null ? {} : { ...template };
    for (let i = 0; i < m; i++) if (isOutput(values, mask, i)) put(out, names[i]!, values[i]!);
    for (let i = m; i < values.length; i++) if (isOutput(values, mask, i)) put(out, extra[i - m]!, values[i]!);
    if (over.size > 0) {
      for (const [name, v] of over) if (v !== null && (omit === null || !name.startsWith(omit))) put(out, name, v);
    }
    return out;
  }

  reset(base: Labels, under: Labels | null): void {
    this.base = base;
    this.under = under;
    this.names = null;
    this.values = NO_VALUES;
    this.layout = null;
    this.first = true;
    if (this.over.size > 0) this.over = new Map();
  }
}

function put(out: Labels, name: string, value: string): void {
  if (name === '__proto__') Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
  else out[name] = value;
}

function sourceValue(w: Work, p: Prepared): string {
  const src = p.src;
  if (src.length === 1) return w.get(src[0]!);
  if (src.length === 0) return '';
  let v = w.get(src[0]!);
  for (let i = 1; i < src.length; i++) v += p.sep + w.get(src[i]!);
  return v;
}

const TWO_32 = 4294967296;

function hashMod(value: string, modulus: Modulus): string {
  const digest: Buffer =
    typeof crypto.hash === 'function' ? (crypto.hash('md5', value, 'buffer') as unknown as Buffer) : crypto.createHash('md5').update(value).digest();
  // The last 8 bytes, big-endian, as a uint64.
  const hi = digest.readUInt32BE(8);
  const lo = digest.readUInt32BE(12);
  if (typeof modulus === 'number' && modulus <= 0x200000) {
    // (hi·2^32 + lo) mod m without leaving exact double arithmetic: every product stays below 2^53.
    return String((((hi % modulus) * (TWO_32 % modulus)) % modulus + (lo % modulus)) % modulus);
  }
  const m = BigInt(modulus);
  return ((BigInt(hi) * 4294967296n + BigInt(lo)) % m).toString();
}

// Scratch space for labelmap, reused across calls (relabel is synchronous).
const mapNames: string[] = [];
const mapValues: string[] = [];
const mapTargets: string[] = [];
let mapCount = 0;
let mapPrepared: Prepared | undefined;

function mappedName(p: Prepared, name: string): string | null {
  const cached = p.names.get(name);
  if (cached !== undefined) return cached as string | null;
  const target = computeMappedName(p, name);
  if (p.names.size >= NAME_CACHE_LIMIT) p.names.clear();
  p.names.set(name, target);
  return target;
}

function computeMappedName(p: Prepared, name: string): string | null {
  const re = p.re;
  if (re.wrapped) {
    // ReplaceAllString with an anchored regex replaces the one whole-string match.
    const m = re.exec(name);
    if (m === null) return null;
    return p.replTpl === null ? p.repl : expandTemplate(p.replTpl, m);
  }
  if (!re.test(name)) return null;
  return re.replaceAll(name, p.replTpl ?? [p.repl]);
}

function nameMatches(p: Prepared, name: string): boolean {
  const cached = p.names.get(name);
  if (cached !== undefined) return cached as boolean;
  const m = p.re.test(name);
  if (p.names.size >= NAME_CACHE_LIMIT) p.names.clear();
  p.names.set(name, m);
  return m;
}

function collectMapped(name: string, value: string): void {
  const target = mappedName(mapPrepared!, name);
  if (target === null) return;
  mapNames[mapCount] = name;
  mapValues[mapCount] = value;
  mapTargets[mapCount] = target;
  mapCount++;
}

/** labelmap over a layout: the positions of the names the rule maps, and their targets. */
interface MappedAt {
  at: Int32Array;
  targets: string[];
}

function mappedAt(layout: NameLayout, p: Prepared): MappedAt {
  let m = layout.rules.get(p) as MappedAt | undefined;
  if (m === undefined) {
    const at: number[] = [];
    const targets: string[] = [];
    layout.names.forEach((name, i) => {
      const t = mappedName(p, name);
      if (t !== null) (at.push(i), targets.push(t));
    });
    m = { at: Int32Array.from(at), targets };
    layout.rules.set(p, m);
  }
  return m;
}

/** labeldrop and labelkeep over a layout: the positions of the names the rule deletes when present. */
function deletedAt(layout: NameLayout, p: Prepared): Int32Array {
  let at = layout.rules.get(p) as Int32Array | undefined;
  if (at === undefined) {
    const drop = p.act === Act.LabelDrop;
    const list: number[] = [];
    layout.names.forEach((name, i) => {
      if (nameMatches(p, name) === drop) list.push(i);
    });
    at = Int32Array.from(list);
    layout.rules.set(p, at);
  }
  return at;
}

function labelMap(w: Work, p: Prepared): void {
  // Read every label first: Prometheus maps the label set as it was before the rule.
  mapPrepared = p;
  mapCount = 0;
  const layout = w.layoutNow();
  if (layout !== null) {
    // As w.forEach(collectMapped) below, reading only the positions the rule maps.
    const { at, targets } = mappedAt(layout, p);
    const names = w.keys();
    for (let k = 0; k < at.length; k++) {
      const i = at[k]!;
      const value = w.valueAt(i);
      if (value === '') continue;
      mapNames[mapCount] = names[i]!;
      mapValues[mapCount] = value;
      mapTargets[mapCount] = targets[k]!;
      mapCount++;
    }
    w.forEachAdded(collectMapped);
  } else {
    w.forEach(collectMapped);
  }
  // 2.42 maps the rule's input label set, in which an empty value survives until the first rule ends: mapping
  // one sets (so deletes) its target.
  if (w.first) for (const name of w.emptyInputs()) collectMapped(name, '');
  const n = mapCount;
  if (n === 0) return;
  let order: number[] | null = null;
  if (n > 1) {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) {
      if (seen.has(mapTargets[i]!)) {
        // Two labels map to one name: Prometheus writes in label-name order, so the last name wins.
        order = Array.from({ length: n }, (_, k) => k).sort((a, b) => compareLabelNames(mapNames[a]!, mapNames[b]!));
        break;
      }
      seen.add(mapTargets[i]!);
    }
  }
  for (let k = 0; k < n; k++) {
    const i = order === null ? k : order[k]!;
    w.set(mapTargets[i]!, mapValues[i]!);
  }
  for (let i = 0; i < n; i++) mapNames[i] = mapValues[i] = mapTargets[i] = '';
}

let dropPrepared: Prepared | undefined;
let dropWork: Work | undefined;

function dropMatching(name: string): void {
  if (nameMatches(dropPrepared!, name)) dropWork!.del(name);
}

function keepMatching(name: string): void {
  if (!nameMatches(dropPrepared!, name)) dropWork!.del(name);
}

/** Applies one rule; false when the label set is dropped. */
function apply(w: Work, p: Prepared): boolean {
  switch (p.act) {
    case Act.Replace: {
      const val = sourceValue(w, p);
      if (p.copy) {
        if (val.includes('\n')) return true;
        w.set(p.target, val);
        return true;
      }
      const m = p.re.exec(val);
      if (m === null) return true;
      const target = p.targetTpl === null ? p.target : expandTemplate(p.targetTpl, m);
      if (!isValidLabelName(target)) {
        w.del(p.target);
        return true;
      }
      const res = p.replTpl === null ? p.repl : expandTemplate(p.replTpl, m);
      if (res === '') {
        // 2.42 deletes the unexpanded target_label here, not the expanded name.
        w.del(p.target);
        return true;
      }
      w.set(target, res);
      return true;
    }
    case Act.Keep:
      return p.re.test(sourceValue(w, p));
    case Act.Drop:
      return !p.re.test(sourceValue(w, p));
    case Act.KeepEqual:
      return w.get(p.target) === sourceValue(w, p);
    case Act.DropEqual:
      return w.get(p.target) !== sourceValue(w, p);
    case Act.HashMod:
      w.set(p.target, hashMod(sourceValue(w, p), p.modulus));
      return true;
    case Act.Lowercase:
      w.set(p.target, goToLower(sourceValue(w, p)));
      return true;
    case Act.Uppercase:
      w.set(p.target, goToUpper(sourceValue(w, p)));
      return true;
    case Act.LabelMap:
      labelMap(w, p);
      return true;
    case Act.LabelDrop:
    case Act.LabelKeep: {
      dropPrepared = p;
      dropWork = w;
      const layout = w.layoutNow();
      if (layout !== null) {
        // As w.forEach below, reading only the positions the rule deletes.
        const at = deletedAt(layout, p);
        for (let k = 0; k < at.length; k++) w.delAt(at[k]!);
        w.forEachAdded(p.act === Act.LabelDrop ? dropMatching : keepMatching);
        return true;
      }
      w.forEach(p.act === Act.LabelDrop ? dropMatching : keepMatching);
      return true;
    }
  }
}

const work = new Work();
let busy = false;

/**
 * relabel.Process: applies the rules in order to a copy of `labels`; null when a rule drops the label set.
 * Never mutates `labels`.
 */
export function relabel(labels: Labels, cfgs: readonly RelabelConfig[]): Labels | null {
  // relabel.Process returns its input as is when there is no rule; with rules, empty values are gone.
  if (cfgs.length === 0) return copyLabels(labels);
  return relabelLayered(labels, null, NO_PRESETS, NO_PRESETS, cfgs, null, false);
}

const NO_PRESETS: ReadonlyArray<readonly [string, string]> = [];

/**
 * relabel.Process over a layered input without copying it first: `upper` over `lower` (see Work), then
 * `defaults` (set where the input has no value) and `forced` (set always). The result leaves out names
 * starting with `omit`. This is how a discovered target is relabeled (scrape.PopulateLabels): copying its ≈40
 * labels into a new object before the rules would cost more than the rules themselves. As in PopulateLabels, whose
 * labels.Builder drops empty values before relabel.Process, no rule sees an empty input value (a labelmap first
 * does not map one; checked with 2.42 in the golden corpus, case 23), and the input is read through its name layout.
 * `target` false: relabel.Process called directly (relabel()), whose first rule sees the input's empty values.
 * `room`: a name the caller sets in the result afterwards (populate.ts: `instance`, when the rules left none). A
 * result built from a template (relabel-layout.ts outputTemplate) then already holds it, with an empty value, so
 * that setting it keeps the object's layout: copies of a template share its hidden class, but a name added to a copy
 * gives that object a hidden class of its own (1 KB per target instead of 0.2 at 45k pod targets).
 */
export function relabelLayered(
  upper: Labels,
  lower: Labels | null,
  defaults: ReadonlyArray<readonly [string, string]>,
  forced: ReadonlyArray<readonly [string, string]>,
  cfgs: readonly RelabelConfig[],
  omit: string | null,
  target = true,
  room: string | null = null,
): Labels | null {
  const list = prepareAll(cfgs);
  // The shared Work is reused; a nested call (none today) gets its own.
  const w = busy ? new Work() : work;
  const shared = w === work;
  if (shared) busy = true;
  try {
    w.reset(upper, lower);
    // A nested call relabels name by name: extra names it gave a layout would be missing from the outer call's values.
    w.useLayouts = target && shared;
    if (target) w.keys(); // finds the input's layout, through which get() reads
    w.first = !target;
    for (let i = 0; i < defaults.length; i++) if (w.get(defaults[i]![0]) === '') w.set(defaults[i]![0], defaults[i]![1]);
    for (let i = 0; i < forced.length; i++) w.set(forced[i]![0], forced[i]![1]);
    for (let i = 0; i < list.length; i++) {
      if (!apply(w, list[i]!)) return null;
      w.first = false;
    }
    return w.build(omit, room);
  } finally {
    w.reset(EMPTY, null);
    if (shared) busy = false;
  }
}

const EMPTY: Labels = {};

function copyLabels(labels: Labels): Labels {
  const out: Labels = {};
  for (const k of Object.keys(labels)) put(out, k, labels[k]!);
  return out;
}
