/**
 * `LocalShardManager`: shards as processes on this machine, one folder each under `<dataDir>/replica-<r>/shard-<i>/`
 * (layout in src/shard/local-shard.ts). Per shard, a kvass sidecar starts first (it writes the config Prometheus
 * loads), then Prometheus; both are watched and restarted with back-off (src/shard/local-process.ts).
 *
 * Adoption: the shards are whatever folders exist on disk. On construction, each is taken over: processes recorded
 * in pids.json that are alive, are this shard's (command line) and answer on their ports are adopted as they are;
 * the others are started again on the same ports. So a coordinator restarted after `kill -9` neither starts
 * duplicates nor moves targets (the sidecars kept their assignments). Processes are spawned detached (their own
 * process group, output to log files) so that they outlive a killed coordinator; close() stops them (unless
 * leaveRunningOnClose).
 *
 * While idle, nothing here keeps the Node.js event loop alive (children, restart timers and polls are unref'd; a pending
 * scale() or close() does): the coordinator's servers do.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, type Logger } from '../logger.js';
import {
  finishRemoval, isRemoved, LocalShard, markRemoved, PORTS_FILE, PortAllocator, readJsonSync, reuseRemovedFolder, shardDir, type ShardPids, type ShardPorts,
} from './local-shard.js';
import type { ShardInfo, ShardManager } from './types.js';

export interface LocalShardManagerOptions {
  /** Folder holding `replica-<r>/shard-<i>/`; created when missing. */
  dataDir: string;
  /** Replicas (every replica scrapes every target); default 1. */
  replicas?: number;
  /** The ORIGINAL prometheus.yml, passed to each sidecar's --config.file. */
  configFile: string;
  /** With replicas > 1, each sidecar gets `--shard.external-labels=<replicaLabel>=<r>`; default "replica". */
  replicaLabel?: string;
  /** Delete a removed shard's folder (TSDB included); default true. Without it the folder is reused by a later scale-up. */
  deleteData?: boolean;
  /** How to run kvass; default `[node, <repo>/dist/src/cli/main.js]`. */
  kvassCommand?: readonly string[];
  /** Default "prometheus" (from PATH). */
  prometheusBinary?: string;
  /** The sidecars' --prometheus.reload-debounce; default "500ms". */
  scrapeReloadDebounce?: string;
  log?: Logger;
  /** close() leaves the processes running (a later manager adopts them); default false. */
  leaveRunningOnClose?: boolean;
  /** Every sidecar's `--web.api-token-file`. */
  tokenFile?: string;
  /** Every sidecar's `--log.level`. */
  sidecarLogLevel?: string;
}

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the kvass repository above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  return dir;
}

export function defaultKvassCommand(): string[] {
  return [process.execPath, join(repoRoot(), 'dist', 'src', 'cli', 'main.js')];
}

const REPLICA_DIR = /^replica-(0|[1-9]\d*)$/;
const SHARD_DIR = /^shard-(0|[1-9]\d*)$/;

async function listOrdinals(dir: string, re: RegExp): Promise<number[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory() && re.test(e.name)).map((e) => Number(re.exec(e.name)![1])).sort((a, b) => a - b);
}

export class LocalShardManager implements ShardManager {
  readonly kind = 'local' as const;
  readonly scalable = true;
  readonly dataDir: string;
  private readonly opts: Required<Omit<LocalShardManagerOptions, 'log' | 'tokenFile' | 'sidecarLogLevel'>> & { tokenFile?: string; sidecarLogLevel?: string };
  private readonly log: Logger;
  private readonly ports = new PortAllocator();
  /** [replica][ordinal]; every row has the same length. */
  private shards: LocalShard[][] = [];
  private readonly initialised: Promise<void>;
  private queue: Promise<unknown>;
  private closed = false;
  private closing: Promise<void> | null = null;

