/**
 * One local shard: a kvass sidecar and a Prometheus, in the folder `<dataDir>/replica-<r>/shard-<i>/`:
 *
 *   ports.json      {"proxy":P,"api":A,"prometheus":Q}: chosen once, reused on every (re)start (the injected
 *                   config names the proxy port, and the coordinator knows the shard by its URLs); a port that
 *                   another process holds when the shard's process starts is chosen anew (see freePorts)
 *   pids.json       {"sidecar":pid,"prometheus":pid}: rewritten after every start, so a later coordinator adopts them
 *   prometheus.yml  the injected config (the sidecar's --config.output-file, Prometheus's --config.file)
 *   store/          the sidecar's --store.path (its assignment)
 *   tsdb/           Prometheus's --storage.tsdb.path
 *   sidecar.log, prometheus.log   stdout and stderr of both processes (appended)
 *   removed         present while (or after, without deleteData) the shard is being removed by a scale-down
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Logger } from '../logger.js';
import { findPidsByCommandLine, pidAlive, pidCommandLineHas, stopPid, WatchedProcess } from './local-process.js';
import { answersReady, type ShardInfo } from './types.js';

export interface ShardPorts {
  proxy: number;
  api: number;
  prometheus: number;
}

export interface ShardPids {
  sidecar: number | null;
  prometheus: number | null;
}

export const PORTS_FILE = 'ports.json';
export const PIDS_FILE = 'pids.json';
export const REMOVED_MARKER = 'removed';
export const CONFIG_OUT = 'prometheus.yml';

const LOOPBACK = '127.0.0.1';
/** How long a start waits for the sidecar to have written the injected config before Prometheus starts. */
const SIDECAR_START_TIMEOUT_MS = 30_000;
/** How long an adopted process may take to answer HTTP on its port before it is replaced. */
const ADOPT_ANSWER_TIMEOUT_MS = 10_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function canBind(port: number): Promise<boolean> {
  const s = createServer();
  return new Promise<boolean>((resolve) => {
    s.once('error', () => resolve(false));
    s.listen(port, LOOPBACK, () => s.close(() => resolve(true)));
  });
}

/**
 * Chooses loopback ports for shards. Ports are taken below the kernel's ephemeral range when possible, so that an
 * outgoing connection (which gets an ephemeral port) cannot be sitting on a shard's port when it restarts.
 * `half`: kvass takes the lower half of [10000, the ephemeral range); the upper half is for whoever starts kvass
 * beside processes of its own (the test helpers), so that a port chosen there is never one a kvass process picks.
 */
export class PortAllocator {
  private readonly reserved = new Set<number>();
  private readonly low: number;
  private readonly high: number;

  constructor(half: 'lower' | 'upper' = 'lower') {
    let ephemeralLow = 32_768;
    try {
      ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || ephemeralLow;
    } catch {
      // not Linux: the usual default
    }
    const top = Math.max(12_000, ephemeralLow - 1);
    const middle = Math.floor((10_000 + top) / 2);
    [this.low, this.high] = half === 'lower' ? [10_000, middle] : [middle, top];
  }

  reserve(ports: ShardPorts): void {
    for (const p of [ports.proxy, ports.api, ports.prometheus]) this.reserved.add(p);
  }

  release(ports: ShardPorts): void {
    for (const p of [ports.proxy, ports.api, ports.prometheus]) this.reserved.delete(p);
  }

  /**
   * `port` (one of ours) when nothing listens on it now, else a new one: called just before the process that listens
   * there starts, since a port kept for every restart may have been taken meanwhile (by a second kvass choosing the
   * same port at the same moment, or a service started while kvass was down), which would keep that process down for
   * good. The taken port is no longer reserved: it may be chosen again once free.
   */
  async keepOrReplace(port: number): Promise<number> {
    if (await canBind(port)) return port;
    const next = await this.one();
    this.reserved.delete(port);
    return next;
  }

  async one(): Promise<number> {
    for (let attempt = 0; attempt < 200; attempt++) {
      const p = this.low + Math.floor(Math.random() * (this.high - this.low));
      if (this.reserved.has(p)) continue;
      this.reserved.add(p);
      if (await canBind(p)) return p;
      this.reserved.delete(p);
    }
    // Crowded: let the kernel choose.
    for (;;) {
      const s = createServer();
      await new Promise<void>((r) => s.listen(0, LOOPBACK, r));
      const p = (s.address() as { port: number }).port;
      await new Promise<void>((r) => s.close(() => r()));
      if (!this.reserved.has(p)) {
        this.reserved.add(p);
        return p;
      }
    }
  }

