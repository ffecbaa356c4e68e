/**
 * The console's data: the shapes of the five same-origin endpoints it reads, and one way to fetch them that never
 * throws past its caller's `try` unseen (app.ts turns every failure into the status line).
 */

export interface ShardInfo {
  id: string;
  url: string;
  ready: boolean;
  headSeries: number;
  processSeries: number;
  targets: number;
  idleSince: string | null;
}
export interface Replica {
  name: string;
  shards: ShardInfo[];
}
export interface ShardsData {
  replicas: Replica[];
}

/** Prometheus's active target object, plus kvass's measured series and shard ids (two while in transfer). */
export interface Target {
  labels: Record<string, string>;
  discoveredLabels?: Record<string, string>;
  scrapePool: string;
  scrapeUrl: string;
  health: string;
  lastError: string;
  lastScrape: string;
  lastScrapeDuration: number;
  series: number;
  shards: string[];
}
export interface TargetsData {
  activeTargets: Target[];
}

export interface ConsoleData {
  budget: number;
  minShards: number;
  maxShards: number;
  /** The global view's Prometheus UI; null when this server has none (`kvass coordinator` alone). */
  queryUrl: string | null;
}

export interface ConsoleEvent {
  time: string;
  kind: string;
  message: string;
  ok: boolean;
}

export interface WhatIfData {
  budget: number;
  shards: number;
  placement: Array<{ shard: string; series: number; targets: number }>;
}

/**
 * Where the API is: the part of the page's path before `/kvass/`, so that a console served under a route prefix
 * (`/prom/kvass/`) asks `/prom/api/v1/…`; "" at the root.
 */
export function apiPrefix(pathname: string): string {
  const at = pathname.lastIndexOf('/kvass/');
  return at > 0 ? pathname.slice(0, at) : '';
}

/** GETs `path` (e.g. `/api/v1/shards`) and returns the `data` of Prometheus's envelope; throws an Error that says what failed. */
export async function getData<T>(path: string): Promise<T> {
  const url = apiPrefix(location.pathname) + path;
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: 'application/json' }, cache: 'no-store' });
  } catch (e) {
    throw new Error(`GET ${path}: ${(e as Error).message || 'network error'}`);
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    throw new Error(`GET ${path}: HTTP ${res.status}, not JSON`);
  }
  const env = body as { status?: string; data?: unknown; error?: string; errorType?: string };
  if (!res.ok || env.status !== 'success') {
    const why = env.error ? `${env.errorType ? `${env.errorType}: ` : ''}${env.error}` : 'no data';
    throw new Error(`GET ${path}: HTTP ${res.status}, ${why}`);
  }
  if (env.data === undefined || env.data === null) throw new Error(`GET ${path}: the answer has no data`);
  return env.data as T;
}
