/**
 * Scrape slots of several copies of one series' samples (seconds), for checking a merged view against them: samples
 * of different copies within half an interval of a slot's first sample are one scrape. Two samples of one copy are
 * always two scrapes, however close: one Prometheus whose tick ran late scrapes twice in one interval, and a view
 * must show both, as that Prometheus does.
 */
export function scrapeSlots(copies: ReadonlyArray<readonly number[]>, intervalS: number): number[][] {
  const all = copies.flatMap((ts, copy) => ts.map((t) => ({ t, copy }))).sort((a, b) => a.t - b.t || a.copy - b.copy);
  const slots: Array<{ times: number[]; copies: Set<number> }> = [];
  for (const { t, copy } of all) {
    const open = slots.at(-1);
    if (open && t - open.times[0]! <= intervalS / 2 && !open.copies.has(copy)) {
      if (!open.times.includes(t)) open.times.push(t);
      open.copies.add(copy);
    } else slots.push({ times: [t], copies: new Set([copy]) });
  }
  return slots.map((s) => s.times);
}
