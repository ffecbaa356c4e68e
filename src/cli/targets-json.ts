/**
 * `kvass targets --output=json`, written piece by piece: the same bytes as
 * `JSON.stringify(targetsApiData(jobs), null, 2)`, without building that document. For 100,000 pod targets the
 * document is ≈400 MB of text (and as much again as a Buffer), and building it meant a sorted copy of every
 * target's ≈45 discovered labels as an object: most of the command's time and its peak memory.
 */
import { compareLabelNames, RESERVED_LABEL_PREFIX, sameNames, SCRAPE_INTERVAL_LABEL, SCRAPE_TIMEOUT_LABEL } from '../prom/labels.js';
import { discoveredLabelArrays, type DroppedTarget, type Target } from '../target/populate.js';
import type { JobResult } from './targets.js';
import { ChunkedText, type TextSink } from '../http/chunked.js';

/** How to print one list of label names: for each name to print, its index and the text before its value. */
interface Layout {
  names: string[];
  index: number[];
  prefix: string[];
}

/**
 * Layouts by the list of names as found (Prometheus order: the names' UTF-8 bytes; reserved names left out when
 * `publicOnly`). Targets of one job nearly always share their label names in the same order (one discoverer, one
 * relabel pipeline), so a sort of ≈45 names and their quoting happen once per distinct list, not per target.
 */
class LayoutCache {
  private readonly byKey = new Map<string, Layout>();
  private last: Layout | null = null;

  constructor(private readonly indent: string, private readonly publicOnly: boolean) {}

  get(names: readonly string[]): Layout {
    // Consecutive targets usually share the list: compared name by name, which is cheaper than a key.
    if (this.last !== null && sameNames(this.last.names, names)) return this.last;
    // '\n' cannot occur in a label name that got this far; the names are compared on a hit anyway.
    const key = names.join('\n');
    let hit = this.byKey.get(key);
    if (hit === undefined || !sameNames(hit.names, names)) {
      hit = this.layout(names);
      if (this.byKey.size >= 4096) this.byKey.clear();
      this.byKey.set(key, hit);
    }
    this.last = hit;
    return hit;
  }

  private layout(names: readonly string[]): Layout {
    const sorted = Array.from(names, (_, i) => i).sort((a, b) => compareLabelNames(names[a]!, names[b]!));
    const index = this.publicOnly ? sorted.filter((i) => !names[i]!.startsWith(RESERVED_LABEL_PREFIX)) : sorted;
    const inner = this.indent + '  ';
    const prefix = index.map((i, k) => (k === 0 ? '{\n' : ',\n') + inner + JSON.stringify(names[i]) + ': ');
    return { names: names.slice(), index, prefix };
  }

  /** One label object, its closing brace at the cache's indentation. */
  text(names: readonly string[], values: readonly string[]): string {
    const { index, prefix } = this.get(names);
    if (index.length === 0) return '{}';
    let s = '';
    for (let k = 0; k < index.length; k++) s += prefix[k]! + quote(values[index[k]!]!);
    return s + '\n' + this.indent + '}';
  }
}


/** Characters JSON.stringify escapes in a string (controls, quote, backslash, any surrogate: lone ones get \u). */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** JSON.stringify of a string; most label values need no escaping, and quoting them by hand is much cheaper. */
function quote(v: string): string {
  return NEEDS_ESCAPE.test(v) ? JSON.stringify(v) : '"' + v + '"';
}

const q = quote;

/** Writes the data of /api/v1/targets?state=any for `jobs`, then a newline, exactly as runTargets always has. */
export async function writeTargetsJson(jobs: readonly JobResult[], sink: TextSink): Promise<void> {
  const out = new ChunkedText(sink);
  const discoveredLayouts = new LayoutCache('      ', false);
  const publicLayouts = new LayoutCache('      ', true);
  const names: string[] = [];
  const values: string[] = [];
  const discovered = (t: Target | DroppedTarget): string => {
    discoveredLabelArrays(t, names, values);
    return discoveredLayouts.text(names, values);
  };

  out.add('{\n  "activeTargets": [');
  let first = true;
  for (const { job, targets } of jobs) {
    for (const t of targets.active) {
      let s = (first ? '\n' : ',\n') + '    {\n      "discoveredLabels": ' + discovered(t);
      s += ',\n      "labels": ' + publicLayouts.text(Object.keys(t.labels), Object.values(t.labels));
      const url = q(t.scrapeUrl);
      s += ',\n      "scrapePool": ' + q(job) + ',\n      "scrapeUrl": ' + url + ',\n      "globalUrl": ' + url;
      s += ',\n      "lastError": "",\n      "lastScrape": "0001-01-01T00:00:00Z",\n      "lastScrapeDuration": 0,\n      "health": "unknown"';
      // JSON.stringify leaves out a key whose value is undefined; so does this.
      const interval = t.labels[SCRAPE_INTERVAL_LABEL];
      const timeout = t.labels[SCRAPE_TIMEOUT_LABEL];
      if (interval !== undefined) s += ',\n      "scrapeInterval": ' + q(interval);
      if (timeout !== undefined) s += ',\n      "scrapeTimeout": ' + q(timeout);
      out.add(s + '\n    }');
      first = false;
      if (out.full) await out.flush();
    }
  }
  out.add(first ? ']' : '\n  ]');
  out.add(',\n  "droppedTargets": [');
  first = true;
  for (const { targets } of jobs) {
    for (const t of targets.dropped) {
      out.add((first ? '\n' : ',\n') + '    {\n      "discoveredLabels": ' + discovered(t) + '\n    }');
      first = false;
      if (out.full) await out.flush();
    }
  }
  out.add(first ? ']' : '\n  ]');
  out.add('\n}\n');
  await out.flush();
}