  constructor(options: LocalShardManagerOptions) {
    const replicas = options.replicas ?? 1;
    if (!Number.isInteger(replicas) || replicas < 1) throw new Error(`replicas must be a positive integer, not ${replicas}`);
    this.dataDir = resolve(options.dataDir);
    this.opts = {
      dataDir: this.dataDir,
      replicas,
      configFile: resolve(options.configFile),
      replicaLabel: options.replicaLabel ?? 'replica',
      deleteData: options.deleteData ?? true,
      kvassCommand: options.kvassCommand ?? defaultKvassCommand(),
      prometheusBinary: options.prometheusBinary ?? 'prometheus',
      scrapeReloadDebounce: options.scrapeReloadDebounce ?? '500ms',
      leaveRunningOnClose: options.leaveRunningOnClose ?? false,
      tokenFile: options.tokenFile,
      sidecarLogLevel: options.sidecarLogLevel,
    };
    if (this.opts.kvassCommand.length === 0) throw new Error('kvassCommand must name a program');
    this.log = (options.log ?? createLogger()).child({ component: 'local-shards' });
    this.initialised = this.init();
    this.initialised.catch(() => undefined); // reported by the first call that waits for it
    this.queue = this.initialised.catch(() => undefined);
  }

  replicas(): number {
    return this.opts.replicas;
  }

