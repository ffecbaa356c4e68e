/**
 * Per target, the status that tells its size best among the sidecars read this cycle: up before down, then the
 * largest series, the first in read order on a tie (replica by replica, shard by shard).
 *
 * Why an index kept up to date instead of a map built each cycle: at a million targets that map cost about a
 * second per cycle in which anything changed, although a sidecar reports only the few statuses that moved
 * (sidecar-mirror.ts). Here a cycle costs what its sidecars reported, plus every target of a sidecar that joined
 * or left the set read (a restart, a shard that could not be read) or took another place in the read order.
 *
 * Why by seat (seats.ts): sizing reads the status of every target it sizes, and a restart sizes a million. Read
 * from a map of a million hashes, in the population's order and not the map's, that was about a second of a
 * restart's first cycle (the profile at 1M: 978 ms in the look-ups alone), and the map 37 bytes per target. A seated
 * target's status is read at its seat. The population's map tells a hash's seat where a sidecar's report names only
 * the hash; a hash the population does not hold (a target gone from discovery that a sidecar still scrapes) is kept
 * in a small map beside, so that its status is there again should it come back while the sidecar reports nothing new.
 */
import type { SeatRelease } from './seats.js';
import { MirrorReader, type HeldStatus, type SidecarMirror } from './sidecar-mirror.js';

/** A hash two or more sidecars report (a transfer, replicas), with the status chosen among them. */
class Several {
  best: HeldStatus | undefined;
  constructor(readonly hash: string, readonly mirrors: SidecarMirror[]) {}
}

/** What the index keeps for a hash: the status of the one sidecar reporting it, or its several holders. */
type Holder = HeldStatus | Several;

/** A target as the population seats it (population.ts): its hash and its seat. */
export interface Seated {
  readonly hash: string;
  readonly seat: number;
}

const NOT_SEATED = (): undefined => undefined;

export class MeasuredStatuses<T extends Seated = Seated> {
  /** The sidecars read in the last sync, with their place in the read order. */
  private place = new Map<SidecarMirror, number>();
  /**
   * Per seat, the holder of the hash seated there. One holder per target, nearly always the status itself, as its
   * sidecar's mirror holds it (its `from` tells the sidecar): a map of statuses beside one of holders was 40 bytes per
   * target more. A holder is read only for its own `hash`: a look-up between a population's update that failed half
   * way (seats given to other hashes) and the next one (which seats every target afresh: `followSeats(null)`) finds
   * nothing rather than another target's status.
   */
  private bySeat: Array<Holder | undefined> = [];
  /** The holders of hashes the population does not seat. */
  private readonly unseated = new Map<string, Holder>();

  /**
   * `targetOf`: the population's target of a hash, with its seat (undefined when it holds none); the index follows
   * the population's seats through `followSeats`. Without it every hash is kept in the map.
   */
  constructor(private readonly targetOf: (hash: string) => T | undefined = NOT_SEATED) {}

  private seatOf(hash: string): number {
    return this.targetOf(hash)?.seat ?? -1;
  }

  get(hash: string): HeldStatus | undefined {
    // Nothing ever held (a coordinator whose sidecars have not yet reported a target: its first placement of every
    // target asks about each): no look-up in the population's map of every target.
    if (this.bySeat.length === 0 && this.unseated.size === 0) return undefined;
    return statusOf(this.holderOf(hash, this.seatOf(hash)));
  }

  /** The status of a seated target, read at its seat. */
  at(t: { readonly hash: string; readonly seat: number }): HeldStatus | undefined {
    return statusOf(this.holderOf(t.hash, t.seat));
  }

  /**
   * Follows a change of the population: `released` the hashes it let go, each with the seat it held, `changed` the
   * hashes it touched, each as its hash or as the target the population now seats for it (null: every target seated
   * afresh). Called after each of the population's updates, before the next look-up or sync: a released hash's
   * holder moves to the map (its seat may be another hash's now), and one in the map whose hash the population seated
   * moves to its seat.
   */
  followSeats(changed: ReadonlyArray<string | Seated> | null, released: readonly SeatRelease[]): void {
    if (changed === null) {
      const all = [...this.unseated.values()];
      for (const x of this.bySeat) if (x !== undefined) all.push(x);
      this.bySeat = [];
      this.unseated.clear();
      for (const x of all) this.put(x.hash, this.seatOf(x.hash), x);
      return;
    }
    for (const { hash, seat } of released) {
      const x = seat < this.bySeat.length ? this.bySeat[seat] : undefined;
      if (x === undefined || x.hash !== hash) continue;
      this.bySeat[seat] = undefined;
      this.unseated.set(hash, x);
    }
    if (this.unseated.size === 0) return;
    for (const c of changed) {
      const h = typeof c === 'string' ? c : c.hash;
      const x = this.unseated.get(h);
      const seat = x === undefined ? -1 : typeof c === 'string' ? this.seatOf(h) : c.seat;
      if (seat < 0) continue;
      this.unseated.delete(h);
      this.put(h, seat, x);
    }
  }

