/**
 * Counts the calls on the large keyed structures of a piece of work, by call site: Maps and Sets of more than 50,000
 * entries, and the planner's HashIndex. Why: at a million targets each such call costs about a microsecond (cache and
 * TLB misses in a heap of about 10 GB), and a 1% cycle's cost follows how many it makes per changed target, which a
 * CPU profile spreads over many functions. The calls are wrapped while counting, so the work's time is no figure.
 * Used by coordinator-cycle.bench.ts (KVASS_CYCLE_COUNT=1).
 */
import { HashIndex } from '../src/coordinator/hash-index.js';

const LARGE = 50_000;

export interface LargeCalls {
  total: number;
  /** Per call site (`Map.get Function file:line`, lines of the built files), most first. */
  bySite: Array<[string, number]>;
}

type Method = (this: { size: number }, ...args: unknown[]) => unknown;

export async function countLargeCalls(work: () => Promise<unknown>): Promise<LargeCalls> {
  const counts = new Map<string, number>();
  const restore: Array<() => void> = [];
  const wrap = (kind: string, proto: object, names: string[]): void => {
    const methods = proto as Record<string, Method>;
    for (const name of names) {
      const f = methods[name]!;
      methods[name] = function (this: { size: number }, ...args: unknown[]) {
        if (this.size > LARGE) {
          // Line 0 is the message, 1 this wrapper, 2 its caller.
          const at = (new Error().stack ?? '').split('\n')[2] ?? '';
          const site = at.trim().replace(/^at /, '').replace(/\(?file:\/\/\S*\/dist\//, '').replace(/\)$/, '');
          const key = `${kind}.${name} ${site}`;
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
        return f.apply(this, args);
      };
      restore.push(() => {
        methods[name] = f;
      });
    }
  };
  wrap('Map', Map.prototype, ['get', 'set', 'has', 'delete']);
  wrap('Set', Set.prototype, ['has', 'add', 'delete']);
  wrap('HashIndex', HashIndex.prototype, ['get', 'set', 'delete']);
  try {
    await work();
  } finally {
    for (const r of restore) r();
  }
  const bySite = [...counts].sort((a, b) => b[1] - a[1]);
  return { total: bySite.reduce((n, [, c]) => n + c, 0), bySite };
}