  /** Runs `f` after every earlier scale() (and the take-over) has finished. */
  private serial<T>(f: () => Promise<T>): Promise<T> {
    const p = this.queue.then(f, f);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private shardOptions(replica: number, ordinal: number) {
    return {
      dataDir: this.dataDir,
      replica,
      ordinal,
      configFile: this.opts.configFile,
      externalLabels: this.opts.replicas > 1 ? `${this.opts.replicaLabel}=${replica}` : '',
      kvassCommand: this.opts.kvassCommand,
      prometheusBinary: this.opts.prometheusBinary,
      reloadDebounce: this.opts.scrapeReloadDebounce,
      tokenFile: this.opts.tokenFile,
      logLevel: this.opts.sidecarLogLevel,
      log: this.log,
    };
  }

  /** Takes over the shards on disk: n = highest ordinal found + 1, and every replica gets ordinals 0..n-1. */
  private async init(): Promise<void> {
    await mkdir(this.dataDir, { recursive: true });
    const onDisk: number[][] = [];
    for (const r of await listOrdinals(this.dataDir, REPLICA_DIR)) {
      if (r < this.opts.replicas) continue;
      // Replicas were reduced while the coordinator was down: nobody manages these any more, so they must not run.
      // They are removed as a scale-down removes shards (data deleted with deleteData).
      const dir = join(this.dataDir, `replica-${r}`);
      this.log.warn({ dir, replicas: this.opts.replicas, deleteData: this.opts.deleteData }, 'a replica beyond the configured replicas: removing its shards');
      for (const i of await listOrdinals(dir, SHARD_DIR)) {
        await markRemoved(shardDir(this.dataDir, r, i));
        await finishRemoval(shardDir(this.dataDir, r, i), this.opts.deleteData, this.log);
      }
      if (this.opts.deleteData) await rm(dir, { recursive: true, force: true });
    }
    // Ports of every folder first (also removed ones kept for reuse), so new shards never pick them.
    for (let r = 0; r < this.opts.replicas; r++) {
      const present: number[] = [];
      for (const i of await listOrdinals(join(this.dataDir, `replica-${r}`), SHARD_DIR)) {
        const dir = shardDir(this.dataDir, r, i);
        const ports = readJsonSync<ShardPorts>(join(dir, PORTS_FILE));
        if (isRemoved(dir)) {
          // A scale-down that was under way (or done, without deleteData): make sure it is finished.
          await finishRemoval(dir, this.opts.deleteData, this.log);
          if (!this.opts.deleteData && ports) this.ports.reserve(ports);
          continue;
        }
        if (ports) this.ports.reserve(ports);
        present.push(i);
      }
      onDisk.push(present);
    }
    const n = Math.max(0, ...onDisk.flat().map((i) => i + 1));
    const shards: LocalShard[][] = [];
    for (let r = 0; r < this.opts.replicas; r++) {
      const row: LocalShard[] = [];
      for (let i = 0; i < n; i++) {
        if (!onDisk[r]!.includes(i)) {
          this.log.warn({ replica: r, ordinal: i }, 'shard missing in this replica: creating it');
          if (isRemoved(shardDir(this.dataDir, r, i))) await reuseRemovedFolder(shardDir(this.dataDir, r, i));
        }
        row.push(await LocalShard.open(this.shardOptions(r, i), this.ports));
      }
      shards.push(row);
    }
    this.shards = shards;
    const results = await Promise.all(shards.flat().map((s) => s.startOrAdopt()));
    const adopted = results.flatMap((x) => [x.sidecar, x.prometheus]).filter((x) => x === 'adopted').length;
    this.log.info({ dataDir: this.dataDir, replicas: this.opts.replicas, shards: n, processesAdopted: adopted, processesStarted: results.length * 2 - adopted }, 'local shards taken over');
  }

  async list(): Promise<ShardInfo[][]> {
    await this.initialised;
    const snapshot = this.shards.map((row) => [...row]);
    return Promise.all(snapshot.map((row) => Promise.all(row.map(async (s) => s.info(await s.ready())))));
  }

  /** The pids each shard runs now, [replica][ordinal] (for tests and diagnostics). */
  async pids(): Promise<ShardPids[][]> {
    await this.initialised;
    return this.shards.map((row) => row.map((s) => s.currentPids()));
  }

  scale(count: number): Promise<void> {
    if (!Number.isInteger(count) || count < 0) return Promise.reject(new Error(`shard count must be a non-negative integer, not ${count}`));
    return this.serial(async () => {
      await this.initialised;
      if (this.closed) throw new Error('the local shard manager is closed');
      const n = this.shards[0]?.length ?? 0;
      if (count === n) return;
      this.log.info({ from: n, to: count, replicas: this.opts.replicas }, 'scaling');
      if (count > n) await this.grow(n, count);
      else await this.shrink(count);
    });
  }

  private async grow(n: number, count: number): Promise<void> {
    const added: LocalShard[][] = [];
    for (let r = 0; r < this.opts.replicas; r++) {
      const row: LocalShard[] = [];
      for (let i = n; i < count; i++) {
        const dir = shardDir(this.dataDir, r, i);
        if (isRemoved(dir)) {
          this.log.info({ dir }, 'reusing the folder of an earlier shard (its TSDB stays, its old assignment goes)');
          await reuseRemovedFolder(dir);
        }
        row.push(await LocalShard.open(this.shardOptions(r, i), this.ports));
      }
      added.push(row);
    }
    // Listed at once (not ready yet), all replicas together: list() always sees rows of the same length.
    for (let r = 0; r < this.opts.replicas; r++) this.shards[r]!.push(...added[r]!);
    await Promise.all(added.flat().map((s) => s.start()));
  }

  private async shrink(count: number): Promise<void> {
    const removed = this.shards.flatMap((row) => row.splice(count));
    await Promise.all(removed.map(async (s) => {
      await s.markRemoved();
      await s.stop();
      if (this.opts.deleteData) {
        await s.deleteFolder();
        this.ports.release(s.ports);
      }
      this.log.info({ shard: s.name, deleted: this.opts.deleteData }, 'shard removed');
    }));
  }

  /** Stops every process (or, with leaveRunningOnClose, stops watching them). Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      await this.queue;
      const all = this.shards.flat();
      if (this.opts.leaveRunningOnClose) {
        for (const s of all) s.detach();
        this.log.info({ shards: all.length }, 'local shards left running');
        return;
      }
      await Promise.all(all.map((s) => s.stop()));
      this.log.info({ shards: all.length }, 'local shards stopped');
    })();
    return this.closing;
  }
}