  async shard(): Promise<ShardPorts> {
    return { proxy: await this.one(), api: await this.one(), prometheus: await this.one() };
  }
}

export function readJsonSync<T>(file: string): T | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

function writeJsonAtomicSync(file: string, value: unknown): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(value) + '\n');
  renameSync(tmp, file);
}

function validPorts(p: unknown): p is ShardPorts {
  const ok = (n: unknown): boolean => Number.isInteger(n) && (n as number) > 0 && (n as number) < 65536;
  return typeof p === 'object' && p !== null && ok((p as ShardPorts).proxy) && ok((p as ShardPorts).api) && ok((p as ShardPorts).prometheus);
}

export function shardDir(dataDir: string, replica: number, ordinal: number): string {
  return join(dataDir, `replica-${replica}`, `shard-${ordinal}`);
}

export interface LocalShardOptions {
  dataDir: string;
  replica: number;
  ordinal: number;
  /** Absolute path of the original prometheus.yml. */
  configFile: string;
  /** `--shard.external-labels` for the sidecar; "" for none. */
  externalLabels: string;
  /** The sidecar's `--web.api-token-file` (the token kvass's clients send). */
  tokenFile?: string;
  /** The sidecar's `--log.level`; default its own (info). */
  logLevel?: string;
  kvassCommand: readonly string[];
  prometheusBinary: string;
  reloadDebounce: string;
  log: Logger;
}

export class LocalShard {
  readonly name: string;
  readonly dir: string;
  readonly sidecar: WatchedProcess;
  readonly prometheus: WatchedProcess;
  private pids: ShardPids = { sidecar: null, prometheus: null };
  private readonly log: Logger;

  private constructor(readonly opts: LocalShardOptions, private current: ShardPorts, private readonly allocator: PortAllocator) {
    this.name = `replica-${opts.replica}/shard-${opts.ordinal}`;
    this.dir = shardDir(opts.dataDir, opts.replica, opts.ordinal);
    this.log = opts.log.child({ shard: this.name });
    this.pids = readJsonSync<ShardPids>(join(this.dir, PIDS_FILE)) ?? { sidecar: null, prometheus: null };
    const [kvass, ...kvassArgs] = opts.kvassCommand;
    this.sidecar = new WatchedProcess({
      label: `${this.name} sidecar`,
      command: kvass!,
      args: () => [...kvassArgs, ...this.sidecarArgs()],
      cwd: this.dir,
      logFile: join(this.dir, 'sidecar.log'),
      log: this.log,
      onPid: (pid) => this.savePid('sidecar', pid),
      beforeStart: async () => void (await this.freePorts(['proxy', 'api'])),
    });
    this.prometheus = new WatchedProcess({
      label: `${this.name} prometheus`,
      command: opts.prometheusBinary,
      args: () => this.prometheusArgs(),
      cwd: this.dir,
      logFile: join(this.dir, 'prometheus.log'),
      log: this.log,
      onPid: (pid) => this.savePid('prometheus', pid),
      beforeStart: async () => {
        // The sidecar reads its Prometheus at the URL it was started with.
        if (await this.freePorts(['prometheus'])) await this.sidecar.restart();
        await this.waitForInjectedConfig();
      },
    });
  }

  /** The shard's ports now (they change only when another process holds one as the shard's process starts). */
  get ports(): ShardPorts {
    return this.current;
  }

  /**
   * Each of `which` that another process holds, chosen anew (PortAllocator.keepOrReplace) just before the process
   * that listens on it starts. The coordinator and the view read the new URLs from list(); the sidecar writes the new
   * proxy port into the injected config and has Prometheus reload it. Returns whether a port changed.
   */
  private async freePorts(which: ReadonlyArray<keyof ShardPorts>): Promise<boolean> {
    const chosen: Partial<ShardPorts> = {};
    for (const k of which) {
      const p = await this.allocator.keepOrReplace(this.current[k]);
      if (p !== this.current[k]) chosen[k] = p;
    }
    if (Object.keys(chosen).length === 0) return false;
    // From here on without a pause: both processes' starts may be choosing at once, each its own ports.
    const taken: Partial<ShardPorts> = {};
    for (const k of Object.keys(chosen) as Array<keyof ShardPorts>) taken[k] = this.current[k];
    this.current = { ...this.current, ...chosen };
    writeJsonAtomicSync(join(this.dir, PORTS_FILE), this.current);
    this.log.warn({ taken, ports: this.current }, 'a port of this shard is held by another process: the shard moves to a new one');
    return true;
  }

