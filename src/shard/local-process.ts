/**
 * One long-running process of a local shard (a kvass sidecar or a Prometheus), watched and restarted.
 *
 * - Processes are spawned detached (their own session and process group) with stdin closed and stdout/stderr
 *   appended to a log file, so a coordinator killed with SIGKILL leaves them running, to be adopted by the next.
 * - A process that exits without being asked to is restarted with back-off: 1 s, doubling to 30 s, back to 1 s
 *   once a run lasted 60 s.
 * - An adopted process (started by an earlier coordinator) is not our child: its liveness is polled every second.
 * - stop(): SIGTERM to its process group, SIGKILL after 10 s.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import type { Logger } from '../logger.js';

export const BACKOFF_START_MS = 1000;
export const BACKOFF_MAX_MS = 30_000;
export const BACKOFF_RESET_AFTER_MS = 60_000;
export const ADOPTED_POLL_MS = 1000;
export const STOP_GRACE_MS = 10_000;

/** Whether `pid` is a live process (not a zombie waiting to be reaped). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // "pid (comm) S ...": the state follows the last ')'. A zombie has exited already.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc: trust kill(0)
  }
}

/**
 * Whether one argument of `pid`'s command line is exactly `marker` (guards against a reused pid). Without /proc (not Linux) there
 * is no way to tell, and the answer is `undefined`.
 */
export function pidCommandLineHas(pid: number, marker: string): boolean | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(marker);
  } catch {
    try {
      readFileSync('/proc/self/cmdline');
      return false; // /proc works, so the process is gone
    } catch {
      return undefined;
    }
  }
}

/** Live processes with the argument `marker` in their command line (Linux; empty elsewhere). */
export function findPidsByCommandLine(marker: string): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid === process.pid) continue;
    if (pidCommandLineHas(pid, marker) === true && pidAlive(pid)) out.push(pid);
  }
  return out;
}

/** Sends `signal` to the process group of `pid` (they are group leaders), else to the process alone. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
    return;
  } catch {
    // not a group leader, or gone
  }
  try {
    process.kill(pid, signal);
  } catch {
    // gone
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Stops a process that is not (or no longer) our child: SIGTERM, SIGKILL after `graceMs`, waits until it is gone. */
export async function stopPid(pid: number, graceMs = STOP_GRACE_MS): Promise<void> {
  if (!pidAlive(pid)) return;
  signalGroup(pid, 'SIGTERM');
  const end = Date.now() + graceMs;
  while (pidAlive(pid) && Date.now() < end) await sleep(50);
  if (!pidAlive(pid)) return;
  signalGroup(pid, 'SIGKILL');
  const hardEnd = Date.now() + 5000;
  while (pidAlive(pid) && Date.now() < hardEnd) await sleep(50);
}

export interface WatchedProcessOptions {
  /** For logs: "replica-0/shard-1 prometheus". */
  label: string;
  command: string;
  /** Read at every spawn when a function (a local shard's ports may change between starts). */
  args: readonly string[] | (() => readonly string[]);
  cwd: string;
  logFile: string;
  log: Logger;
  /** Called with the pid after every spawn (null when the process is stopped): the shard persists pids.json. */
  onPid(pid: number | null): void;
  /** Runs before every (re)start; a throw counts as a failed start (back-off). */
  beforeStart?(): Promise<void>;
}

type State = 'idle' | 'running' | 'waiting' | 'stopping' | 'stopped' | 'detached';

export class WatchedProcess {
  private state: State = 'idle';
  private child: ChildProcess | null = null;
  private adoptedPid: number | null = null;
  private poll: NodeJS.Timeout | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  /** stop() and detach() calls so far: a restart() yields to one that comes while it stops the process. */
  private stopsAsked = 0;
  private startAttempts = 0;
  private startedAt = 0;
  private backoffMs = 0;
  /** Unexpected exits so far (tests and logs). */
  restarts = 0;

  constructor(private readonly opts: WatchedProcessOptions) {}

  get pid(): number | null {
    return this.child?.pid ?? this.adoptedPid;
  }

  get running(): boolean {
    const pid = this.pid;
    return pid !== null && (this.state === 'running') && pidAlive(pid);
  }

  /** Spawns the process (after beforeStart). A failure to start is logged and retried with back-off. */
  async start(): Promise<void> {
    // Already started (or starting), or told to stop: nothing to do.
    if (this.state === 'running' || this.state === 'stopping' || this.state === 'stopped' || this.state === 'detached') return;
    this.state = 'running';
    const attempt = ++this.startAttempts;
    try {
      await this.opts.beforeStart?.();
    } catch (e) {
      if (attempt !== this.startAttempts) return;
      this.opts.log.error({ process: this.opts.label, err: (e as Error).message }, 'cannot start');
      this.startedAt = Date.now();
      this.exited(null, null, (e as Error).message);
      return;
    }
    // Stopped meanwhile, or stopped and started again by restart(): that start spawns.
    if (!this.is('running') || attempt !== this.startAttempts) return;
    this.spawnNow();
  }

