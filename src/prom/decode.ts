/**
 * Typed reading of plain YAML values (from `doc.toJS()`), in the manner of Go's strict yaml.Unmarshal:
 * unknown fields and wrong types are errors carrying the path, which the loader turns into a line and column.
 */
import { ConfigError, type YamlPath } from './errors.js';
import { parseDuration } from './duration.js';
import { isValidLabelName, type Labels } from './labels.js';
import { YamlLiteral } from './yaml-plain.js';

export type Plain = Record<string, unknown>;

export function isPlainMap(v: unknown): v is Plain {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** The value of a YAML scalar that may carry its source text (see yaml-plain.ts). */
function literalValue(v: unknown): unknown {
  return v instanceof YamlLiteral ? v.value : v;
}

function typeName(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (v instanceof YamlLiteral) return JSON.stringify(v.text);
  if (Array.isArray(v)) return 'a list';
  if (isPlainMap(v)) return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

/**
 * A mapping whose keys must all be in `known`; `what` names the section in messages (e.g. "scrape config").
 * null/undefined read as an empty mapping, as YAML's empty values do in Go.
 */
export function readMap(v: unknown, path: YamlPath, what: string, known: readonly string[]): Plain {
  if (v === null || v === undefined) return {};
  if (!isPlainMap(v)) throw new ConfigError(`${what}: expected a mapping, got ${typeName(v)}`, path);
  for (const key of Object.keys(v)) {
    if (!known.includes(key)) throw new ConfigError(`field ${key} not found in ${what}`, [...path, key], true);
  }
  return v;
}

export function readList(v: unknown, path: YamlPath, what: string): unknown[] {
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v)) throw new ConfigError(`${what}: expected a list, got ${typeName(v)}`, path);
  return v;
}

export function readString(v: unknown, path: YamlPath, what: string): string {
  if (typeof v === 'string') return v;
  // Go's yaml decodes unquoted scalars into string fields as written (e.g. `replacement: 1.10` is "1.10").
  if (v instanceof YamlLiteral) return v.text;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new ConfigError(`${what}: expected a string, got ${typeName(v)}`, path);
}

export function optString(v: unknown, path: YamlPath, what: string, dflt: string): string {
  return v === undefined || v === null ? dflt : readString(v, path, what);
}

export function readBool(raw: unknown, path: YamlPath, what: string, dflt: boolean): boolean {
  if (raw === undefined || raw === null) return dflt;
  const v = literalValue(raw);
  if (typeof v === 'boolean') return v;
  throw new ConfigError(`${what}: expected true or false, got ${typeName(v)}`, path);
}

export function readInt(raw: unknown, path: YamlPath, what: string, dflt: number, min = 0): number {
  if (raw === undefined || raw === null) return dflt;
  const v = literalValue(raw);
  if (typeof v === 'number' && Number.isInteger(v) && v >= min) return v;
  throw new ConfigError(`${what}: expected a whole number${min === 0 ? ' ≥ 0' : ''}, got ${typeName(v)}`, path);
}

/** A Prometheus duration (`30s`, `1h`); `dflt` when absent. Returns milliseconds. */
export function readDuration(v: unknown, path: YamlPath, what: string, dflt: number): number {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'string' && !(v instanceof YamlLiteral)) throw new ConfigError(`${what}: expected a duration, got ${typeName(v)}`, path);
  try {
    return parseDuration(String(v));
  } catch (e) {
    throw new ConfigError(`${what}: ${(e as Error).message}`, path);
  }
}

export function readStringList(v: unknown, path: YamlPath, what: string): string[] {
  return readList(v, path, what).map((item, i) => readString(item, [...path, i], what));
}

/** A label set such as `labels:` of a static config: keys must be valid label names. */
export function readLabelSet(v: unknown, path: YamlPath, what: string): Labels {
  if (v === null || v === undefined) return {};
  if (!isPlainMap(v)) throw new ConfigError(`${what}: expected a mapping of labels, got ${typeName(v)}`, path);
  const out: Labels = {};
  for (const [k, val] of Object.entries(v)) {
    if (!isValidLabelName(k)) throw new ConfigError(`${JSON.stringify(k)} is not a valid label name`, [...path, k], true);
    out[k] = val === null ? '' : readString(val, [...path, k], `label ${k}`);
  }
  return out;
}