  /** Opens the shard's folder (creating it), reading ports.json or choosing the ports once. */
  static async open(opts: LocalShardOptions, ports: PortAllocator): Promise<LocalShard> {
    const dir = shardDir(opts.dataDir, opts.replica, opts.ordinal);
    await mkdir(join(dir, 'store'), { recursive: true });
    await mkdir(join(dir, 'tsdb'), { recursive: true });
    const portsFile = join(dir, PORTS_FILE);
    const stored = readJsonSync<unknown>(portsFile);
    let p: ShardPorts;
    if (validPorts(stored)) {
      p = stored;
      ports.reserve(p);
    } else {
      if (existsSync(portsFile)) opts.log.warn({ file: portsFile }, 'unreadable ports file: choosing new ports');
      p = await ports.shard();
      writeJsonAtomicSync(portsFile, p);
    }
    return new LocalShard(opts, p, ports);
  }

  get configOut(): string {
    return join(this.dir, CONFIG_OUT);
  }

  get apiUrl(): string {
    return `http://${LOOPBACK}:${this.ports.api}`;
  }

  get prometheusUrl(): string {
    return `http://${LOOPBACK}:${this.ports.prometheus}`;
  }

  /** Identifies this shard's processes in a command line (guards adoption against reused pids). */
  private get markers(): { sidecar: string; prometheus: string } {
    return { sidecar: `--store.path=${join(this.dir, 'store')}`, prometheus: `--storage.tsdb.path=${join(this.dir, 'tsdb')}` };
  }

  private sidecarArgs(): string[] {
    const args = [
      'sidecar',
      `--config.file=${this.opts.configFile}`,
      `--config.output-file=${this.configOut}`,
      this.markers.sidecar,
      `--web.proxy-addr=${LOOPBACK}:${this.ports.proxy}`,
      `--web.api-addr=${LOOPBACK}:${this.ports.api}`,
      `--prometheus.url=${this.prometheusUrl}`,
      `--prometheus.reload-debounce=${this.opts.reloadDebounce}`,
    ];
    if (this.opts.externalLabels) args.push(`--shard.external-labels=${this.opts.externalLabels}`);
    if (this.opts.tokenFile) args.push(`--web.api-token-file=${this.opts.tokenFile}`);
    if (this.opts.logLevel) args.push(`--log.level=${this.opts.logLevel}`);
    return args;
  }

  private prometheusArgs(): string[] {
    return [
      `--config.file=${this.configOut}`,
      this.markers.prometheus,
      `--web.listen-address=${LOOPBACK}:${this.ports.prometheus}`,
      '--web.enable-lifecycle',
      '--storage.tsdb.retention.time=1d',
    ];
  }

  private savePid(which: keyof ShardPids, pid: number | null): void {
    this.pids = { ...this.pids, [which]: pid };
    try {
      writeJsonAtomicSync(join(this.dir, PIDS_FILE), this.pids);
    } catch (e) {
      // The folder is being deleted (scale-down) or the disk is full: the process still runs, logged.
      this.log.warn({ err: (e as Error).message }, 'cannot write pids.json');
    }
  }

  /** Prometheus loads the sidecar's output: wait until the sidecar is up (it writes the file before it listens). */
  private async waitForInjectedConfig(): Promise<void> {
    const end = Date.now() + SIDECAR_START_TIMEOUT_MS;
    while (Date.now() < end) {
      if (existsSync(this.configOut) && (await answersReady(this.apiUrl, 1000))) return;
      await sleep(100);
    }
    if (existsSync(this.configOut)) {
      this.log.warn({ file: this.configOut }, 'the sidecar is not ready; starting Prometheus on the injected config it wrote earlier');
      return;
    }
    throw new Error(`the sidecar has not written ${this.configOut} within ${SIDECAR_START_TIMEOUT_MS / 1000} s (see ${join(this.dir, 'sidecar.log')})`);
  }

  /** Starts both processes, sidecar first; resolves once both are spawned (not necessarily ready). */
  async start(): Promise<void> {
    await this.sidecar.start();
    await this.prometheus.start();
  }

  /**
   * Takes over the shard's processes left running by an earlier manager, and starts those that are not running.
   * Returns what happened per process.
   */
  async startOrAdopt(): Promise<{ sidecar: 'adopted' | 'started'; prometheus: 'adopted' | 'started' }> {
    const sidecarPid = await this.findRunning('sidecar', this.pids.sidecar, this.markers.sidecar, this.apiUrl, true);
    const promPid = await this.findRunning('prometheus', this.pids.prometheus, this.markers.prometheus, this.prometheusUrl, false);
    if (sidecarPid !== null) this.sidecar.adopt(sidecarPid);
    else await this.sidecar.start();
    if (promPid !== null) this.prometheus.adopt(promPid);
    else await this.prometheus.start();
    const out = { sidecar: sidecarPid !== null ? 'adopted' : 'started', prometheus: promPid !== null ? 'adopted' : 'started' } as const;
    this.log.info({ ...out, pids: this.pids, ports: this.ports }, 'shard taken over');
    return out;
  }