  /**
   * Brings the index to the sidecars read this cycle, `mirrors` in read order. Returns the hashes whose status
   * may have changed, each with the population's target for it (as `targetOf` answered in this sync; undefined: it
   * holds none), so that the caller need not look it up again; every other hash has the same status object as
   * before. `tell` false: the caller sizes every target anyway (a restart, a new population), and gets an empty map
   * instead of a million hashes.
   */
  sync(mirrors: readonly SidecarMirror[], tell = true): Map<string, T | undefined> {
    const dirty = new Map<string, T | undefined>();
    // Hashes held by two or more sidecars before or after, with their seats: only theirs are chosen again (Several).
    const several = new Map<string, number>();
    const next = new Map<SidecarMirror, number>();
    mirrors.forEach((m, i) => next.set(m, i));
    // Each reported hash's seat: its target, looked up in the population's map of every target, is handed on with
    // the hash.
    const seatTold = (h: string): number => {
      const t = this.targetOf(h);
      if (tell) dirty.set(h, t);
      return t?.seat ?? -1;
    };
    for (const [m, i] of this.place) {
      if (next.get(m) === i) continue;
      // Left, or read at another place: its targets are taken out here and, if it stays, put back below.
      for (const h of [...m.statuses.keys(), ...m.takeChanged(MirrorReader.Measured)]) {
        const seat = seatTold(h);
        if (this.unhold(h, seat, m)) several.set(h, seat);
      }
    }
    for (const [m, i] of next) {
      const changed = m.takeChanged(MirrorReader.Measured);
      if (this.place.get(m) !== i) {
        // New in the read, or let go above: it holds nothing yet, so every target it reports now is all there is to do.
        for (const [h, st] of m.statuses) {
          const seat = seatTold(h);
          if (this.hold(h, seat, m, st)) several.set(h, seat);
        }
      } else {
        for (const h of changed) {
          const st = m.statuses.get(h);
          const seat = seatTold(h);
          if (st !== undefined ? this.hold(h, seat, m, st) : this.unhold(h, seat, m)) several.set(h, seat);
        }
      }
    }
    this.place = next;
    for (const [h, seat] of several) this.choose(h, seat);
    return dirty;
  }

  /** Forgets everything (a standby keeps no state of its own); the next sync reads every sidecar whole. */
  reset(mirrors: Iterable<SidecarMirror>): void {
    for (const m of mirrors) m.takeChanged(MirrorReader.Measured), m.takeChanged(MirrorReader.View);
    this.place = new Map();
    this.bySeat = [];
    this.unseated.clear();
  }

  /** The hash's holder: at `seat` (its seat, or -1) if it is kept there, else in the map. */
  private holderOf(hash: string, seat: number): Holder | undefined {
    // Bounded first: a read past an array's end looks through its prototypes (a million such in a first cycle).
    if (seat >= 0 && seat < this.bySeat.length) {
      const x = this.bySeat[seat];
      if (x !== undefined && x.hash === hash) return x;
    }
    return this.unseated.size > 0 ? this.unseated.get(hash) : undefined;
  }

  /** Keeps `x` (undefined: nothing) as the holder of `hash`, seated at `seat` (or -1). */
  private put(hash: string, seat: number, x: Holder | undefined): void {
    if (seat < 0) {
      if (x !== undefined) this.unseated.set(hash, x);
      else this.unseated.delete(hash);
      return;
    }
    const slots = this.bySeat;
    if (seat >= slots.length) {
      if (x === undefined) return;
      // Grown by pushes, so that the array stays packed (a length set past its end makes a sparse one).
      const length = Math.max(seat + 1, slots.length * 2, 1024);
      while (slots.length < length) slots.push(undefined);
    }
    slots[seat] = x;
  }

  /** Adds `m`, reporting `st`, to the holders of `h` (at `seat`, or -1); true when they are (now) several. */
  private hold(h: string, seat: number, m: SidecarMirror, st: HeldStatus): boolean {
    const held = this.holderOf(h, seat);
    if (held === undefined) {
      this.put(h, seat, st);
      return false;
    }
    if (!(held instanceof Several)) {
      if (held.from === m) {
        if (held !== st) this.put(h, seat, st);
        return false;
      }
      this.put(h, seat, new Several(h, [held.from, m]));
    } else if (!held.mirrors.includes(m)) held.mirrors.push(m);
    return true;
  }

  /** Takes `m` out of the holders of `h` (at `seat`, or -1); true when they were several. */
  private unhold(h: string, seat: number, m: SidecarMirror): boolean {
    const held = this.holderOf(h, seat);
    if (held === undefined) return false;
    if (!(held instanceof Several)) {
      if (held.from === m) this.put(h, seat, undefined);
      return false;
    }
    const k = held.mirrors.indexOf(m);
    if (k >= 0) held.mirrors.splice(k, 1);
    if (held.mirrors.length === 1) {
      // The one left, as it reports the target now; none: it lets go later in this sync (its change, or it left the read).
      this.put(h, seat, held.mirrors[0]!.statuses.get(h));
    }
    return true;
  }

  /** The status of a hash whose holders were several: chosen among them (none, or one left: nothing to choose). */
  private choose(h: string, seat: number): void {
    const held = this.holderOf(h, seat);
    if (!(held instanceof Several)) return;
    held.mirrors.sort((a, b) => this.place.get(a)! - this.place.get(b)!);
    let pick: HeldStatus | undefined;
    for (const m of held.mirrors) {
      const st = m.statuses.get(h)!;
      if (!pick || (st.health === 'up' && (pick.health !== 'up' || st.series > pick.series))) pick = st;
    }
    held.best = pick;
  }
}

function statusOf(x: Holder | undefined): HeldStatus | undefined {
  return x instanceof Several ? x.best : x;
}
