/**
 * A small fake Kubernetes API server for the kubernetes_sd and k8s shard tests: list (with list resourceVersion and
 * limit/continue paging), watch (`watch=1|true&resourceVersion=N`, JSON lines of ADDED/MODIFIED/DELETED,
 * BOOKMARK on request), 410 Gone for compacted resourceVersions (as a watch ERROR event or an HTTP status),
 * label selectors (equality and set-based) and equality field selectors, namespaced and cluster-wide paths,
 * /version, optional auth and TLS, injected failures (409 conflicts among them), stop/restart on the same port.
 * Writes as the API server does them: get, create (409 AlreadyExists), update with optimistic concurrency (a stale
 * metadata.resourceVersion gets 409 Conflict), JSON merge patch, delete, and the StatefulSet `scale` subresource.
 * Every write is recorded with its author (the client's User-Agent) and time.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

export type Resource = 'pods' | 'services' | 'endpoints' | 'nodes' | 'endpointslices' | 'ingresses' | 'statefulsets' | 'persistentvolumeclaims' | 'leases';
type Meta = { name?: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string>; [k: string]: unknown };
export type Obj = { metadata?: Meta } & Record<string, unknown>;

const KIND: Record<Resource, [string, string]> = {
  pods: ['Pod', 'v1'],
  services: ['Service', 'v1'],
  endpoints: ['Endpoints', 'v1'],
  nodes: ['Node', 'v1'],
  endpointslices: ['EndpointSlice', 'discovery.k8s.io/v1'],
  ingresses: ['Ingress', 'networking.k8s.io/v1'],
  statefulsets: ['StatefulSet', 'apps/v1'],
  persistentvolumeclaims: ['PersistentVolumeClaim', 'v1'],
  leases: ['Lease', 'coordination.k8s.io/v1'],
};

/** A write the fake accepted or refused, with who sent it (User-Agent) and when. */
export interface RecordedWrite {
  timeMs: number;
  author: string;
  method: string;
  path: string;
  status: number;
  body: unknown;
}

export interface FakeOptions {
  tls?: { key: string; cert: string };
  /** Require `Authorization: Bearer <token>`. */
  token?: string;
  /** Require basic auth. */
  basic?: { user: string; pass: string };
  gitVersion?: string;
  /** How a watch from a compacted resourceVersion fails: an ERROR event (as real API servers) or an HTTP 410. */
  goneAs?: 'event' | 'status';
  /** Answer every list whole, whatever its `limit` (the API allows a server to; the watch cache does at resourceVersion 0). */
  ignoreLimit?: boolean;
}

export interface RecordedRequest {
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  watch: boolean;
}

interface Event {
  rv: number;
  resource: Resource;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  obj: Obj;
  old?: Obj;
}

interface Watcher {
  resource: Resource;
  namespace: string;
  label: string;
  field: string;
  res: http.ServerResponse;
}

interface Failure {
  match: (r: RecordedRequest) => boolean;
  status: number;
  times: number;
}

const REASONS: Record<number, string> = { 404: 'NotFound', 409: 'Conflict', 410: 'Expired', 422: 'Invalid', 500: 'InternalError' };

