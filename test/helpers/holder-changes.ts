/** What changed between two pictures of which ordinals hold each target: per target, the ordinals it gained and lost. */
export function holderChanges(was: ReadonlyMap<string, readonly number[]>, now: ReadonlyMap<string, readonly number[]>): Map<string, { added: number[]; removed: number[] }> {
  const changes = new Map<string, { added: number[]; removed: number[] }>();
  for (const hash of new Set([...now.keys(), ...was.keys()])) {
    const before = was.get(hash) ?? [];
    const after = now.get(hash) ?? [];
    const added = after.filter((o) => !before.includes(o));
    const removed = before.filter((o) => !after.includes(o));
    if (added.length || removed.length) changes.set(hash, { added, removed });
  }
  return changes;
}
