/**
 * A shard's sidecar as the coordinator sees it through the contract, for the coordinator-cycle bench: it keeps its
 * targets' statuses in the sidecar's own TargetStatusBook and answers the contract's calls (runtime info, config,
 * statuses since a version with or without the runtime info, assignments whole or as changes). Its "scrapes" are calls of the bench.
 */
import { CallError } from '../src/http/client.js';
import { TargetStatusBook } from '../src/sidecar/target-status.js';
import { configHash, readAssignment, readAssignmentChange, type AssignedTargetSpec, type RuntimeInfo } from '../src/shard/contract.js';

/** A target's series in the bench: 50–149, from its hash. */
export const sizeOf = (hash: string): number => 50 + (parseInt(hash.slice(0, 4), 16) % 100);
const scrape = (series: number) => ({ ok: true, error: '', series, samples: series, bytes: series * 40, durationMs: 3, at: new Date() });

export class FakeSidecar {
  readonly book: TargetStatusBook;
  private specs = new Map<string, AssignedTargetSpec>();
  private seq = 0;
  private hash = '';
  constructor(id: string) {
    this.book = new TargetStatusBook(`bench${id}x${Date.now().toString(36)}`);
  }
  private get assignmentVersion(): string {
    return `${this.book.epoch}.${this.seq}`;
  }
  private apply(specs: Iterable<AssignedTargetSpec>): unknown {
    this.specs = new Map([...specs].map((s) => [s.hash, s]));
    this.seq++;
    this.book.assign([...this.specs.values()], new Date());
    return { targets: this.specs.size, version: this.assignmentVersion };
  }
  handle(method: string, path: string, query: URLSearchParams, body: unknown): unknown {
    if (path === '/api/v1/shard/runtimeinfo') return this.runtimeInfo();
    if (path === '/api/v1/shard/config') {
      this.hash = configHash(body as string);
      return { configHash: this.hash };
    }
    if (method === 'GET') {
      const delta = this.book.since(query.get('since') ?? undefined, this.assignmentVersion, query.get('labels') !== 'false');
      return query.get('runtime') === 'true' ? { ...delta, runtime: this.runtimeInfo() } : delta;
    }
    const b = body as Record<string, unknown>;
    if (b.base === undefined) return this.apply(readAssignment(b));
    const change = readAssignmentChange(b);
    if (change.base !== this.assignmentVersion) throw new CallError(`assignment at ${this.assignmentVersion}, not ${change.base}`, 409);
    // In proportion to the change, as the contract's change is meant to be: applying it to a copy of the whole
    // assignment made a thousand-entry map per call, garbage that the coordinator's collector paid for in this heap.
    for (const h of change.remove) this.specs.delete(h);
    for (const t of change.set) this.specs.set(t.hash, t);
    this.seq++;
    this.book.change(change.set, change.remove, new Date());
    return { targets: this.specs.size, version: this.assignmentVersion };
  }
  private runtimeInfo(): RuntimeInfo {
    return {
      headSeries: this.book.totalSeries(), headSeriesError: '', processSeries: this.book.totalSeries(), targets: this.specs.size, configHash: this.hash,
      idleSince: this.specs.size ? null : new Date(0).toISOString(), prometheusReady: true, lastReloadError: '', ready: true, notReadyReason: '',
    };
  }
  /** Scrapes: every target below 3 successful scrapes gets them. */
  scrapeNew(): void {
    for (const h of this.specs.keys()) {
      const st = this.book.get(h)!;
      while (st.scrapesSinceAssigned < 3) this.book.record(h, scrape(st.series || sizeOf(h)));
    }
  }
  /** The target grows by half (three scrapes say so); false when this sidecar does not hold it. */
  grow(hash: string): boolean {
    const st = this.book.get(hash);
    if (!st) return false;
    for (let i = 0; i < 3; i++) this.book.record(hash, scrape(Math.round(st.series * 1.5)));
    return true;
  }
  get size(): number {
    return this.specs.size;
  }
}

/** A request to a host of fake sidecars (a worker thread, or the bench's own thread); answered with the same `req`. */
export type HostRequest = { req: number } & (
  | { op: 'scale'; count: number }
  | { op: 'call'; id: number; method: string; path: string; query: string; body?: string }
  | { op: 'scrapeNew' }
  | { op: 'grow'; hashes: string[] }
  | { op: 'assigned' }
);

export interface HostAnswer {
  req: number;
  /** A call's answer as JSON text. */
  answer?: string;
  error?: string;
  status?: number;
  grown?: number;
  n?: number;
}

/**
 * The fake sidecars whose ordinal % `hosts` === `host`. Requests: { op: 'scale', count }, { op: 'call', id, method,
 * path, query, body } (body as sent on the wire; answered { answer } as JSON text, or { error, status }),
 * { op: 'scrapeNew' }, { op: 'grow', hashes } (answered { grown }: how many of them a sidecar here holds),
 * { op: 'assigned' } (answered { n }).
 */
export class FakeSidecarHost {
  private readonly sidecars = new Map<number, FakeSidecar>();
  private made = 0;
  constructor(private readonly host: number, private readonly hosts: number) {}

  answer(m: HostRequest): HostAnswer {
    const req = m.req;
    switch (m.op) {
      case 'scale':
        for (let id = this.host; id < m.count; id += this.hosts) if (!this.sidecars.has(id)) this.sidecars.set(id, new FakeSidecar(`${this.host}-${this.made++}`));
        for (const id of this.sidecars.keys()) if (id >= m.count) this.sidecars.delete(id);
        return { req };
      case 'call': {
        const s = this.sidecars.get(m.id);
        if (!s) return { req, error: `shard ${m.id}: connection refused` };
        try {
          const body = m.body === undefined ? undefined : m.path === '/api/v1/shard/config' ? m.body : JSON.parse(m.body);
          return { req, answer: JSON.stringify(s.handle(m.method, m.path, new URLSearchParams(m.query), body)) };
        } catch (e) {
          return { req, error: (e as Error).message, status: e instanceof CallError ? e.status : undefined };
        }
      }
      case 'scrapeNew':
        for (const s of this.sidecars.values()) s.scrapeNew();
        return { req };
      case 'grow': {
        let grown = 0;
        for (const h of m.hashes) {
          for (const s of this.sidecars.values()) {
            if (s.grow(h)) {
              grown++;
              break;
            }
          }
        }
        return { req, grown };
      }
      case 'assigned': {
        let n = 0;
        for (const s of this.sidecars.values()) n += s.size;
        return { req, n };
      }
    }
  }
}
