/** A DiscoveryContext for discoverer tests: records what is emitted and failed, and waits for conditions. */
import type { DiscoveryContext, TargetGroup } from '../../src/discovery/types.js';
import { silentLogger } from '../../src/logger.js';

export function harness() {
  const ac = new AbortController();
  const emits: TargetGroup[][] = [];
  const fails: Error[] = [];
  const state = new Map<string, TargetGroup>();
  const ctx: DiscoveryContext = {
    signal: ac.signal,
    logger: silentLogger(),
    emit(groups) {
      emits.push(groups);
      for (const g of groups) g.targets.length ? state.set(g.source, g) : state.delete(g.source);
    },
    fail(err) {
      fails.push(err);
    },
  };
  const until = async (pred: () => boolean, what: string, ms = 5000) => {
    const deadline = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const addresses = () => [...state.values()].flatMap((g) => g.targets.map((t) => t.__address__)).sort();
  return { ac, ctx, emits, fails, state, until, addresses };
}