  /**
   * The pid of this shard's running `which` process (pids.json first, then any process whose command line names
   * this shard's folder), when it answers HTTP on its port (the sidecar: 200 on /-/ready; Prometheus: any answer,
   * since it answers 503 while it replays its WAL). Others found (duplicates, or hung) are stopped.
   */
  private async findRunning(which: keyof ShardPids, recorded: number | null, marker: string, url: string, needOk: boolean): Promise<number | null> {
    const candidates: number[] = [];
    if (recorded !== null && pidAlive(recorded) && pidCommandLineHas(recorded, marker) !== false) candidates.push(recorded);
    for (const pid of findPidsByCommandLine(marker)) if (!candidates.includes(pid)) candidates.push(pid);
    let chosen: number | null = null;
    for (const pid of candidates) {
      if (chosen === null && (await this.answers(url, pid, needOk))) {
        chosen = pid;
        continue;
      }
      this.log.warn({ process: which, pid, url }, chosen === null ? 'a left-over process does not answer on its port: stopping it' : 'a duplicate process: stopping it');
      await stopPid(pid);
    }
    return chosen;
  }

  private async answers(url: string, pid: number, needOk: boolean): Promise<boolean> {
    const end = Date.now() + ADOPT_ANSWER_TIMEOUT_MS;
    while (pidAlive(pid)) {
      try {
        const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2000) });
        await res.body?.cancel();
        if (res.ok || !needOk) return true;
      } catch {
        // not listening (yet)
      }
      if (Date.now() > end) return false;
      await sleep(250);
    }
    return false;
  }

  async ready(): Promise<boolean> {
    const [a, b] = await Promise.all([answersReady(this.apiUrl), answersReady(this.prometheusUrl)]);
    return a && b;
  }

  info(ready: boolean): ShardInfo {
    return { replica: this.opts.replica, id: this.opts.ordinal, name: this.name, apiUrl: this.apiUrl, prometheusUrl: this.prometheusUrl, ready };
  }

  currentPids(): ShardPids {
    return { ...this.pids };
  }

  async stop(): Promise<void> {
    await Promise.all([this.prometheus.stop(), this.sidecar.stop()]);
  }

  detach(): void {
    this.sidecar.detach();
    this.prometheus.detach();
  }

  /** Marks the folder as removed (before stopping: a crash in between must not bring the shard back). */
  async markRemoved(): Promise<void> {
    await markRemoved(this.dir);
  }

  async deleteFolder(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * Finishes the removal of a shard folder marked `removed`: stops processes still running there (found through
 * pids.json or their command line) and, with deleteData, deletes the folder.
 */
export async function finishRemoval(dir: string, deleteData: boolean, log: Logger): Promise<void> {
  const pids = readJsonSync<ShardPids>(join(dir, PIDS_FILE));
  const markers = [`--store.path=${join(dir, 'store')}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`];
  const found = new Set<number>();
  for (const pid of [pids?.sidecar, pids?.prometheus]) {
    if (typeof pid === 'number' && pidAlive(pid) && markers.some((m) => pidCommandLineHas(pid, m) !== false)) found.add(pid);
  }
  for (const m of markers) for (const pid of findPidsByCommandLine(m)) found.add(pid);
  if (found.size) log.info({ dir, pids: [...found] }, 'stopping the processes of a removed shard');
  await Promise.all([...found].map((pid) => stopPid(pid)));
  if (deleteData) await rm(dir, { recursive: true, force: true });
}

/** Readies a folder left by a removed shard (without deleteData) for reuse: its TSDB stays, its stale assignment goes. */
export async function reuseRemovedFolder(dir: string): Promise<void> {
  await rm(join(dir, 'store'), { recursive: true, force: true });
  await rm(join(dir, PIDS_FILE), { force: true });
  await rm(join(dir, REMOVED_MARKER), { force: true });
}

export async function markRemoved(dir: string): Promise<void> {
  await writeFile(join(dir, REMOVED_MARKER), `${new Date().toISOString()}\n`);
}

export function isRemoved(dir: string): boolean {
  return existsSync(join(dir, REMOVED_MARKER));
}
