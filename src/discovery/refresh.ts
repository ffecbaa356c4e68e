/**
 * Shared pieces of the periodic discoverers (Prometheus's discovery/refresh): a refresh loop that can also be woken
 * early (file watches), a tracker that turns each refresh's complete set of groups into the updates to emit, and
 * the decoding of target group lists (file SD files, HTTP SD responses).
 */
import YAML, { LineCounter } from 'yaml';
import { ConfigError } from '../prom/errors.js';
import { isPlainMap, readLabelSet, readList, readMap, readString } from '../prom/decode.js';
import { isValidLabelName, type Labels } from '../prom/labels.js';
import { aliasBudget, toPlain } from '../prom/yaml-plain.js';
import type { DiscoveryContext, TargetGroup } from './types.js';

/**
 * Runs `refresh` at once and then every `intervalMs` (0: only when kicked) until `signal` aborts.
 * A kick during a refresh makes another refresh follow right after it.
 */
export class RefreshLoop {
  private kicked = false;
  private wake?: () => void;

  constructor(private readonly signal: AbortSignal, private readonly intervalMs: number) {}

  /** Asks for a refresh now (or right after the one in progress). */
  kick(): void {
    this.kicked = true;
    this.wake?.();
  }

  async run(refresh: () => Promise<void>): Promise<void> {
    while (!this.signal.aborted) {
      this.kicked = false;
      const started = Date.now();
      await refresh();
      if (this.signal.aborted) break;
      if (this.kicked) continue;
      // Like Go's ticker: the next refresh is due one interval after the previous one started.
      await this.wait(this.intervalMs > 0 ? Math.max(0, this.intervalMs - (Date.now() - started)) : undefined);
    }
  }

  private wait(ms: number | undefined): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        if (timer) clearTimeout(timer);
        this.signal.removeEventListener('abort', done);
        this.wake = undefined;
        resolve();
      };
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      this.signal.addEventListener('abort', done, { once: true });
      this.wake = done;
      if (this.kicked || this.signal.aborted) done();
    });
  }
}

function sameGroup(a: TargetGroup, b: TargetGroup): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The groups a discoverer has emitted, by source. `update` takes the complete current set and returns what to
 * emit: everything on the first call (the initial set, possibly empty), afterwards only changed groups plus empty
 * groups for sources that are gone; undefined when nothing changed.
 */
export class GroupTracker {
  private emitted = new Map<string, TargetGroup>();
  private started = false;
  private failing = false;

  /** The last emitted group of `source`, if it had targets. */
  get(source: string): TargetGroup | undefined {
    return this.emitted.get(source);
  }

  update(groups: TargetGroup[]): TargetGroup[] | undefined {
    const next = new Map<string, TargetGroup>();
    for (const g of groups) next.set(g.source, g);
    const out: TargetGroup[] = [];
    for (const g of next.values()) {
      const old = this.emitted.get(g.source);
      if (!this.started || !old || !sameGroup(old, g)) {
        if (this.started && !old && g.targets.length === 0) continue; // clearing what was never there
        out.push(g);
      }
    }
    for (const source of this.emitted.keys()) {
      if (!next.has(source)) out.push({ source, targets: [], labels: {} });
    }
    this.emitted = new Map([...next].filter(([, g]) => g.targets.length > 0));
    const first = !this.started;
    this.started = true;
    return first || out.length > 0 ? out : undefined;
  }

  /**
   * Reports one refresh: emits what changed, then the refresh's errors. Errors are reported on every refresh that
   * has them; the first clean refresh after them emits even when nothing changed, so the failure is cleared.
   */
  report(ctx: DiscoveryContext, groups: TargetGroup[], errors: Error[] = []): void {
    const out = this.update(groups);
    if (out || (this.failing && errors.length === 0)) ctx.emit(out ?? []);
    for (const e of errors) ctx.fail(e);
    this.failing = errors.length > 0;
  }

  /** Reports a refresh that produced nothing: the last good groups stay. */
  fail(ctx: DiscoveryContext, err: Error): void {
    ctx.fail(err);
    this.failing = true;
  }
}

/** Go's net.JoinHostPort: IPv6 literals (anything with a colon) in brackets. */
export function joinHostPort(host: string, port: number | string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    const cause = e.cause instanceof Error ? `: ${e.cause.message}` : '';
    return `${e.message}${cause}${code && !e.message.includes(code) ? ` (${code})` : ''}`;
  }
  return String(e);
}

// ---- target group lists, as file SD files and HTTP SD responses carry them ----

