/**
 * `StaticShardManager`: a fixed list of shards in a file, in Kvass's format:
 *
 *   replicas:
 *   - shards:
 *     - id: shard-0
 *       url: http://1.1.1.1:8080        # the kvass sidecar API
 *
 * The file is re-read on every list(); a file that cannot be read or is wrong keeps the last good list, and the
 * error is logged with the file and line. Unlike Kvass (every shard always ready), `ready` is whether the sidecar
 * answers /-/ready. `prometheusUrl` is the sidecar URL too (the sidecar API passes unknown paths through to its
 * Prometheus). The shards are not this manager's to start or stop: scale() does nothing and says so once.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { createLogger, type Logger } from '../logger.js';
import { LocatedConfigError } from '../prom/errors.js';
import { answersReady, type ShardInfo, type ShardManager } from './types.js';
import type { ApiClient } from '../http/client.js';

export interface StaticShardManagerOptions {
  /** The shards file. */
  file: string;
  log?: Logger;
  /** How long a /-/ready probe may take; default 2 s. */
  readyTimeoutMs?: number;
  /** kvass's client for the sidecars (their TLS settings); default a plain fetch. */
  client?: ApiClient;
}

export interface StaticShard {
  id: string;
  url: string;
}

/** Parses the shards file; throws LocatedConfigError (file:line:col) on the first problem. */
export function parseStaticShards(text: string, file: string): StaticShard[][] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const fail = (msg: string, node?: Node | null, offset?: number): never => {
    const pos = lines.linePos(offset ?? node?.range?.[0] ?? 0);
    throw new LocatedConfigError(msg, file, pos.line, pos.col);
  };
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    fail(`invalid YAML: ${e.message.split('\n')[0]}`, null, e.pos[0]);
  }
  const root = doc.contents;
  if (root === null || (isScalar(root) && (root.value === null || root.value === ''))) fail('empty file: expected "replicas:"', null, 0);
  if (!isMap(root)) fail('expected a mapping with "replicas"', root as Node);
  const map = root as import('yaml').YAMLMap;
  let replicasNode: Node | null = null;
  for (const pair of map.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    if (key === 'replicas') replicasNode = pair.value as Node | null;
    else fail(`field ${JSON.stringify(key)} not found in type static shards (known: replicas)`, pair.key as Node);
  }
  if (replicasNode === null || (isScalar(replicasNode) && replicasNode.value === null)) fail('"replicas" is missing or empty: expected a list of replicas', (replicasNode ?? root) as Node);
  if (!isSeq(replicasNode)) fail('"replicas" must be a list', replicasNode);
  const out: StaticShard[][] = [];
  const urls = new Map<string, string>();
  const seq = replicasNode as import('yaml').YAMLSeq;
  seq.items.forEach((rep, r) => {
    if (!isMap(rep)) fail(`replica ${r}: expected a mapping with "shards"`, rep as Node);
    let shardsNode: Node | null = null;
    for (const pair of (rep as import('yaml').YAMLMap).items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      if (key === 'shards') shardsNode = pair.value as Node | null;
      else fail(`replica ${r}: field ${JSON.stringify(key)} not found (known: shards)`, pair.key as Node);
    }
    if (shardsNode === null || (isScalar(shardsNode) && shardsNode.value === null)) shardsNode = null;
    if (shardsNode !== null && !isSeq(shardsNode)) fail(`replica ${r}: "shards" must be a list`, shardsNode);
    const row: StaticShard[] = [];
    const ids = new Set<string>();
    for (const [i, sh] of ((shardsNode as import('yaml').YAMLSeq | null)?.items ?? []).entries()) {
      if (!isMap(sh)) fail(`replica ${r}, shard ${i}: expected a mapping with "id" and "url"`, sh as Node);
      const fields: Record<string, { value: unknown; node: Node }> = {};
      for (const pair of (sh as import('yaml').YAMLMap).items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : '';
        if (key !== 'id' && key !== 'url') fail(`replica ${r}, shard ${i}: field ${JSON.stringify(key)} not found (known: id, url)`, pair.key as Node);
        const v = pair.value as Node | null;
        if (!isScalar(v) || v.value === null || (typeof v.value !== 'string' && typeof v.value !== 'number')) fail(`replica ${r}, shard ${i}: "${key}" must be a string`, v ?? (pair.key as Node));
        fields[key] = { value: String((v as import('yaml').Scalar).value), node: v! };
      }
      if (!fields.id) fail(`replica ${r}, shard ${i}: "id" is missing`, sh as Node);
      if (!fields.url) fail(`replica ${r}, shard ${i}: "url" is missing`, sh as Node);
      const id = fields.id!.value as string;
      const rawUrl = fields.url!.value as string;
      if (ids.has(id)) fail(`replica ${r}: duplicate shard id ${JSON.stringify(id)}`, fields.id!.node);
      ids.add(id);
      let url: URL;
      try {
        url = new URL(rawUrl);
      } catch {
        return fail(`replica ${r}, shard ${JSON.stringify(id)}: invalid url ${JSON.stringify(rawUrl)}`, fields.url!.node);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') fail(`replica ${r}, shard ${JSON.stringify(id)}: url must be http or https, not ${JSON.stringify(rawUrl)}`, fields.url!.node);
      if (url.search || url.hash) fail(`replica ${r}, shard ${JSON.stringify(id)}: url must not have a query or fragment: ${JSON.stringify(rawUrl)}`, fields.url!.node);
      const base = rawUrl.replace(/\/+$/, '');
      const other = urls.get(base);
      if (other !== undefined) fail(`replica ${r}, shard ${JSON.stringify(id)}: url ${JSON.stringify(base)} is also ${other}`, fields.url!.node);
      urls.set(base, `replica ${r}, shard ${JSON.stringify(id)}`);
      row.push({ id, url: base });
    }
    if (out.length && row.length !== out[0]!.length) {
      fail(`replica ${r} has ${row.length} shard(s) but replica 0 has ${out[0]!.length}: every replica must have the same number of shards`, rep as Node);
    }
    out.push(row);
  });
  return out;
}

