/** Starts the real `prometheus` binary for tests, on a free loopback port with a throw-away TSDB. */
import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { PortAllocator } from '../../src/shard/local-shard.js';
import { tempDir } from './tmp.js';

/**
 * Test files run two at a time, and each makes many outgoing connections. A port the kernel chose for us (listen on 0,
 * then close) is in the ephemeral range, where another process's outgoing connection can take it before the process we
 * hand it to binds it. The shard allocator takes ports below that range instead, at random, in the half kvass's own
 * processes leave alone (their shards take the other), so that only a listener of another test file choosing the same
 * port at the same moment can collide.
 */
const ports = new PortAllocator('upper');

export async function freePort(): Promise<number> {
  return ports.one();
}

export async function waitFor<T>(what: string, f: () => Promise<T | undefined | null | false>, timeoutMs = 30_000, everyMs = 200): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined && v !== null && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface RunningPrometheus {
  url: string;
  proc: ChildProcess;
  output(): string;
  query(expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  targets(): Promise<{ activeTargets: Array<{ labels: Record<string, string>; health: string; lastError: string; scrapeUrl: string; lastScrape: string }> }>;
  stop(): Promise<void>;
}

export async function startPrometheus(configFile: string, opts: { port?: number; args?: string[] } = {}): Promise<RunningPrometheus> {
  // A port we chose can still be lost to a listener of another test file: choose another then, a few times.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startPrometheusOnce(configFile, opts);
    } catch (e) {
      if (opts.port !== undefined || attempt >= 3 || !/address already in use/.test((e as Error).message)) throw e;
    }
  }
}

async function startPrometheusOnce(configFile: string, opts: { port?: number; args?: string[] }): Promise<RunningPrometheus> {
  const dataDir = await tempDir('kvass-prom-');
  const port = opts.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const proc = spawn('prometheus', [
    `--config.file=${configFile}`, `--storage.tsdb.path=${dataDir}`, `--web.listen-address=127.0.0.1:${port}`,
    '--web.enable-lifecycle', '--log.level=warn', ...(opts.args ?? []),
  ], { cwd: dataDir, stdio: ['ignore', 'ignore', 'pipe'] });
  let out = '';
  proc.stderr!.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-20_000)));
  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(url + path, { signal: AbortSignal.timeout(10_000) });
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`${path}: ${body.error}`);
    return body.data;
  };
  await waitFor('prometheus to be ready', async () => {
    if (proc.exitCode !== null) return 'exited';
    const r = await fetch(`${url}/-/ready`).catch(() => null);
    return r?.ok;
  }, 30_000);
  if (proc.exitCode !== null) {
    await rm(dataDir, { recursive: true, force: true });
    throw new Error(`prometheus exited ${proc.exitCode}: ${out}`);
  }
  return {
    url,
    proc,
    output: () => out,
    query: async (expr) => (await api<{ result: Array<{ metric: Record<string, string>; value: [number, string] }> }>(`/api/v1/query?query=${encodeURIComponent(expr)}`)).result,
    targets: () => api('/api/v1/targets'),
    stop: async () => {
      // A process killed by a signal has exitCode null and signalCode set: it has exited already.
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        await new Promise((r) => proc.once('exit', r));
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
