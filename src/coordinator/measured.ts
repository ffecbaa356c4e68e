/**
 * Per target, the status that tells its size best among the sidecars read this cycle: up before down, then the
 * largest series, the first in read order on a tie (replica by replica, shard by shard).
 *
 * Why an index kept up to date instead of a map built each cycle: at a million targets that map cost about a
 * second per cycle in which anything changed, although a sidecar reports only the few statuses that moved
 * (sidecar-mirror.ts). Here a cycle costs what its sidecars reported, plus every target of a sidecar that joined
 * or left the set read (a restart, a shard that could not be read) or took another place in the read order.
 */
import { MirrorReader, type HeldStatus, type SidecarMirror } from './sidecar-mirror.js';

export class MeasuredStatuses {
  /** The sidecars read in the last sync, with their place in the read order. */
  private place = new Map<SidecarMirror, number>();
  /**
   * Per target: the status of the one sidecar (of the last sync) reporting it, as that sidecar's mirror held it then
   * (its `from` tells the sidecar), or the sidecars when two or more do (a transfer, replicas). One look-up answers
   * `get` for nearly every target: a map of statuses beside one of holders was 40 bytes per target more and a
   * million entries to fill after a restart, and reading the status through the holder's own map a second look-up
   * (0.7 s in a restart's sizing).
   */
  private readonly holders = new Map<string, HeldStatus | SidecarMirror[]>();
  /** The status chosen for a hash held by two or more sidecars. */
  private readonly bestOfSeveral = new Map<string, HeldStatus>();

  get(hash: string): HeldStatus | undefined {
    const held = this.holders.get(hash);
    return Array.isArray(held) ? this.bestOfSeveral.get(hash) : held;
  }

  /**
   * Brings the index to the sidecars read this cycle, `mirrors` in read order. Returns the hashes whose status
   * may have changed; every other hash has the same status object as before. `tell` false: the caller sizes every
   * target anyway (a restart, a new population), and gets an empty set instead of a million hashes.
   */
  sync(mirrors: readonly SidecarMirror[], tell = true): Set<string> {
    const dirty = new Set<string>();
    // Hashes held by two or more sidecars before or after: only theirs are chosen again (see bestOfSeveral).
    const several = new Set<string>();
    const next = new Map<SidecarMirror, number>();
    mirrors.forEach((m, i) => next.set(m, i));
    for (const [m, i] of this.place) {
      if (next.get(m) === i) continue;
      // Left, or read at another place: its targets are taken out here and, if it stays, put back below.
      for (const h of [...m.statuses.keys(), ...m.takeChanged(MirrorReader.Measured)]) {
        if (this.unhold(h, m)) several.add(h);
        if (tell) dirty.add(h);
      }
    }
    for (const [m, i] of next) {
      const changed = m.takeChanged(MirrorReader.Measured);
      if (this.place.get(m) !== i) {
        // New in the read, or let go above: it holds nothing yet, so every target it reports now is all there is to do.
        for (const [h, st] of m.statuses) {
          if (this.hold(h, m, st)) several.add(h);
          if (tell) dirty.add(h);
        }
      } else {
        for (const h of changed) {
          const st = m.statuses.get(h);
          if (st !== undefined ? this.hold(h, m, st) : this.unhold(h, m)) several.add(h);
          if (tell) dirty.add(h);
        }
      }
    }
    this.place = next;
    for (const h of several) this.choose(h);
    return dirty;
  }

  /** Forgets everything (a standby keeps no state of its own); the next sync reads every sidecar whole. */
  reset(mirrors: Iterable<SidecarMirror>): void {
    for (const m of mirrors) m.takeChanged(MirrorReader.Measured), m.takeChanged(MirrorReader.View);
    this.place = new Map();
    this.holders.clear();
    this.bestOfSeveral.clear();
  }

  /** Adds `m`, reporting `st`, to the hash's holders; true when they are (now) several. */
  private hold(h: string, m: SidecarMirror, st: HeldStatus): boolean {
    const held = this.holders.get(h);
    if (held === undefined) {
      this.holders.set(h, st);
      return false;
    }
    if (!Array.isArray(held)) {
      if (held.from === m) {
        if (held !== st) this.holders.set(h, st);
        return false;
      }
      this.holders.set(h, [held.from, m]);
    } else if (!held.includes(m)) held.push(m);
    return true;
  }

  /** Takes `m` out of the hash's holders; true when they were several. */
  private unhold(h: string, m: SidecarMirror): boolean {
    const held = this.holders.get(h);
    if (held === undefined) return false;
    if (!Array.isArray(held)) {
      if (held.from === m) this.holders.delete(h);
      return false;
    }
    const k = held.indexOf(m);
    if (k >= 0) held.splice(k, 1);
    if (held.length === 1) {
      // The one left, as it reports the target now; none: it lets go later in this sync (its change, or it left the read).
      const st = held[0]!.statuses.get(h);
      if (st !== undefined) this.holders.set(h, st);
      else this.holders.delete(h);
    }
    return true;
  }

  /** The status of a hash whose holders were several: chosen among them (none, or one left: nothing to choose). */
  private choose(h: string): void {
    const held = this.holders.get(h);
    if (!Array.isArray(held)) {
      if (this.bestOfSeveral.size > 0) this.bestOfSeveral.delete(h);
      return;
    }
    held.sort((a, b) => this.place.get(a)! - this.place.get(b)!);
    let pick: HeldStatus | undefined;
    for (const m of held) {
      const st = m.statuses.get(h)!;
      if (!pick || (st.health === 'up' && (pick.health !== 'up' || st.series > pick.series))) pick = st;
    }
    this.bestOfSeveral.set(h, pick!);
  }
}
