/**
 * The names of a label set being relabeled, shared by every set with the same names in the same order: a pod's
 * ≈45 discovered labels have one layout per workload (per kind of pod), not one per pod.
 *
 * Why: the name-only rules (labelmap, labeldrop, labelkeep) give the same answer for every set of one layout, yet
 * relabeling asked it name by name for each target: a lookup of each of ≈45 names per rule, plus one in the
 * overlay of changes, the larger part of a pod's relabeling. A layout keeps, per rule, only the positions those
 * rules act on, found once (relabel.ts); a target then reads its values by position.
 *
 * A layout is found from the key lists the relabeling reads anyway (`Object.keys` of the target's labels and of its
 * group's): the last one found is compared name by name (V8 hands out the same internalized strings for the same
 * keys, so this is a pointer comparison each), else a trie of the names in order is walked. The trie is bounded:
 * past `maxNodes` names, a set of new names gets no layout and is relabeled name by name, as before (correct,
 * only slower).
 */
import { sameNames, type Labels } from './labels.js';

export interface NameLayout {
  /** The upper layer's names (a target's own labels). */
  readonly own: readonly string[];
  /** The lower layer's names (its group's labels; none when the target has no group labels). */
  readonly lower: readonly string[];
  /** The input names in relabeling's order: `own`, then the `lower` names that `own` does not hide. */
  readonly names: readonly string[];
  /** For `names[own.length + j]`: its position in `lower`. */
  readonly lowerAt: Int32Array;
  /**
   * Names the rules set that the input does not hold (`__scheme__`, a labelmap's targets, …), at positions after
   * `names`: shared by the layout's targets like the input names, found when a rule first sets them (`slotOf`).
   */
  readonly extra: string[];
  /**
   * Each name's position: in `names`, or `names.length + j` for `extra[j]`. A target's value by name without a keyed
   * read of its label objects, and the place where relabeling keeps its current value.
   */
  readonly at: Map<string, number>;
  /** What each rule (by its prepared object) found in `names`: filled by the relabeling, once per rule. */
  readonly rules: WeakMap<object, unknown>;
  /** Per position (names, then extra): whether it starts with `omitted` (the prefix the output leaves out), for the last prefix asked. */
  omitMask: Uint8Array | null;
  omitted: string | null;
  /**
   * The output label sets built from this layout, by the name they leave room for (outputTemplate's `room`), then
   * the positions they hold; and how many shapes there are.
   */
  readonly outputs: Map<string | null, OutputShape>;
  outputShapes: number;
}

/** An output label set's shape: a step per position it holds, in order; the template once the positions end here. */
interface OutputShape {
  next: Array<OutputShape | undefined>;
  template: Labels | undefined;
}

const shape = (): OutputShape => ({ next: [], template: undefined });

interface TrieNode {
  next: Map<string, TrieNode> | null;
  /** The step from the upper layer's names to the lower layer's. */
  boundary: TrieNode | null;
  layout: NameLayout | null;
}

const node = (): TrieNode => ({ next: null, boundary: null, layout: null });

export class NameLayouts {
  private readonly root = node();
  private nodes = 0;
  private last: NameLayout | null = null;

  constructor(private readonly maxNodes = 50_000) {}

  /** The layout of `own` over `lower` (arrays the caller no longer changes), or null past the bound. */
  find(own: readonly string[], lower: readonly string[]): NameLayout | null {
    const last = this.last;
    if (last !== null && sameNames(last.own, own) && sameNames(last.lower, lower)) return last;
    let at: TrieNode | null = this.root;
    for (let i = 0; i < own.length && at !== null; i++) at = this.step(at, own[i]!);
    if (at === null) return null;
    if (at.boundary === null) {
      if (this.nodes >= this.maxNodes) return null;
      at.boundary = node();
      this.nodes++;
    }
    at = at.boundary;
    for (let i = 0; i < lower.length && at !== null; i++) at = this.step(at, lower[i]!);
    if (at === null) return null;
    at.layout ??= layoutOf(own, lower);
    this.last = at.layout;
    return at.layout;
  }

  /** Names held in the trie (for tests and the bound). */
  get size(): number {
    return this.nodes;
  }

  private step(at: TrieNode, name: string): TrieNode | null {
    let next = at.next?.get(name);
    if (next === undefined) {
      if (this.nodes >= this.maxNodes) return null;
      next = node();
      (at.next ??= new Map()).set(name, next);
      this.nodes++;
    }
    return next;
  }
}