export class StaticShardManager implements ShardManager {
  readonly kind = 'static' as const;
  readonly scalable = false;
  readonly file: string;
  private readonly log: Logger;
  private readonly readyTimeoutMs: number;
  private good: StaticShard[][];
  private lastError = '';
  private scaleLogged = false;

  /** Reads the file once: a bad file at start throws (there is no good list to keep). */
  private readonly client?: ApiClient;

  constructor(opts: StaticShardManagerOptions) {
    this.file = resolve(opts.file);
    this.log = (opts.log ?? createLogger()).child({ component: 'static-shards' });
    this.readyTimeoutMs = opts.readyTimeoutMs ?? 2000;
    this.client = opts.client;
    this.good = parseStaticShards(readFileSync(this.file, 'utf8'), this.file);
  }

  replicas(): number {
    return this.good.length;
  }

  /** Re-reads the file; a bad one keeps the last good list (the error is logged when it changes). */
  private async reload(): Promise<StaticShard[][]> {
    try {
      this.good = parseStaticShards(await readFile(this.file, 'utf8'), this.file);
      if (this.lastError) this.log.info({ file: this.file }, 'static shards file is valid again');
      this.lastError = '';
    } catch (e) {
      const err = e as Error;
      const msg = err instanceof LocatedConfigError ? err.message : `${this.file}: ${err.message}`;
      if (msg !== this.lastError) {
        const where = err instanceof LocatedConfigError ? { line: err.line, col: err.col } : {};
        this.log.error({ file: this.file, ...where, err: msg }, 'bad static shards file: keeping the last good list');
      }
      this.lastError = msg;
    }
    return this.good;
  }

  /** The last error reading the file ("" when the last read was good). */
  get error(): string {
    return this.lastError;
  }

  async list(): Promise<ShardInfo[][]> {
    const shards = await this.reload();
    return Promise.all(shards.map((row, r) => Promise.all(row.map(async (s, i): Promise<ShardInfo> => ({
      replica: r,
      id: i,
      name: s.id,
      apiUrl: s.url,
      prometheusUrl: s.url,
      ready: await answersReady(s.url, this.readyTimeoutMs, this.client),
    })))));
  }

  async scale(count: number): Promise<void> {
    if (this.scaleLogged) return;
    this.scaleLogged = true;
    this.log.warn({ file: this.file, wanted: count, shards: this.good[0]?.length ?? 0 }, 'static shards cannot be scaled: edit the shards file to change them');
  }

  async close(): Promise<void> {
    // Nothing started here.
  }
}
