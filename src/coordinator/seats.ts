/**
 * Seats: a small number for each target the population holds (`Target.seat`), dense over those targets, so that a
 * later stage keeps what it knows of each target in an array by seat instead of a Map keyed by hash.
 *
 * Why: the cycles that take in every target (the first placement, a restart) filled one million-entry Map after
 * another, each keyed by hash, in orders the maps did not share. Filling one took about a second at a million
 * targets (sizing's position of each hash in the planner's list: 1.2–1.4 s of a profiled cycle), where writing an
 * array by a number the target carries takes milliseconds.
 *
 * The contract, for the population that seats and for a stage that reads seats:
 * - a hash holds one seat from when it enters the population's result until it leaves it: the target held under it
 *   has that seat (its `seat`, else -1), and no two targets held at once share one. A target replaced by another with
 *   the same hash in one change of the result (a job's changed groups relabeled again, a rebuild in which another
 *   job's target wins the hash) passes its seat on: a stage's state for the hash stays where it is;
 * - a hash that leaves is named, with the seat it held, in `released` (`takeReleased`) when the change ends
 *   (`settle`); its seat may be handed to another target from then on, in the same update too. A stage that keeps
 *   state by seat takes out what it holds for the released hashes before it takes in the new ones, and checks a seat's
 *   state by the hash it was kept for (a seat released and taken again before the stage saw either still holds the
 *   old hash's state).
 *
 * Why a replaced target keeps its seat: relabeling a group again (one pod of an endpoints object changed) replaces
 * each of its targets with an equal one. A new seat for each would make every stage move their state, or lose it: the
 * explorer, whose probe results are kept by seat, would probe them all again.
 */
import type { Target } from '../target/populate.js';
import { grown } from './columns.js';

/** A hash that left the population's result, with the seat it held. */
export interface SeatRelease {
  hash: string;
  seat: number;
}

export class Seats {
  /** Seats handed out so far: every seat is below it. */
  private count = 0;
  private readonly free: number[] = [];
  /** The seats of the hashes unseated in this change, by hash: a target taken in with one of them gets it back. */
  private readonly parked = new Map<string, number>();
  private released: SeatRelease[] = [];

  /** One more than the highest seat ever handed out: an array by seat of this length holds every target. */
  get capacity(): number {
    return this.count;
  }

  /** Seats `t` (not seated): with the seat its hash held in this change, else a free one. */
  take(t: Target): void {
    if (this.reclaim(t)) return;
    t.seat = this.free.length > 0 ? this.free.pop()! : this.count++;
  }

  /** Seats `t` (not seated) with the seat its hash held in this change; false when it held none. */
  reclaim(t: Target): boolean {
    // No look-up while nothing is parked: a first population takes a million seats.
    const seat = this.parked.size > 0 ? this.parked.get(t.hash) : undefined;
    if (seat === undefined) return false;
    this.parked.delete(t.hash);
    t.seat = seat;
    return true;
  }

  /** Unseats `t` (seated). Its seat is kept for its hash until the change ends (`settle`). */
  release(t: Target): void {
    this.parked.set(t.hash, t.seat);
    t.seat = -1;
  }

  /** Ends a change: the seats of hashes unseated and not taken again are free, and told in `released`. */
  settle(): void {
    for (const [hash, seat] of this.parked) {
      this.released.push({ hash, seat });
      this.free.push(seat);
    }
    this.parked.clear();
  }

  /** The hashes released since the last call, with their seats, in the order they were unseated. */
  takeReleased(): SeatRelease[] {
    const out = this.released;
    this.released = [];
    return out;
  }
}

/**
 * Per seat, a non-negative integer (a position in the holder's list) or none. A typed array, 0 meaning none, grown
 * by doubling: a plain array grown to a million seats one push at a time took about 120 ms on this machine (a
 * rebuild's whole list, or a 1% cycle's new targets on seats given back anywhere), and filled ahead 30–40 ms.
 */
export class SeatIndex {
  private values = new Int32Array(0);

  /** The integer kept for `seat`; -1 when none. */
  get(seat: number): number {
    return seat >= 0 && seat < this.values.length ? this.values[seat]! - 1 : -1;
  }

  set(seat: number, value: number): void {
    if (seat >= this.values.length) this.values = grown(this.values, Math.max(seat + 1, this.values.length * 2, 1024));
    this.values[seat] = value + 1;
  }

  unset(seat: number): void {
    if (seat >= 0 && seat < this.values.length) this.values[seat] = 0;
  }

  /** None for every seat. */
  reset(): void {
    this.values = new Int32Array(0);
  }
}

/**
 * Seated targets, each with a mark, in the order they were added, but for removals (the last takes a removed one's
 * place): what a `Map<hash, …>` held, with an array by seat in place of the Map's table. Filling a Map with a
 * million targets (sizing's unsettled ones, in a first cycle) took about a second; this takes array writes.
 * A seat's entry counts only for the hash it was added with (see the contract above).
 */
export class SeatedSet {
  private members: Target[] = [];
  private marks: boolean[] = [];
  /** Per member, the seat it was added with (a member's own `seat` is -1 once released). */
  private memberSeat: number[] = [];
  /** Per seat, the member's position. */
  private readonly at = new SeatIndex();

  get size(): number {
    return this.members.length;
  }

  /** Adds `t` (seated) with `mark`, or gives it that mark when it is in. */
  set(t: Target, mark: boolean): void {
    const j = this.indexOf(t.hash, t.seat);
    if (j !== undefined) {
      this.members[j] = t;
      this.marks[j] = mark;
      return;
    }
    this.at.set(t.seat, this.members.length);
    this.members.push(t);
    this.marks.push(mark);
    this.memberSeat.push(t.seat);
  }

  /** Takes out the target `hash` added with `seat`; false when it is not in. */
  delete(hash: string, seat: number): boolean {
    const j = this.indexOf(hash, seat);
    if (j === undefined) return false;
    this.at.unset(seat);
    const last = this.members.pop()!;
    const lastMark = this.marks.pop()!;
    const lastSeat = this.memberSeat.pop()!;
    if (j < this.members.length) {
      this.members[j] = last;
      this.marks[j] = lastMark;
      this.memberSeat[j] = lastSeat;
      this.at.set(lastSeat, j);
    }
    return true;
  }

  clear(): void {
    this.members = [];
    this.marks = [];
    this.memberSeat = [];
    this.at.reset();
  }

  /** Calls `f` with each member and its mark, in order (see the header). */
  forEach(f: (t: Target, mark: boolean) => void): void {
    for (let j = 0; j < this.members.length; j++) f(this.members[j]!, this.marks[j]!);
  }

  /** The members' hashes, in order (a copy: the caller may change the set meanwhile). */
  hashes(): string[] {
    return this.members.map((t) => t.hash);
  }

  /** The member's position: the one added with `seat`, if its hash is `hash`. */
  private indexOf(hash: string, seat: number): number | undefined {
    const j = this.at.get(seat);
    return j >= 0 && this.members[j]!.hash === hash ? j : undefined;
  }
}
