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

/**
 * Nodes that aliases may expand to, in all, as yaml.v2 refuses "excessive aliasing" by the ratio of alias expansion
 * to the document's size: 10,000, or one per byte of the document when it is larger. A YAML alias bomb (each level
 * ten aliases of the one below: 330 bytes for a billion nodes) is refused within a few milliseconds; a real
 * configuration reuses anchors far less than its own size; the work stays linear in the document's size.
 */
export function aliasBudget(documentBytes: number): number {
  return Math.max(10_000, documentBytes);
}

export class ExcessiveAliasing extends Error {
  constructor(limit: number) {
    super(`document contains excessive aliasing (aliases expand to more than ${limit} nodes)`);
    this.name = 'ExcessiveAliasing';
  }
}

interface Budget {
  viaAlias: number;
  /** The most nodes aliases may expand to (aliasBudget). */
  limit: number;
  /** alias.resolve() searches the document each time: once per alias node is enough. */
  resolved?: Map<unknown, unknown>;
}

export function toPlain(node: unknown, doc: Document.Parsed, depth = 0, budget: Budget = { viaAlias: 0, limit: aliasBudget(0) }, inAlias = false): unknown {
  if (depth > 200) throw new Error('YAML nesting too deep');
  if (inAlias && ++budget.viaAlias > budget.limit) throw new ExcessiveAliasing(budget.limit);
  if (node === null || node === undefined) return null;
  if (isAlias(node)) {
    const cache = (budget.resolved ??= new Map());
    let target = cache.get(node);
    if (target === undefined) cache.set(node, (target = node.resolve(doc) ?? null));
    return toPlain(target, doc, depth + 1, budget, true);
  }
  if (isScalar(node)) {
    const v = node.value;
    if (v === null || typeof v === 'string') return v ?? null;
    const text = node.source ?? String(v);
    if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return new YamlLiteral(text, v);
    return text; // timestamps and other tags: the text, as Go gives it to a string field
  }
  if (isSeq(node)) return node.items.map((item) => toPlain(item, doc, depth + 1, budget, inAlias));
  if (isMap(node)) {
    const out: Record<string, unknown> = {};
    const merges: unknown[] = [];
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const key = pair.key === null ? '' : isScalar(pair.key) ? String((pair.key as { source?: string }).source ?? pair.key.value) : String(toPlain(pair.key, doc, depth + 1, budget, inAlias));
      if (key === '<<') {
        merges.push(toPlain(pair.value as YamlNode, doc, depth + 1, budget, inAlias));
        continue;
      }
      Object.defineProperty(out, key, { value: toPlain(pair.value as YamlNode, doc, depth + 1, budget, inAlias), enumerable: true, writable: true, configurable: true });
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
