/**
 * Another process taking a port of kvass's: a listener of the test on loopback, and the dance that takes the port of
 * a process kvass restarts between its exit and its restart.
 */
import { createServer } from 'node:net';
import { pidAlive } from '../../src/shard/local-process.js';
import { waitFor } from './prometheus.js';

export interface HeldPort {
  port: number;
  close(): Promise<void>;
}

/**
 * Listens on `port` on loopback (0: one the kernel chooses), hanging up on whoever connects: until a process of kvass
 * has moved, kvass's calls to it reach this port, and a connection left open would keep close() waiting.
 */
export async function holdPort(port = 0): Promise<HeldPort> {
  const s = createServer((c) => c.destroy());
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, '127.0.0.1', resolve);
  });
  return {
    port: (s.address() as { port: number }).port,
    close: () => new Promise<void>((r) => (s.listening ? s.close(() => r()) : r())),
  };
}

/**
 * Kills the process `pidOf` names (one kvass restarts) and takes its port (`portOf` the killed pid) before the
 * restart. Until the killed process's connections are closed, the port cannot be bound; the restart comes 1 s after
 * the exit (BACKOFF_START_MS), then 2 s, 4 s: should a restart bind the port first, it is killed again, up to four
 * times. Returns the port held and the pid killed last; throws when the port could not be taken.
 */
export async function killAndTakePort(what: string, pidOf: () => number | null | undefined, portOf: (pid: number) => number): Promise<{ held: HeldPort; killed: number }> {
  for (let attempt = 0; attempt < 4; attempt++) {
    const killed = await waitFor(`the ${what}'s process`, async () => pidOf() ?? undefined, 30_000, 50);
    const port = portOf(killed);
    process.kill(killed, 'SIGKILL');
    await waitFor(`the killed ${what} to be gone`, async () => !pidAlive(killed), 10_000, 20);
    const held = await waitFor('the port held by this test', () => holdPort(port).catch(() => undefined), 800, 10).catch(() => undefined);
    if (held) return { held, killed };
    await waitFor(`the restarted ${what}`, async () => { const p = pidOf(); return p != null && p !== killed; }, 10_000, 50);
  }
  throw new Error(`the killed ${what}'s port could not be taken before its restart`);
}
