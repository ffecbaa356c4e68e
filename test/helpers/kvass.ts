/** Runs kvass commands as real processes for tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor } from './prometheus.js';

export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

export const KVASS_MAIN = join(repoRoot(), 'dist', 'src', 'cli', 'main.js');

export interface RunningSidecar {
  api: string;
  proxyPort: number;
  proc: ChildProcess;
  output(): string;
  call<T = unknown>(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: T }>;
  /** Prometheus metrics of the sidecar as name{labels} → value. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface SidecarArgs {
  configFile: string;
  outputFile: string;
  storePath: string;
  prometheusUrl: string;
  proxyPort?: number;
  /** Where the sidecar API listens (host:port); default 127.0.0.1 and a free port. */
  apiAddr?: string;
  extra?: string[];
}

/** The environment bin/kvass gives the processes it starts (its allocator setting). */
const LAUNCHER_ENV = { ...process.env, MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2', MALLOC_MMAP_THRESHOLD_: process.env.MALLOC_MMAP_THRESHOLD_ ?? '131072' };

export async function startSidecar(a: SidecarArgs): Promise<RunningSidecar> {
  const apiAddr = a.apiAddr ?? `127.0.0.1:${await freePort()}`;
  const proxyPort = a.proxyPort ?? (await freePort());
  const proc = spawn(process.execPath, [
    KVASS_MAIN, 'sidecar', `--config.file=${a.configFile}`, `--config.output-file=${a.outputFile}`, `--store.path=${a.storePath}`,
    `--prometheus.url=${a.prometheusUrl}`, `--web.api-addr=${apiAddr}`, `--web.proxy-addr=127.0.0.1:${proxyPort}`,
    '--prometheus.reload-debounce=300ms', '--log.level=info', ...(a.extra ?? []),
  ], { stdio: ['ignore', 'ignore', 'pipe'], env: LAUNCHER_ENV });
  let out = '';
  proc.stderr!.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-50_000)));
  const api = `http://${apiAddr}`;
  await waitFor('the sidecar to listen', async () => {
    if (proc.exitCode !== null) throw new Error(`sidecar exited ${proc.exitCode}: ${out}`);
    return (await fetch(`${api}/-/ready`).catch(() => null))?.ok;
  }, 20_000, 100);
  const s: RunningSidecar = {
    api,
    proxyPort,
    proc,
    output: () => out,
    async call(method, path, body, token) {
      const headers: Record<string, string> = {};
      if (token) headers.authorization = `Bearer ${token}`;
      const res = await fetch(api + path, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON
      }
      return { status: res.status, body: parsed as never };
    },
    async metric(name, labels = {}) {
      const text = await (await fetch(`${api}/metrics`)).text();
      let sum = 0;
      for (const line of text.split('\n')) {
        if (!line.startsWith(name)) continue;
        const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
        if (!m || m[1] !== name) continue;
        const ls = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
        if (Object.entries(labels).every(([k, v]) => ls[k] === v)) sum += Number(m[3]);
      }
      return sum;
    },
    async kill(signal = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill(signal);
      await new Promise((r) => proc.once('exit', r));
    },
  };
  return s;
}

export interface RunningKvass {
  proc: ChildProcess;
  /** stdout and stderr together, the last `keep` characters. */
  output(): string;
  /** SIGINT (as Ctrl-C) unless it has exited; resolves with its exit code. */
  stop(): Promise<number | null>;
}

/** Runs `kvass <args>` as a real process. */
export function runKvass(args: string[], keep = 300_000, env: Record<string, string> = {}): RunningKvass {
  const proc = spawn(process.execPath, [KVASS_MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...LAUNCHER_ENV, ...env } });
  let out = '';
  const add = (c: Buffer): void => {
    out = (out + c.toString()).slice(-keep);
  };
  proc.stdout!.on('data', add);
  proc.stderr!.on('data', add);
  return {
    proc,
    output: () => out,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill('SIGINT');
      return new Promise((r) => proc.once('exit', (code) => r(code)));
    },
  };
}

export interface ShardRow { id: string; url: string; ready: boolean; headSeries: number; processSeries: number; targets: number; idleSince: string | null }

/** GET /api/v1/shards of a coordinator: the shards of every replica; [] while it does not answer. */
export async function fetchShards(api: string): Promise<Array<{ name: string; shards: ShardRow[] }>> {
  const res = await fetch(`${api}/api/v1/shards`).catch(() => null);
  if (!res?.ok) return [];
  return ((await res.json()) as { data: { replicas: Array<{ name: string; shards: ShardRow[] }> } }).data.replicas;
}

/** Runs `kvass up <args>` and waits until it has `shards` ready shards of `perShard` targets each, with series. */
export async function upWithShards(args: string[], front: string, shards: number, perShard: number): Promise<RunningKvass> {
  const up = runKvass(['up', ...args]);
  let seen: ShardRow[] = [];
  try {
    await waitFor(`${shards} shards of ${perShard} targets`, async () => {
      if (up.proc.exitCode !== null) throw new Error(`kvass up exited: ${up.output()}`);
      seen = (await fetchShards(front).catch(() => []))[0]?.shards ?? [];
      return seen.length === shards && seen.every((s) => s.ready && s.targets === perShard && s.headSeries > 0);
    }, 120_000, 500);
  } catch (e) {
    // What it last saw and what kvass said, so that a failure on a slow machine can be read from the CI log.
    const rows = seen.map((s) => `${s.id}: ready=${s.ready} targets=${s.targets} head=${s.headSeries} process=${s.processSeries}`);
    await up.stop();
    throw new Error(`${(e as Error).message}; last seen [${rows.join('; ')}]; kvass up said:\n${up.output().slice(-6000)}`);
  }
  return up;
}