  private is(s: State): boolean {
    return this.state === s;
  }

  private spawnNow(): void {
    const { opts } = this;
    const args = typeof opts.args === 'function' ? opts.args() : opts.args;
    let fd: number;
    try {
      fd = openSync(opts.logFile, 'a');
      writeSync(fd, `\n=== kvass: starting ${opts.command} ${args.join(' ')} at ${new Date().toISOString()}\n`);
    } catch (e) {
      opts.log.error({ process: opts.label, err: (e as Error).message }, 'cannot open the log file');
      this.startedAt = Date.now();
      this.exited(null, null, (e as Error).message);
      return;
    }
    let child: ChildProcess;
    try {
      child = spawn(opts.command, args as string[], { cwd: opts.cwd, detached: true, stdio: ['ignore', fd, fd] });
    } catch (e) {
      closeSync(fd);
      this.startedAt = Date.now();
      this.exited(null, null, (e as Error).message);
      return;
    }
    closeSync(fd);
    this.child = child;
    this.adoptedPid = null;
    this.startedAt = Date.now();
    child.unref();
    let done = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null, err?: string): void => {
      if (done) return;
      done = true;
      if (this.child === child) this.child = null;
      this.exited(code, signal, err);
    };
    child.once('error', (e) => finish(null, null, e.message));
    child.once('exit', (code, signal) => finish(code, signal));
    if (child.pid !== undefined) {
      opts.onPid(child.pid);
      opts.log.info({ process: opts.label, pid: child.pid }, 'process started');
    }
  }

  /** Takes over a running process started by an earlier manager; it is watched by polling. */
  adopt(pid: number): void {
    this.state = 'running';
    this.child = null;
    this.adoptedPid = pid;
    this.startedAt = Date.now();
    this.opts.onPid(pid);
    this.poll = setInterval(() => {
      if (this.adoptedPid !== pid || pidAlive(pid)) return;
      clearInterval(this.poll!);
      this.poll = null;
      this.adoptedPid = null;
      this.exited(null, null, 'the adopted process is gone');
    }, ADOPTED_POLL_MS);
    this.poll.unref();
  }

  private exited(code: number | null, signal: NodeJS.Signals | null, err?: string): void {
    if (this.state !== 'running') return; // asked to stop, or detached: nothing to do
    const uptime = Date.now() - this.startedAt;
    if (uptime >= BACKOFF_RESET_AFTER_MS || this.backoffMs === 0) this.backoffMs = BACKOFF_START_MS;
    else this.backoffMs = Math.min(BACKOFF_MAX_MS, this.backoffMs * 2);
    this.restarts++;
    this.state = 'waiting';
    this.opts.log.error({ process: this.opts.label, code, signal, err, uptimeMs: uptime, restartInMs: this.backoffMs, logFile: this.opts.logFile }, 'process exited unexpectedly; restarting');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (!this.is('waiting')) return;
      void this.start();
    }, this.backoffMs);
    this.restartTimer.unref();
  }

  private clearTimers(): void {
    if (this.poll) clearInterval(this.poll);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.poll = null;
    this.restartTimer = null;
  }

  /**
   * Stops the process and starts it again (with its arguments as they are now). Nothing when it was never started,
   * or is stopped or detached, also when that is asked while this restart stops it.
   */
  async restart(): Promise<void> {
    if (this.state !== 'running' && this.state !== 'waiting') return;
    const asked = this.stopsAsked;
    await this.stop();
    if (this.stopsAsked !== asked + 1 || !this.is('stopped')) return;
    this.state = 'idle';
    await this.start();
  }

  /** Stops the process (SIGTERM to its group, SIGKILL after `graceMs`) and waits until it is gone. */
  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    this.stopsAsked++;
    this.state = 'stopping';
    this.clearTimers();
    const child = this.child;
    const pid = this.pid;
    if (child && child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.ref(); // a caller waiting for the stop keeps the process alive until it is done
      signalGroup(child.pid, 'SIGTERM');
      const timer = setTimeout(() => {
        this.opts.log.warn({ process: this.opts.label, pid: child.pid }, 'no exit 10 s after SIGTERM: SIGKILL');
        signalGroup(child.pid!, 'SIGKILL');
      }, graceMs);
      await gone;
      clearTimeout(timer);
    } else if (pid !== null) {
      await stopPid(pid, graceMs);
    }
    this.child = null;
    this.adoptedPid = null;
    this.state = 'stopped';
    this.opts.onPid(null);
  }

  /** Stops watching and leaves the process running (a later manager adopts it). */
  detach(): void {
    this.stopsAsked++;
    this.state = 'detached';
    this.clearTimers();
  }
}
