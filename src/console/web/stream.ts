/**
 * Reads `GET /api/v1/targets` as it arrives instead of waiting for the whole answer: with 100,000 targets the
 * answer is ~50 MB, and reading it all then parsing it takes about a second before the first row could be drawn.
 * ArraySplitter finds the elements of `data.activeTargets` in the text chunk by chunk (tracking only nesting,
 * strings and the keys of the first two levels), and each chunk's complete elements are parsed with one
 * JSON.parse; the caller gets them in batches, in order.
 */
import type { Target } from './api.js';
import { apiPrefix } from './api.js';

interface Level {
  array: boolean;
  /** The last key read at this level (objects). */
  key: string;
  /** Objects: a string here would be a key. */
  expectKey: boolean;
  /** The array whose elements are wanted. */
  wanted: boolean;
}

const QUOTE = 34;
/** How long the stream may hold the page before letting it paint and handle input. */
const YIELD_EVERY_MS = 40;
/** Characters given to the splitter at once (about 500 targets, ~20 ms of work). */
const SLICE = 256 * 1024;
const BACKSLASH = 92;

/**
 * Splits the elements of the array at `path` (keys from the top: ["data", "activeTargets"]) out of a JSON text
 * given in chunks. `feed` returns, for each chunk, the text of the elements completed in it joined by commas
 * (valid JSON once wrapped in brackets), or "" for none. Also keeps the top-level "status" string.
 */
export class ArraySplitter {
  private stack: Level[] = [];
  private inString = false;
  private escape = false;
  /** Collecting the current string (a key of the first levels, or the top-level status). */
  private collecting = false;
  private collected = '';
  /** Stack depth at which the current element opened; -1 outside any element. */
  private elementDepth = -1;
  /** The current element's text from earlier chunks. */
  private carry = '';
  status: string | undefined;

  constructor(private readonly path: readonly string[]) {}

  get done(): boolean {
    return this.stack.length === 0 && !this.inString && this.status !== undefined;
  }

  feed(chunk: string): string {
    const stack = this.stack;
    const len = chunk.length;
    let i = 0;
    let collectFrom = 0;
    /** Where the text to return starts in this chunk, and ends (after the last completed element). */
    let outFrom = -1;
    let outTo = -1;
    let out = '';
    let elementFrom = this.elementDepth >= 0 ? 0 : -1;
    /** The next backslash at or after i; -1: none in the rest of the chunk; -2: not looked for yet. */
    let nextBackslash = -2;
    if (this.escape) {
      this.escape = false;
      i = 1;
    }
    while (i < len) {
      if (this.inString) {
        // Jump to the closing quote: only a backslash before it needs care. The next backslash is looked for
        // once per chunk position (not from each string's start: that would rescan the chunk for every string).
        const q = chunk.indexOf('"', i);
        if (nextBackslash !== -1 && nextBackslash < i) nextBackslash = chunk.indexOf('\\', i);
        const b = nextBackslash;
        if (b >= 0 && (q < 0 || b < q)) {
          if (b + 1 >= len) {
            this.escape = true;
            i = len;
          } else i = b + 2;
          continue;
        }
        if (q < 0) {
          i = len;
          continue;
        }
        this.inString = false;
        if (this.collecting) {
          this.collecting = false;
          const text = this.collected + chunk.slice(collectFrom, q);
          this.collected = '';
          const top = stack[stack.length - 1]!;
          const value = text.includes('\\') ? (JSON.parse(`"${text}"`) as string) : text;
          if (top.expectKey) top.key = value;
          else this.status = value;
        }
        i = q + 1;
        continue;
      }
      const c = chunk.charCodeAt(i);
      if (c === QUOTE) {
        this.inString = true;
        const top = stack[stack.length - 1];
        if (this.elementDepth < 0 && top && !top.array && (top.expectKey ? stack.length <= this.path.length : stack.length === 1 && top.key === 'status')) {
          this.collecting = true;
          collectFrom = i + 1;
        }
      } else if (c === 123 /* { */ || c === 91 /* [ */) {
        const parent = stack[stack.length - 1];
        if (parent?.wanted && this.elementDepth < 0) {
          this.elementDepth = stack.length;
          elementFrom = i;
          this.carry = '';
        }
        const array = c === 91;
        const wanted = array && this.elementDepth < 0 && stack.length === this.path.length && stack.every((l, k) => !l.array && l.key === this.path[k]);
        stack.push({ array, key: '', expectKey: !array, wanted });
      } else if (c === 125 /* } */ || c === 93 /* ] */) {
        stack.pop();
        if (this.elementDepth >= 0 && stack.length === this.elementDepth) {
          // An element ended: it joins this chunk's output.
          if (this.carry !== '') {
            out += (out === '' ? '' : ',') + this.carry + chunk.slice(0, i + 1);
            this.carry = '';
          } else {
            if (outFrom < 0) outFrom = elementFrom;
            outTo = i + 1;
          }
          this.elementDepth = -1;
          elementFrom = -1;
        }
      } else if (c === 58 /* : */) {
        const top = stack[stack.length - 1];
        if (top) top.expectKey = false;
      } else if (c === 44 /* , */) {
        const top = stack[stack.length - 1];
        if (top && !top.array) top.expectKey = true;
      }
      i++;
    }
    if (this.collecting) this.collected += chunk.slice(collectFrom);
    if (this.elementDepth >= 0) this.carry += chunk.slice(Math.max(0, elementFrom));
    if (outFrom >= 0) out += (out === '' ? '' : ',') + chunk.slice(outFrom, outTo);
    return out;
  }
}

