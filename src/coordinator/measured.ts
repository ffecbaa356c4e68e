/**
 * Per target, the status that tells its size best among the sidecars read this cycle: up before down, then the
 * largest series, the first in read order on a tie (replica by replica, shard by shard).
 *
 * Why an index kept up to date instead of a map built each cycle: at a million targets that map cost about a
 * second per cycle in which anything changed, although a sidecar reports only the few statuses that moved
 * (sidecar-mirror.ts). Here a cycle costs what its sidecars reported, plus every target of a sidecar that joined
 * or left the set read (a restart, a shard that could not be read) or took another place in the read order.
 */
import type { TargetStatus } from '../shard/contract.js';
import { MirrorReader, type SidecarMirror } from './sidecar-mirror.js';

export class MeasuredStatuses {
  /** The sidecars read in the last sync, with their place in the read order. */
  private place = new Map<SidecarMirror, number>();
  /**
   * Per target: the sidecars (of the last sync) reporting it. Usually one, held as itself (an array per target
   * costs 56 bytes, 56 MB at a million); an array of two or more during a transfer or with replicas.
   */
  private readonly holders = new Map<string, SidecarMirror | SidecarMirror[]>();
  private readonly best = new Map<string, TargetStatus>();

  get(hash: string): TargetStatus | undefined {
    return this.best.get(hash);
  }

  /**
   * Brings the index to the sidecars read this cycle, `mirrors` in read order. Returns the hashes whose status
   * may have changed; every other hash has the same status object as before.
   */
  sync(mirrors: readonly SidecarMirror[]): Set<string> {
    const dirty = new Set<string>();
    const next = new Map<SidecarMirror, number>();
    mirrors.forEach((m, i) => next.set(m, i));
    for (const [m, i] of this.place) {
      if (next.get(m) === i) continue;
      // Left, or read at another place: its targets are taken out here and, if it stays, put back below.
      for (const h of [...m.statuses.keys(), ...m.takeChanged(MirrorReader.Measured)]) {
        this.unhold(h, m);
        dirty.add(h);
      }
    }
    for (const [m, i] of next) {
      const same = this.place.get(m) === i;
      const hashes = same ? m.takeChanged(MirrorReader.Measured) : [...m.statuses.keys(), ...m.takeChanged(MirrorReader.Measured)];
      for (const h of hashes) {
        if (m.statuses.has(h)) this.hold(h, m);
        else this.unhold(h, m);
        dirty.add(h);
      }
    }
    this.place = next;
    for (const h of dirty) this.choose(h);
    return dirty;
  }

  /** Forgets everything (a standby keeps no state of its own); the next sync reads every sidecar whole. */
  reset(mirrors: Iterable<SidecarMirror>): void {
    for (const m of mirrors) m.takeChanged(MirrorReader.Measured), m.takeChanged(MirrorReader.View);
    this.place = new Map();
    this.holders.clear();
    this.best.clear();
  }

  private hold(h: string, m: SidecarMirror): void {
    const held = this.holders.get(h);
    if (held === undefined) this.holders.set(h, m);
    else if (!Array.isArray(held)) {
      if (held !== m) this.holders.set(h, [held, m]);
    } else if (!held.includes(m)) held.push(m);
  }

  private unhold(h: string, m: SidecarMirror): void {
    const held = this.holders.get(h);
    if (held === undefined) return;
    if (!Array.isArray(held)) {
      if (held === m) this.holders.delete(h);
      return;
    }
    const k = held.indexOf(m);
    if (k < 0) return;
    held.splice(k, 1);
    if (held.length === 1) this.holders.set(h, held[0]!);
  }

  private choose(h: string): void {
    const held = this.holders.get(h);
    if (held === undefined) {
      this.best.delete(h);
      return;
    }
    if (!Array.isArray(held)) {
      this.best.set(h, held.statuses.get(h)!);
      return;
    }
    held.sort((a, b) => this.place.get(a)! - this.place.get(b)!);
    let pick: TargetStatus | undefined;
    for (const m of held) {
      const st = m.statuses.get(h)!;
      if (!pick || (st.health === 'up' && (pick.health !== 'up' || st.series > pick.series))) pick = st;
    }
    this.best.set(h, pick!);
  }
}