function status(code: number, reason: string, message: string) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out = (typeof target === 'object' && target !== null && !Array.isArray(target) ? target : {}) as Record<string, unknown>;
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function lookup(obj: unknown, path: string): string | undefined {
  let cur: unknown = obj;
  for (const p of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur === undefined || cur === null ? undefined : String(cur);
}

/** Equality-based selectors: `k=v`, `k==v`, `k!=v`, `k`, `!k` (labels); `a.b=v`, `a.b!=v` (fields). */
export function matches(obj: Obj, label: string, field: string): boolean {
  const labels = obj.metadata?.labels ?? {};
  for (const term of label.split(/,(?![^(]*\))/).map((t) => t.trim()).filter(Boolean)) {
    let m: RegExpExecArray | null;
    if ((m = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(term))) {
      const set = m[3]!.split(',').map((v) => v.trim());
      const has = m[1]! in labels && set.includes(labels[m[1]!]!);
      if (m[2] === 'in' ? !has : has) return false;
    } else if ((m = /^([^!=]+?)\s*!=\s*(.*)$/.exec(term))) {
      if (labels[m[1]!] === m[2]) return false;
    } else if ((m = /^([^!=]+?)\s*==?\s*(.*)$/.exec(term))) {
      if (labels[m[1]!] !== m[2]) return false;
    } else if (term.startsWith('!')) {
      if (term.slice(1) in labels) return false;
    } else if (!(term in labels)) return false;
  }
  for (const term of field.split(',').map((t) => t.trim()).filter(Boolean)) {
    const m = /^([^!=]+?)\s*(!=|==|=)\s*(.*)$/.exec(term);
    if (!m) return false;
    const v = lookup(obj, m[1]!) ?? '';
    if (m[2] === '!=' ? v === m[3] : v !== m[3]) return false;
  }
  return true;
}

export class FakeApiServer {
  readonly requests: RecordedRequest[] = [];
  readonly writes: RecordedWrite[] = [];
  private rv = 1;
  private compactedRV = 0;
  private readonly store = new Map<Resource, Map<string, Obj>>();
  private readonly events: Event[] = [];
  private readonly watchers = new Set<Watcher>();
  private readonly failures: Failure[] = [];
  private readonly sockets = new Set<Socket>();
  private server?: http.Server;
  port = 0;

  private constructor(readonly opts: FakeOptions) {}

  static async start(opts: FakeOptions = {}): Promise<FakeApiServer> {
    const s = new FakeApiServer(opts);
    await s.listen(0);
    return s;
  }

  get url(): string {
    return `${this.opts.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  private listen(port: number): Promise<void> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => this.handle(req, res);
    const server = this.opts.tls ? https.createServer({ key: this.opts.tls.key, cert: this.opts.tls.cert }, handler) : http.createServer(handler);
    server.on(this.opts.tls ? 'secureConnection' : 'connection', (sock: Socket) => {
      this.sockets.add(sock);
      sock.on('close', () => this.sockets.delete(sock));
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        this.port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  /** Stops listening and drops every connection (watches end with a network error). */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.watchers.clear();
    const closed = new Promise<void>((r) => server.close(() => r()));
    for (const s of this.sockets) s.destroy();
    server.closeAllConnections?.();
    await closed;
  }

  /** Listens again on the same port, with the same objects and resourceVersions. */
  async restart(): Promise<void> {
    await this.listen(this.port);
  }

  // ---- state changes ----

  upsert(resource: Resource, obj: Obj): Obj {
    const o = structuredClone(obj);
    const [kind, apiVersion] = KIND[resource];
    o.kind = kind;
    o.apiVersion = apiVersion;
    o.metadata = { ...o.metadata, resourceVersion: String(++this.rv) };
    const key = `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
    const m = this.store.get(resource) ?? new Map<string, Obj>();
    this.store.set(resource, m);
    const old = m.get(key);
    m.set(key, o);
    this.publish({ rv: this.rv, resource, type: old ? 'MODIFIED' : 'ADDED', obj: o, old });
    return o;
  }

  remove(resource: Resource, namespace: string, name: string): void {
    const m = this.store.get(resource);
    const key = `${namespace}/${name}`;
    const old = m?.get(key);
    if (!old) return;
    m!.delete(key);
    const o = structuredClone(old);
    o.metadata = { ...o.metadata, resourceVersion: String(++this.rv) };
    this.publish({ rv: this.rv, resource, type: 'DELETED', obj: o });
  }

  /** Forgets the event history: watches from any earlier resourceVersion now get 410 Gone. */
  compact(): void {
    this.compactedRV = this.rv + 1;
    this.events.length = 0;
  }

  /** Changes objects without telling current watchers (as if their watch missed events), then compacts. */
  silently(f: () => void): void {
    const saved = [...this.watchers];
    this.watchers.clear();
    f();
    this.compact();
    for (const w of saved) this.watchers.add(w);
  }

  /** Ends every open watch normally (as a server-side watch timeout). */
  closeWatches(): void {
    for (const w of this.watchers) w.res.end();
    this.watchers.clear();
  }

  /** Sends a BOOKMARK with the current resourceVersion to every watcher. */
  bookmark(): void {
    for (const w of this.watchers) {
      const [kind, apiVersion] = KIND[w.resource];
      w.res.write(`${JSON.stringify({ type: 'BOOKMARK', object: { kind, apiVersion, metadata: { resourceVersion: String(this.rv) } } })}\n`);
    }
  }

  /** The next `times` requests matching `match` fail with `code`. */
  failNext(match: (r: RecordedRequest) => boolean, code: number, times = 1): void {
    this.failures.push({ match, status: code, times });
  }

  watchCount(resource?: Resource): number {
    return [...this.watchers].filter((w) => !resource || w.resource === resource).length;
  }

  listRequests(pathPart: string): RecordedRequest[] {
    return this.requests.filter((r) => !r.watch && r.path.includes(pathPart));
  }

  watchRequests(pathPart: string): RecordedRequest[] {
    return this.requests.filter((r) => r.watch && r.path.includes(pathPart));
  }

  // ---- HTTP ----

  private publish(ev: Event): void {
    this.events.push(ev);
    for (const w of this.watchers) this.deliver(w, ev);
  }

  private deliver(w: Watcher, ev: Event): void {
    if (w.resource !== ev.resource) return;
    if (w.namespace && (ev.obj.metadata?.namespace ?? '') !== w.namespace) return;
    const now = matches(ev.obj, w.label, w.field);
    const before = ev.old ? matches(ev.old, w.label, w.field) : false;
    let type: string = ev.type;
    if (ev.type === 'MODIFIED' && !now && before) type = 'DELETED';
    else if (ev.type === 'MODIFIED' && now && !before) type = 'ADDED';
    else if (!now) return;
    w.res.write(`${JSON.stringify({ type, object: ev.obj })}\n`);
  }

  private send(res: http.ServerResponse, code: number, body: unknown): void {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const u = new URL(req.url ?? '/', 'http://x');
    const watch = u.searchParams.get('watch') === '1' || u.searchParams.get('watch') === 'true';
    const rec: RecordedRequest = { path: u.pathname, query: u.searchParams, headers: req.headers, watch };
    this.requests.push(rec);

    if (this.opts.token && req.headers.authorization !== `Bearer ${this.opts.token}`) {
      return this.send(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
    }
    if (this.opts.basic) {
      const want = `Basic ${Buffer.from(`${this.opts.basic.user}:${this.opts.basic.pass}`).toString('base64')}`;
      if (req.headers.authorization !== want) return this.send(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
    }
    const f = this.failures.find((x) => x.times > 0 && x.match(rec));
    if (f) {
      f.times--;
      if (req.method !== 'GET') this.writes.push({ timeMs: Date.now(), author: String(req.headers['user-agent'] ?? ''), method: req.method ?? '', path: u.pathname, status: f.status, body: undefined });
      return this.send(res, f.status, status(f.status, REASONS[f.status] ?? 'InternalError', `injected failure ${f.status}`));
    }
    if (u.pathname === '/version') {
      const gv = this.opts.gitVersion ?? 'v1.26.1';
      const m = /^v(\d+)\.(\d+)/.exec(gv);
      return this.send(res, 200, { major: m?.[1] ?? '1', minor: m?.[2] ?? '26', gitVersion: gv });
    }
    const m = /^\/(?:api\/v1|apis\/[^/]+\/[^/]+)(?:\/namespaces\/([^/]+))?\/([a-z]+)(?:\/([^/]+)(\/scale)?)?$/.exec(u.pathname);
    if (!m || !(m[2]! in KIND)) return this.send(res, 404, status(404, 'NotFound', `the server could not find the requested resource ${u.pathname}`));
    const namespace = m[1] ? decodeURIComponent(m[1]) : '';
    const resource = m[2] as Resource;
    if (m[3] !== undefined || req.method !== 'GET') {
      void this.object(req, res, resource, namespace, m[3] === undefined ? undefined : decodeURIComponent(m[3]), m[4] !== undefined);
      return;
    }
    const label = u.searchParams.get('labelSelector') ?? '';
    const field = u.searchParams.get('fieldSelector') ?? '';
    if (watch) return this.watch(res, resource, namespace, label, field, u.searchParams.get('resourceVersion') ?? '');
    return this.list(res, resource, namespace, label, field, u.searchParams);
  }

  /** The stored object (a copy), if any. */
  get(resource: Resource, namespace: string, name: string): Obj | undefined {
    const o = this.store.get(resource)?.get(`${namespace}/${name}`);
    return o ? structuredClone(o) : undefined;
  }

  /** Writes by an author (User-Agent) that the server accepted, optionally only those whose path contains `part`. */
  acceptedWrites(part = ''): RecordedWrite[] {
    return this.writes.filter((w) => w.status < 300 && w.path.includes(part));
  }

  private async object(req: http.IncomingMessage, res: http.ServerResponse, resource: Resource, namespace: string, name: string | undefined, scale: boolean): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: Obj | undefined;
    try {
      body = text ? (JSON.parse(text) as Obj) : undefined;
    } catch {
      return this.send(res, 400, status(400, 'BadRequest', 'the body is not JSON'));
    }
    const method = req.method ?? 'GET';
    const reply = (code: number, out: unknown): void => {
      if (method !== 'GET') this.writes.push({ timeMs: Date.now(), author: String(req.headers['user-agent'] ?? ''), method, path: req.url ?? '', status: code, body });
      this.send(res, code, out);
    };
    const [kind] = KIND[resource];
    const key = (n: string): string => `${namespace}/${n}`;
    const current = name === undefined ? undefined : this.store.get(resource)?.get(key(name));
    const notFound = (): void => reply(404, status(404, 'NotFound', `${resource} "${name}" not found`));
    const conflict = (): void => reply(409, status(409, 'Conflict', `Operation cannot be fulfilled on ${resource} "${name}": the object has been modified; please apply your changes to the latest version and try again`));
    const scaleOf = (o: Obj) => ({
      kind: 'Scale', apiVersion: 'autoscaling/v1',
      metadata: { name, namespace, resourceVersion: o.metadata?.resourceVersion },
      spec: { replicas: (o.spec as { replicas?: number } | undefined)?.replicas ?? 0 },
      status: { replicas: (o.status as { replicas?: number } | undefined)?.replicas ?? 0 },
    });
    if (name === undefined) {
      if (method !== 'POST') return reply(405, status(405, 'MethodNotAllowed', `${method} on a collection`));
      const n = body?.metadata?.name;
      if (!n) return reply(422, status(422, 'Invalid', 'metadata.name: Required value'));
      if (this.store.get(resource)?.has(key(n))) return reply(409, status(409, 'AlreadyExists', `${resource} "${n}" already exists`));
      return reply(201, this.upsert(resource, { ...body, metadata: { ...body!.metadata, namespace } }));
    }
    if (scale && resource !== 'statefulsets') return notFound();
    switch (method) {
      case 'GET':
        if (!current) return notFound();
        return reply(200, scale ? scaleOf(current) : current);
      case 'PUT': {
        if (!current) return notFound();
        const rv = body?.metadata?.resourceVersion;
        if (rv && rv !== current.metadata?.resourceVersion) return conflict();
        if (scale) {
          const replicas = (body?.spec as { replicas?: number } | undefined)?.replicas;
          if (typeof replicas !== 'number' || replicas < 0) return reply(422, status(422, 'Invalid', 'spec.replicas: Invalid value'));
          return reply(200, scaleOf(this.upsert(resource, { ...current, spec: { ...(current.spec as object), replicas } })));
        }
        return reply(200, this.upsert(resource, { ...body, metadata: { ...body!.metadata, name, namespace } }));
      }
      case 'PATCH': {
        if (!current) return notFound();
        if (!String(req.headers['content-type']).startsWith('application/merge-patch+json')) return reply(415, status(415, 'UnsupportedMediaType', 'only merge patches'));
        const merged = mergePatch(structuredClone(current), body) as Obj;
        if (scale) return reply(200, scaleOf(this.upsert(resource, { ...current, spec: { ...(current.spec as object), replicas: (merged as { spec?: { replicas?: number } }).spec?.replicas } })));
        return reply(200, this.upsert(resource, merged));
      }
      case 'DELETE':
        if (!current) return notFound();
        this.remove(resource, namespace, name);
        return reply(200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, kind } });
      default:
        return reply(405, status(405, 'MethodNotAllowed', method));
    }
  }

  private selected(resource: Resource, namespace: string, label: string, field: string): Obj[] {
    const all = [...(this.store.get(resource)?.values() ?? [])];
    return all
      .filter((o) => !namespace || o.metadata?.namespace === namespace)
      .filter((o) => matches(o, label, field))
      .sort((a, b) => `${a.metadata?.namespace}/${a.metadata?.name}`.localeCompare(`${b.metadata?.namespace}/${b.metadata?.name}`));
  }

  private list(res: http.ServerResponse, resource: Resource, namespace: string, label: string, field: string, q: URLSearchParams): void {
    const items = this.selected(resource, namespace, label, field).map((o) => {
      const c = structuredClone(o);
      delete c.kind;
      delete c.apiVersion;
      return c;
    });
    const limit = this.opts.ignoreLimit ? 0 : Number(q.get('limit') ?? '0');
    let offset = 0;
    let listRV = this.rv;
    const cont = q.get('continue');
    if (cont) {
      const t = JSON.parse(Buffer.from(cont, 'base64').toString()) as { rv: number; offset: number };
      if (t.rv < this.compactedRV) return this.send(res, 410, status(410, 'Expired', 'The provided continue parameter is too old'));
      offset = t.offset;
      listRV = t.rv;
    }
    const page = limit > 0 ? items.slice(offset, offset + limit) : items.slice(offset);
    const more = limit > 0 && offset + limit < items.length;
    const metadata: Record<string, string> = { resourceVersion: String(listRV) };
    if (more) metadata.continue = Buffer.from(JSON.stringify({ rv: listRV, offset: offset + limit })).toString('base64');
    this.send(res, 200, { kind: `${KIND[resource][0]}List`, apiVersion: KIND[resource][1], metadata, items: page });
  }

  private watch(res: http.ServerResponse, resource: Resource, namespace: string, label: string, field: string, rvParam: string): void {
    const from = Number(rvParam || '0');
    if (rvParam && from < this.compactedRV) {
      const gone = status(410, 'Expired', `too old resource version: ${from} (${this.compactedRV})`);
      if (this.opts.goneAs === 'status') return this.send(res, 410, gone);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`${JSON.stringify({ type: 'ERROR', object: gone })}\n`);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.flushHeaders();
    const w: Watcher = { resource, namespace, label, field, res };
    if (!rvParam || rvParam === '0') {
      for (const o of this.selected(resource, namespace, label, field)) res.write(`${JSON.stringify({ type: 'ADDED', object: o })}\n`);
    } else {
      for (const ev of this.events) if (ev.rv > from) this.deliver(w, ev);
    }
    this.watchers.add(w);
    res.on('close', () => this.watchers.delete(w));
  }
}
