/**
 * A shared-informer equivalent on @kubernetes/client-node's ListWatch: list (paginated, with the list's
 * resourceVersion), then watch from that resourceVersion; 410 Gone (HTTP status or watch ERROR event) re-lists,
 * and a re-list reports adds, updates and deletes against the cache. ListWatch stops on other errors; this
 * wrapper reports them and restarts it after a back-off, resuming the watch from the last resourceVersion.
 * The transport is our KubeClient, plugged in where ListWatch expects a client-node Watch.
 */
import type * as K8s from '@kubernetes/client-node';
import type { Logger } from '../../logger.js';
import { checkResponse, statusError, type K8sLib, type KubeClient } from './client.js';
import type { KubeObject } from './objects.js';

export type EventType = 'add' | 'update' | 'delete';
export type EventHandler<T> = (type: EventType, obj: T) => void;

export interface Backoff {
  initialMs: number;
  maxMs: number;
}

export function backoffDelay(b: Backoff, failures: number): number {
  return Math.min(b.maxMs, b.initialMs * 2 ** Math.max(0, Math.min(failures - 1, 30)));
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export interface InformerOptions {
  k8s: K8sLib;
  client: KubeClient;
  /** Collection path, e.g. `/api/v1/namespaces/default/pods`. */
  path: string;
  labelSelector: string;
  fieldSelector: string;
  backoff: Backoff;
  logger: Logger;
  signal: AbortSignal;
  /** A failed list or watch (not 410 Gone, which just re-lists). */
  onError: (err: Error) => void;
}

const PAGE_SIZE = '500';

type WatchCallback = (phase: string, obj: unknown, watchObj?: unknown) => void;

export class Informer<T extends KubeObject> {
  private readonly lw: K8s.ListWatch<K8s.KubernetesObject>;
  private readonly handlers: Array<EventHandler<KubeObject>> = [];
  private failures = 0;
  private quickEnds = 0;
  private listDone = false;
  private syncedFlag = false;
  private readonly syncWaiters: Array<() => void> = [];
  private retryTimer?: NodeJS.Timeout;

  constructor(private readonly o: InformerOptions) {
    const watcher = { watch: this.watch.bind(this) };
    this.lw = new o.k8s.ListWatch<K8s.KubernetesObject>(
      o.path,
      watcher as unknown as K8s.Watch,
      () => this.listAll() as Promise<K8s.KubernetesListObject<K8s.KubernetesObject>>,
      false,
      o.labelSelector || undefined,
      o.fieldSelector || undefined,
    );
    this.lw.on('add', (obj) => {
      const ns = obj.metadata?.namespace || '';
      this.perNamespace.set(ns, (this.perNamespace.get(ns) ?? 0) + 1);
      this.dispatch('add', obj);
    });
    this.lw.on('update', (obj) => this.dispatch('update', obj));
    this.lw.on('delete', (obj) => {
      const ns = obj.metadata?.namespace || '';
      const left = (this.perNamespace.get(ns) ?? 1) - 1;
      if (left > 0) this.perNamespace.set(ns, left);
      else this.perNamespace.delete(ns);
      this.dispatch('delete', obj);
    });
    this.lw.on('error', (err) => this.failed(err));
  }

  get path(): string {
    return this.o.path;
  }

  on(h: EventHandler<T>): void {
    this.handlers.push(h as EventHandler<KubeObject>);
  }

  get(namespace: string, name: string): T | undefined {
    return this.lw.get(name, namespace) as T | undefined;
  }

  /**
   * Every cached object, namespace by namespace. ListWatch.list() without a namespace appends each namespace's
   * objects with push(...values): past about 120,000 objects in one namespace that overflows the stack. Per
   * namespace it copies with Array.from, so the namespaces are counted here from its own add and delete events.
   * (Cluster-scoped kinds have one namespace, '', which list('') still reads whole: nodes, a few thousand at most.)
   */
  items(): T[] {
    const out: T[] = [];
    for (const ns of this.perNamespace.keys()) for (const obj of this.lw.list(ns)) out.push(obj as T);
    return out;
  }

  /** Objects in the cache per namespace, from ListWatch's add and delete events (see items). */
  private readonly perNamespace = new Map<string, number>();

  get synced(): boolean {
    return this.syncedFlag;
  }

  /** Resolves once the first list is in the cache (or never, if stopped first). */
  whenSynced(): Promise<void> {
    return this.syncedFlag ? Promise.resolve() : new Promise((r) => this.syncWaiters.push(r));
  }

  start(): void {
    if (this.o.signal.aborted) return;
    void this.lw.start();
  }

  stop(): void {
    clearTimeout(this.retryTimer);
    void this.lw.stop();
  }

  private dispatch(type: EventType, obj: K8s.KubernetesObject): void {
    for (const h of this.handlers) {
      try {
        h(type, obj as KubeObject);
      } catch (e) {
        this.o.logger.error({ err: e, path: this.o.path }, 'kubernetes_sd: event handler failed');
      }
    }
  }

  private failed(err: unknown): void {
    if (this.o.signal.aborted) return;
    this.failures++;
    const e = err instanceof Error ? err : new Error(String(err));
    this.o.onError(e);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.start(), backoffDelay(this.o.backoff, this.failures));
  }

  /** The ListWatch's list function: all pages, with the resourceVersion of the (last) page. */
  private async listAll(): Promise<{ metadata: { resourceVersion: string }; items: unknown[] }> {
    const items: unknown[] = [];
    let cont = '';
    let paged = true;
    let rv = '';
    for (;;) {
      const q: Record<string, string> = {};
      if (this.o.labelSelector) q.labelSelector = this.o.labelSelector;
      if (this.o.fieldSelector) q.fieldSelector = this.o.fieldSelector;
      if (paged) q.limit = PAGE_SIZE;
      if (cont) q.continue = cont;
      const res = await this.o.client.get(this.o.path, q, this.o.signal);
      if (res.status === 410 && cont) {
        // The continue token expired: list everything at once, as client-go's pager falls back to.
        await res.body?.cancel();
        items.length = 0;
        cont = '';
        paged = false;
        continue;
      }
      await checkResponse(res, `list ${this.o.path}`);
      const body = (await res.json()) as { items?: unknown[] | null; metadata?: { resourceVersion?: string; continue?: string } };
      // A loop, not push(...items): a page can be the whole list (a server may ignore limit, and the fallback above
      // asks for everything), and past about 120,000 items spread arguments overflow the stack.
      for (const item of body.items ?? []) items.push(item);
      rv = body.metadata?.resourceVersion ?? '';
      cont = body.metadata?.continue ?? '';
      if (!cont) break;
    }
    this.failures = 0;
    this.listDone = true;
    return { metadata: { resourceVersion: rv }, items };
  }

  /** Stands in for client-node's Watch.watch; `done` runs once, after this returns. */
  private async watch(path: string, query: Record<string, unknown>, callback: WatchCallback, done: (err: unknown) => void): Promise<AbortController> {
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    this.o.signal.addEventListener('abort', onAbort, { once: true });
    let finished = false;
    const finish = (err: unknown) => {
      if (finished) return;
      finished = true;
      this.o.signal.removeEventListener('abort', onAbort);
      controller.abort();
      setImmediate(() => done(err));
    };
    if (this.listDone) {
      // ListWatch has just put a fresh list into its cache.
      this.listDone = false;
      this.markSynced();
    }
    this.stream(path, query, callback, controller.signal).then(
      () => finish(null),
      (err: unknown) => finish(controller.signal.aborted ? null : err),
    );
    return controller;
  }

  private async stream(path: string, query: Record<string, unknown>, callback: WatchCallback, signal: AbortSignal): Promise<void> {
    if (this.quickEnds > 0) await sleep(backoffDelay(this.o.backoff, this.quickEnds), signal);
    if (signal.aborted) return;
    const q: Record<string, string> = {
      allowWatchBookmarks: 'true',
      timeoutSeconds: String(300 + Math.floor(Math.random() * 300)),
      watch: 'true',
    };
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q[k] = String(v);
    const started = Date.now();
    let events = 0;
    const res = await this.o.client.get(path, q, signal);
    await checkResponse(res, `watch ${path}`);
    this.failures = 0;
    const decoder = new TextDecoder();
    let buf = '';
    const handle = (line: string) => {
      if (!line.trim()) return;
      const ev = JSON.parse(line) as { type?: string; object?: unknown };
      if (ev.type === 'ERROR') throw statusError(ev.object, 500, 'watch error event');
      events++;
      callback(ev.type ?? '', ev.object, ev);
    };
    if (res.body) {
      for await (const chunk of res.body) {
        buf += decoder.decode(chunk as Uint8Array, { stream: true });
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          handle(line);
        }
      }
    }
    handle(buf + decoder.decode());
    // A server that ends watches at once would otherwise be hammered: slow down until a watch lasts.
    this.quickEnds = events === 0 && Date.now() - started < 1000 ? this.quickEnds + 1 : 0;
  }

  private markSynced(): void {
    if (this.syncedFlag) return;
    this.syncedFlag = true;
    for (const w of this.syncWaiters.splice(0)) w();
  }
}
