/**
 * What the coordinator decided, in words, for people: placements, moves with their reason, finished transfers,
 * scale-ups and scale-downs, configuration reloads. A bounded ring (the last `capacity` events, oldest dropped),
 * served newest first as `GET /api/v1/events` and shown by the console's activity view. Logs say the same line by
 * line; this keeps the recent story in one place.
 *
 * The messages are built here from the planner's output (pure functions of what the cycle decided), so the cycle
 * itself only says "this happened".
 */
import type { PlannerMove, PlannerOutput, PlannerShard } from './planner.js';
import { shardId } from '../shard/types.js';
import { forEachNotIn } from './sorted-keys.js';

export type EventKind = 'place' | 'move' | 'transfer-done' | 'scale-up' | 'scale-down' | 'reload' | 'unplaced';

export interface CoordinatorEvent {
  /** RFC 3339. */
  time: string;
  kind: EventKind;
  message: string;
  /** false for what went wrong (a refused reload, targets that found no shard). */
  ok: boolean;
}

export const DEFAULT_EVENT_CAPACITY = 1000;

export class EventLog {
  private readonly ring: CoordinatorEvent[] = [];

  constructor(private readonly capacity = DEFAULT_EVENT_CAPACITY, private readonly now: () => number = Date.now) {}

  record(kind: EventKind, message: string, ok = true): void {
    this.ring.push({ time: new Date(this.now()).toISOString(), kind, message, ok });
    if (this.ring.length > this.capacity) this.ring.splice(0, this.ring.length - this.capacity);
  }

  /** The newest `limit` events, newest first. */
  list(limit = this.capacity): CoordinatorEvent[] {
    return limit <= 0 ? [] : this.ring.slice(-limit).reverse();
  }
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** Per shard before the cycle: its series (targets on it, counted as the planner counts them). */
export interface ShardLoad {
  series: number;
}

/**
 * The events of one cycle's plan: moves grouped by origin, destination and reason, with the origin's fill; new
 * placements grouped by shard; finished transfers; targets that found no shard.
 */
export function planEvents(plan: PlannerOutput, before: readonly ShardLoad[], budget: number, placed: ReadonlyMap<number, number>): Array<{ kind: EventKind; message: string; ok: boolean }> {
  const out: Array<{ kind: EventKind; message: string; ok: boolean }> = [];
  const groups = new Map<string, PlannerMove[]>();
  for (const m of plan.moves) {
    const k = `${m.from}>${m.to}>${m.reason}`;
    (groups.get(k) ?? groups.set(k, []).get(k)!).push(m);
  }
  for (const list of groups.values()) {
    const { from, to, reason } = list[0]!;
    const fill = budget > 0 && before[from] ? ` at ${Math.round((100 * before[from]!.series) / budget)}% of budget` : '';
    const why = reason === 'overload' ? `${shardId(from)}${fill}` : `${shardId(from)} drained for scale-down`;
    out.push({ kind: 'move', message: `${why}: moving ${plural(list.length, 'target')} to ${shardId(to)}`, ok: true });
  }
  for (const [shard, n] of [...placed].sort(([a], [b]) => a - b)) out.push({ kind: 'place', message: `placed ${plural(n, 'new target')} on ${shardId(shard)}`, ok: true });
  if (plan.completed.length > 0) out.push({ kind: 'transfer-done', message: `${plural(plan.completed.length, 'transfer')} done: the old shard stopped scraping`, ok: true });
  if (plan.unplaced.length > 0) out.push({ kind: 'unplaced', message: `${plural(plan.unplaced.length, 'target')} not placed: --shard.max-shard reached`, ok: false });
  return out;
}

/** The event of a change of the shard count. */
export function scaleEvent(from: number, to: number, series: number, budget: number): { kind: EventKind; message: string } {
  if (to > from) return { kind: 'scale-up', message: `scale-up from ${from} to ${to} shards: ${series} series to place at ${budget} per shard` };
  return { kind: 'scale-down', message: `scale-down from ${from} to ${to} shards: ${plural(from - to, 'shard')} emptied and idle` };
}

/**
 * The events of a cycle: its plan's, with the load before it (`loadOf`: series on a shard as the plan found it) of
 * each shard a move leaves. A target is new when no earlier plan placed it (`placedBefore`; a shard that is still starting
 * does not report its targets yet) and no shard reports it. With `previous` (the last plan's records, whose targets
 * are all in `placedBefore`), a record that is the same object as before has nothing new and is not read; with
 * `changes` (what differs between `previous` and this plan's records), only the targets a record gained are.
 * `onShard` tells whether some shard reports a target (default: a look in every shard's record).
 */
export function cycleEvents(
  plan: PlannerOutput, shards: readonly PlannerShard[], loadOf: (shard: number) => number, budget: number,
  placedBefore: { has(hash: string): boolean }, previous: PlannerOutput['assignments'] = [],
  changes?: ReadonlyMap<string, { added: readonly number[] }> | null,
  onShard: (hash: string) => boolean = onSomeShard(shards),
): Array<{ kind: EventKind; message: string; ok: boolean }> {
  const before: ShardLoad[] = [];
  for (const m of plan.moves) before[m.from] ??= { series: loadOf(m.from) };
  const known = (h: string): boolean => placedBefore.has(h) || onShard(h);
  const placed = new Map<number, number>();
  if (changes) {
    // A target a record already held was placed by an earlier plan: only the ones gained can be new.
    for (const [h, { added }] of changes) if (added.length > 0 && !known(h)) for (const i of added) placed.set(i, (placed.get(i) ?? 0) + 1);
  } else {
    plan.assignments.forEach((a, i) => {
      if (a === previous[i]) return;
      // Counted here and set once per record: a first placement tells a million targets.
      let n = 0;
      const count = (h: string): void => {
        if (!known(h)) n++;
      };
      // What the shard itself reports is not new, without a look-up: after a restart, nearly every target of a record.
      const view = shards[i]?.targets;
      if (view !== undefined) forEachNotIn(a.keys, view.hashes, count);
      else for (const h of a.keys) count(h);
      if (n > 0) placed.set(i, n);
    });
  }
  return planEvents(plan, before, budget, placed);
}

/**
 * Whether a target is in some shard's record. Usually few are asked (new targets, unmeasured ones): those are looked
 * up shard by shard. When many are (a coordinator's first plan), an index of every shard's targets is built once.
 */
export function onSomeShard(shards: readonly PlannerShard[]): (hash: string) => boolean {
  let lookups = 0;
  let index: Set<string> | null = null;
  return (h) => {
    if (index === null && ++lookups > 1000) index = new Set(shards.flatMap((s) => s.targets.hashes));
    return index !== null ? index.has(h) : shards.some((s) => s.targets.has(h));
  };
}