/** A target group as written in a file or an HTTP SD response, before source and meta labels. */
export interface RawGroup {
  targets: Labels[];
  labels: Labels;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${JSON.stringify(v)}`;
}

/**
 * Names seen valid, so that the ≈40 names repeated in every group of a large file are checked once each
 * (bounded: names are attacker-chosen in an HTTP SD response).
 */
const validNames = new Set<string>();

/**
 * A group's `labels` object from JSON.parse, checked and returned as the label set itself: the parsed object is
 * ours alone, and copying ≈40 dynamic keys per group into a new object cost more than parsing them.
 */
function checkedLabels(v: Record<string, unknown>, i: number): Labels {
  for (const name of Object.keys(v)) {
    if (!validNames.has(name)) {
      if (!isValidLabelName(name)) throw new Error(`target group ${i}: ${JSON.stringify(name)} is not a valid label name`);
      if (validNames.size >= 10_000) validNames.clear();
      validNames.add(name);
    }
    const value = v[name];
    if (typeof value === 'string') continue;
    if (value !== null) throw new Error(`target group ${i}: label ${name}: expected a string, got ${describe(value)}`);
    v[name] = ''; // a JSON null is Go's zero value
  }
  return v as Labels;
}

/** Go's encoding/json into []*targetgroup.Group: field names match case-insensitively, unknown fields are errors. */
function jsonGroups(text: string): RawGroup[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new Error(`invalid JSON: ${(e as Error).message}`);
  }
  if (doc === null) return [];
  if (!Array.isArray(doc)) throw new Error(`expected a list of target groups, got ${describe(doc)}`);
  return doc.map(jsonGroup);
}

/** One element of a JSON target group list, checked as Go's encoding/json decodes a targetgroup.Group. */
export function jsonGroup(g: unknown, i: number): RawGroup {
  if (g === null) throw new Error(`target group ${i} is null`);
  if (!isPlainMap(g)) throw new Error(`target group ${i}: expected an object, got ${describe(g)}`);
  const out: RawGroup = { targets: [], labels: {} };
  for (const [key, v] of Object.entries(g)) {
    const field = key.toLowerCase();
    if (field === 'targets') {
      if (v !== null && !Array.isArray(v)) throw new Error(`target group ${i}: targets: expected a list of strings, got ${describe(v)}`);
      out.targets = (v ?? []).map((t: unknown, j: number) => {
        if (t !== null && typeof t !== 'string') throw new Error(`target group ${i}: targets[${j}]: expected a string, got ${describe(t)}`);
        return { __address__: t ?? '' };
      });
    } else if (field === 'labels') {
      if (v !== null && !isPlainMap(v)) throw new Error(`target group ${i}: labels: expected an object, got ${describe(v)}`);
      out.labels = v === null ? {} : checkedLabels(v as Record<string, unknown>, i);
    } else {
      throw new Error(`target group ${i}: unknown field ${JSON.stringify(key)}`);
    }
  }
  return out;
}

/** yaml.v2's UnmarshalStrict into []*targetgroup.Group: unknown fields and duplicate keys are errors. */
function yamlGroups(text: string): RawGroup[] {
  const lines = new LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, version: '1.1' });
  const err = doc.errors[0];
  if (err) throw new Error(`invalid YAML at line ${err.linePos?.[0]?.line ?? 1}: ${err.message.split('\n')[0]}`);
  // file_sd files are read as often as every few seconds: an alias bomb there is refused as in the config.
  const raw = toPlain(doc.contents, doc, 0, { viaAlias: 0, limit: aliasBudget(text.length) });
  try {
    return readList(raw, [], 'target groups').map((g, i) => {
      if (g === null) throw new ConfigError(`target group ${i} is null`, [i]);
      const m = readMap(g, [i], 'target group', ['targets', 'labels']);
      const targets = readList(m.targets, [i, 'targets'], 'targets').map((t, j) => ({ __address__: t === null ? '' : readString(t, [i, 'targets', j], 'target') }));
      return { targets, labels: readLabelSet(m.labels, [i, 'labels'], 'labels') };
    });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const node = e.path.length ? (doc.getIn(e.path, true) as { range?: [number, number, number] } | undefined) : undefined;
    const line = lines.linePos(node?.range?.[0] ?? (doc.contents?.range?.[0] ?? 0)).line;
    throw new Error(`line ${line}: ${e.message}`);
  }
}

/** Parses a list of target groups (`[{targets: [...], labels: {...}}]`); throws saying what is wrong. */
export function parseTargetGroups(text: string, format: 'json' | 'yaml'): RawGroup[] {
  return format === 'json' ? jsonGroups(text) : yamlGroups(text);
}
