/**
 * Label sets held for a long time (discovery's target groups: a million of them on the largest clusters) rebuilt in
 * the object layout V8 stores most compactly, with the same names, order and values.
 *
 * Why: a label set built name by name (`ls[name] = value`, as every discoverer does for the Kubernetes labels and
 * annotations of an object) leaves V8's fast mode after a dozen or so names and becomes a hash table of its own,
 * about three words per slot with half the slots empty: 1.4 KB of a pod's 2.6 KB at 45 labels. An object copied
 * (`{...template}`) from a template that JSON.parse built keeps the template's hidden class, shared by every set with
 * the same names in the same order, and its values in the object itself: a word per label. The values are the
 * discoverer's strings, not copied, or an equal one already held (below).
 *
 * The templates are found through a trie of the names in order (no key string built per set) and bounded: past
 * `maxNodes` names in the trie, a set of new names is returned as it is (correct, only not smaller).
 *
 * Values are shared too, where they repeat. A discoverer makes each value a string of its own (JSON.parse of every
 * watch event), yet many of a pod's values are its workload's, namespace's or node's: labels, annotations, image,
 * controller, node name. V8's JSON.parse (V8 11, Node 20) already gives a value of up to 10 characters as one string
 * per process. For the longer ones, each trie node (a name at its place in a sequence) keeps a table of the values
 * seen there, and a set's value is replaced by the equal one the table holds. A table that reaches
 * `MAX_VALUES_PER_NODE` is judged: if fewer than one in `MIN_HITS_ONE_IN` of its lookups found a value, the values at
 * that node do not repeat (a pod's name, IP, UID) and the node stops looking up; else it starts over, so values of
 * objects long gone do not stay. All tables together hold at most `maxHeldValues`: when they reach it, they all start
 * over.
 */
import type { Labels } from './labels.js';

/** JSON.parse (V8 11) gives every value of up to this many characters as the one string the process holds for it. */
const JSON_SHARED_LENGTH = 10;
/** Values one node's table holds before it is judged (see the header). */
const MAX_VALUES_PER_NODE = 16_384;
/** A full table starts over when at least one in this many of its lookups found a value; else its node stops. */
const MIN_HITS_ONE_IN = 8;

interface TrieNode {
  readonly next: Map<string, TrieNode>;
  template?: Labels;
  /** The values seen at this node, each kept once; null once the node found that its values do not repeat. */
  values?: Map<string, string> | null;
  /** Lookups and hits since the table last started. */
  looked: number;
  hits: number;
}

export class LabelSetCompactor {
  private readonly root: TrieNode = newNode();
  private nodes = 0;
  /** The nodes that have a table, and the values all of them hold (see maxHeldValues). */
  private readonly tables: TrieNode[] = [];
  private held = 0;
  /** Values replaced by an equal one a table held (string identity is not visible to a test: this counts it). */
  private sharedValues = 0;
  /** The nodes of the set being compacted, by position (reused: no array per set). */
  private readonly path: TrieNode[] = [];

  constructor(private readonly maxNodes = 50_000, private readonly maxHeldValues = 1_000_000) {}

  /** A label set equal to `labels` (names, their order, values), compact when it can be; else `labels` itself. */
  compact(labels: Labels): Labels {
    const names = Object.keys(labels);
    const path = this.path;
    let node = this.root;
    for (let k = 0; k < names.length; k++) {
      const name = names[k]!;
      let child = node.next.get(name);
      if (child === undefined) {
        // `__proto__` as an own property is not worth its special cases (it is a valid label name, but never a real one).
        if (this.nodes >= this.maxNodes || name === '__proto__') return labels;
        child = newNode();
        node.next.set(name, child);
        this.nodes++;
      }
      path[k] = child;
      node = child;
    }
    const template = (node.template ??= templateOf(names));
    const out: Labels = { ...template };
    for (let k = 0; k < names.length; k++) out[names[k]!] = this.valueAt(path[k]!, labels[names[k]!]!);
    return out;
  }

  /** `value`, or the equal string `node`'s table holds (see the header). */
  private valueAt(node: TrieNode, value: string): string {
    let values = node.values;
    if (values === null || typeof value !== 'string' || value.length <= JSON_SHARED_LENGTH) return value;
    if (values === undefined) {
      values = node.values = new Map();
      this.tables.push(node);
    }
    node.looked++;
    const seen = values.get(value);
    if (seen !== undefined) {
      node.hits++;
      this.sharedValues++;
      return seen;
    }
    if (values.size >= MAX_VALUES_PER_NODE) {
      this.held -= values.size;
      if (node.hits * MIN_HITS_ONE_IN < node.looked) {
        // Values that do not repeat here: the table goes, and this node looks up no more.
        node.values = null;
        return value;
      }
      values.clear();
      node.looked = node.hits = 0;
    }
    if (this.held >= this.maxHeldValues) this.startOver();
    values.set(value, value);
    this.held++;
    return value;
  }

  /** Every table starts over (they hold maxHeldValues together). */
  private startOver(): void {
    for (const node of this.tables) {
      node.values?.clear();
      node.looked = node.hits = 0;
    }
    this.held = 0;
  }

  /** Names held in the trie (for tests and the bound). */
  get size(): number {
    return this.nodes;
  }

  /** Values held in the tables (for tests and the bound). */
  get heldValues(): number {
    return this.held;
  }

  /** Values replaced by an equal one a table held. */
  get shared(): number {
    return this.sharedValues;
  }
}

function newNode(): TrieNode {
  return { next: new Map(), looked: 0, hits: 0 };
}

/** JSON.parse builds objects in fast mode with in-object fields: the layout copies of it keep. */
function templateOf(names: string[]): Labels {
  return JSON.parse(`{${names.map((n) => `${JSON.stringify(n)}:""`).join(',')}}`) as Labels;
}

const processWide = new LabelSetCompactor();

/** `LabelSetCompactor.compact` with one process-wide trie (templates and values are worth sharing across jobs). */
export function compactLabels(labels: Labels): Labels {
  return processWide.compact(labels);
}