function layoutOf(own: readonly string[], lower: readonly string[]): NameLayout {
  const hidden = new Set(own);
  const names = own.slice();
  const lowerAt: number[] = [];
  lower.forEach((name, j) => {
    if (hidden.has(name)) return;
    names.push(name);
    lowerAt.push(j);
  });
  Object.freeze(names);
  const at = new Map(names.map((n, i) => [n, i]));
  return {
    own: own.slice(), lower: lower.slice(), names, lowerAt: Int32Array.from(lowerAt), extra: [], at, rules: new WeakMap(), omitMask: null,
    omitted: null, outputs: new Map(), outputShapes: 0,
  };
}

/** Whether position `i` is in the output: it has a value and `skip` (the omit mask, when one) does not leave it out. */
export function isOutput(values: readonly string[], skip: Uint8Array | null, i: number): boolean {
  return values[i] !== '' && (skip === null || skip[i] !== 1);
}

/** Past this many output shapes in one layout, its output label sets are built name by name (correct, only larger). */
export const MAX_OUTPUT_SHAPES = 4096;

/**
 * The template of the output label set holding the layout's positions (names, then extra) whose value is not empty
 * and whose `skip` is not 1: those names in position order, then `room` unless among them, each with an empty
 * value; null past MAX_OUTPUT_SHAPES. (A name `__proto__` is safe here: JSON.parse and a copy make it a property of
 * the object's own, and setting it then sets that property, not the prototype.)
 *
 * Why: a label set built name by name from `{}` keeps four values in the object and the rest in a second store
 * that V8 grows with room to spare (168 bytes at 16 labels, with the object). An object made by JSON.parse holds
 * all its values in itself, and a copy of it (`{...template}`) keeps its hidden class: 152 bytes, and no new hidden
 * class to step through per name. The targets of a layout mostly hold the same positions, so a layout has few shapes.
 */
export function outputTemplate(layout: NameLayout, values: readonly string[], skip: Uint8Array | null, room: string | null): Labels | null {
  let at: OutputShape | undefined = layout.outputs.get(room);
  if (at === undefined) {
    if (layout.outputShapes >= MAX_OUTPUT_SHAPES) return null;
    layout.outputs.set(room, (at = shape()));
    layout.outputShapes++;
  }
  for (let i = 0; i < values.length; i++) {
    if (!isOutput(values, skip, i)) continue;
    let next: OutputShape | undefined = at.next[i];
    if (next === undefined) {
      if (layout.outputShapes >= MAX_OUTPUT_SHAPES) return null;
      next = at.next[i] = shape();
      layout.outputShapes++;
    }
    at = next;
  }
  if (at.template === undefined) at.template = templateOf(layout, values, skip, room);
  return at.template;
}

function templateOf(layout: NameLayout, values: readonly string[], skip: Uint8Array | null, room: string | null): Labels {
  const names: string[] = [];
  const m = layout.names.length;
  for (let i = 0; i < values.length; i++) {
    if (!isOutput(values, skip, i)) continue;
    names.push(i < m ? layout.names[i]! : layout.extra[i - m]!);
  }
  if (room !== null && !names.includes(room)) names.push(room);
  return JSON.parse(JSON.stringify(Object.fromEntries(names.map((n) => [n, ''])))) as Labels;
}

/**
 * Extra names per layout: rules set few names beside the input's, the same ones for each target of a layout (a layout
 * is shared by every job whose targets have its names, so all their rules' names), unless a `target_label` is a
 * template of values. Extra names are never taken back, and each target of the layout pays a step for each; past this
 * many, a name gets no position (the relabeling keeps it in a map of the target's own).
 */
export const MAX_EXTRA_NAMES = 64;

/** The position of `name` in the layout, an extra one given if it has none and room is left; -1 otherwise. */
export function slotOf(layout: NameLayout, name: string): number {
  const at = layout.at.get(name);
  if (at !== undefined) return at;
  if (layout.extra.length >= MAX_EXTRA_NAMES) return -1;
  const i = layout.names.length + layout.extra.length;
  layout.extra.push(name);
  layout.at.set(name, i);
  return i;
}

/** Per position of the layout (names, then extra), 1 where the name starts with `prefix`. */
export function omitMaskOf(layout: NameLayout, prefix: string): Uint8Array {
  const size = layout.names.length + layout.extra.length;
  if (layout.omitMask === null || layout.omitted !== prefix || layout.omitMask.length !== size) {
    const mask = new Uint8Array(size);
    layout.names.forEach((n, i) => (mask[i] = n.startsWith(prefix) ? 1 : 0));
    layout.extra.forEach((n, j) => (mask[layout.names.length + j] = n.startsWith(prefix) ? 1 : 0));
    layout.omitMask = mask;
    layout.omitted = prefix;
  }
  return layout.omitMask;
}