/**
 * GETs the active targets, handing them to `onBatch` as they arrive; resolves with how many there were. Throws an
 * Error that says what failed (HTTP status and Prometheus's error, a cut answer, a status other than success).
 */
export async function streamTargets(onBatch: (targets: Target[]) => void): Promise<number> {
  const path = '/api/v1/targets?state=active';
  let res: Response;
  try {
    res = await fetch(apiPrefix(location.pathname) + path, { headers: { accept: 'application/json' }, cache: 'no-store' });
  } catch (e) {
    throw new Error(`GET ${path}: ${(e as Error).message || 'network error'}`);
  }
  if (!res.ok || !res.body) {
    let why = 'no data';
    try {
      const env = (await res.json()) as { error?: string; errorType?: string };
      if (env.error) why = `${env.errorType ? `${env.errorType}: ` : ''}${env.error}`;
    } catch {
      why = 'not JSON';
    }
    throw new Error(`GET ${path}: HTTP ${res.status}, ${why}`);
  }
  const splitter = new ArraySplitter(['data', 'activeTargets']);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let n = 0;
  const take = (text: string): void => {
    const elements = text === '' ? '' : splitter.feed(text);
    if (elements === '') return;
    let batch: Target[];
    try {
      batch = JSON.parse(`[${elements}]`) as Target[];
    } catch (e) {
      throw new Error(`GET ${path}: the answer is not valid JSON (${(e as Error).message})`);
    }
    n += batch.length;
    onBatch(batch);
  };
  // A body already received resolves each read at once (microtasks): without yielding now and then, the page
  // would not paint, nor answer a keystroke, until the whole answer is in.
  let lastYield = performance.now();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      // Chromium hands over up to 2 MB at a time: split into slices so that no task holds the page for long.
      const text = decoder.decode(value, { stream: true });
      for (let at = 0; at < text.length; at += SLICE) {
        take(at === 0 && text.length <= SLICE ? text : text.slice(at, at + SLICE));
        if (performance.now() - lastYield > YIELD_EVERY_MS) {
          await new Promise((r) => setTimeout(r, 0));
          lastYield = performance.now();
        }
      }
    }
  } catch (e) {
    if ((e as Error).message.startsWith('GET ')) throw e;
    throw new Error(`GET ${path}: the answer was cut short (${(e as Error).message || 'network error'})`);
  }
  take(decoder.decode());
  if (!splitter.done) throw new Error(`GET ${path}: the answer was cut short or is not JSON`);
  if (splitter.status !== 'success') throw new Error(`GET ${path}: status ${JSON.stringify(splitter.status)}`);
  return n;
}
