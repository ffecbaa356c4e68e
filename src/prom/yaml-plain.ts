/**
 * YAML nodes to plain values, the way Go's yaml.v2 feeds Prometheus's structs: an unquoted scalar that YAML 1.1
 * reads as a number or boolean keeps its source text, because Go decodes `replacement: 1.10` into a string field
 * as "1.10" (not "1.1") and `yes` as "yes". Typed readers in decode.ts pick the text or the value as the field needs.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type Node as YamlNode } from 'yaml';

/** A non-string scalar: its text as written, and what YAML 1.1 makes of it. */
export class YamlLiteral {
  constructor(readonly text: string, readonly value: number | boolean | bigint) {}
  toString(): string {
    return this.text;
  }
  toJSON(): string {
    return this.text;
  }
}

export function toPlain(node: unknown, doc: Document.Parsed, depth = 0): unknown {
  if (depth > 200) throw new Error('YAML nesting too deep');
  if (node === null || node === undefined) return null;
  if (isAlias(node)) return toPlain(node.resolve(doc), doc, depth + 1);
  if (isScalar(node)) {
    const v = node.value;
    if (v === null || typeof v === 'string') return v ?? null;
    const text = node.source ?? String(v);
    if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return new YamlLiteral(text, v);
    return text; // timestamps and other tags: the text, as Go gives it to a string field
  }
  if (isSeq(node)) return node.items.map((item) => toPlain(item, doc, depth + 1));
  if (isMap(node)) {
    const out: Record<string, unknown> = {};
    const merges: unknown[] = [];
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const key = pair.key === null ? '' : isScalar(pair.key) ? String((pair.key as { source?: string }).source ?? pair.key.value) : String(toPlain(pair.key, doc, depth + 1));
      if (key === '<<') {
        merges.push(toPlain(pair.value as YamlNode, doc, depth + 1));
        continue;
      }
      Object.defineProperty(out, key, { value: toPlain(pair.value as YamlNode, doc, depth + 1), enumerable: true, writable: true, configurable: true });
    }
    // YAML 1.1 merge keys, as yaml.v2 honours them: explicit keys win over merged ones.
    for (const m of merges.flat()) {
      if (m && typeof m === 'object' && !Array.isArray(m) && !(m instanceof YamlLiteral)) {
        for (const [k, v] of Object.entries(m)) if (!(k in out)) out[k] = v;
      }
    }
    return out;
  }
  return null;
}
