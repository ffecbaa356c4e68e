/**
 * `kvass up`'s start-up progress: shards ready, targets placed, targets scraped. On a terminal one line is redrawn
 * in place; elsewhere (a CI log, a pipe) each change is a plain line of its own, so a log never gets one endless
 * line of carriage returns. It stops once every discovered target is placed and scraped.
 */
import type { Coordinator } from '../coordinator/coordinator.js';

export interface StartupState {
  shardsReady: number;
  shards: number;
  targets: number;
  placed: number;
  scraped: number;
}

export function startupState(c: Coordinator): StartupState {
  const shards = c.shardViews[0] ?? [];
  return {
    shardsReady: shards.filter((s) => s.ready).length,
    shards: shards.length,
    targets: c.active.length,
    placed: c.active.filter((t) => t.shards.length > 0).length,
    scraped: c.active.filter((t) => t.health === 'up' && t.shards.length > 0).length,
  };
}

export function progressText(s: StartupState, elapsedMs: number): string {
  return `${Math.round(elapsedMs / 1000)}s: ${s.shardsReady}/${s.shards} shard(s) ready, ${s.placed}/${s.targets} targets placed, ${s.scraped}/${s.targets} scraped`;
}

export const isDone = (s: StartupState): boolean => s.targets > 0 && s.placed === s.targets && s.scraped === s.targets && s.shardsReady === s.shards;

/** Writes the progress every `everyMs` until done (or stop()); `out` is a terminal or not. */
export function showStartupProgress(c: Coordinator, out: NodeJS.WriteStream, everyMs = 1000, now: () => number = Date.now): { stop(): void } {
  const t0 = now();
  const tty = out.isTTY === true;
  let last = '';
  let stopped = false;
  const tick = (): void => {
    if (stopped) return;
    const s = startupState(c);
    const text = progressText(s, now() - t0);
    const state = text.slice(text.indexOf(':'));
    if (tty) out.write(`\r\x1b[2K${text}`);
    else if (state !== last) out.write(`${text}\n`);
    last = state;
    if (isDone(s)) finish(true);
  };
  const timer = setInterval(tick, everyMs);
  timer.unref(); // never what keeps the process alive
  const finish = (done: boolean): void => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    if (tty) out.write(done ? '\n' : '\r\x1b[2K');
  };
  return { stop: () => finish(false) };
}
