/** The Shards, Activity and What-if views: each draws one JSON answer into its section. */
import type { ConsoleData, ConsoleEvent, ShardsData, WhatIfData } from './api.js';
import { budgetBar, cell, el, naturalCompare, table, timeEl } from './table.js';

/** The budget and shard bounds, then one table per replica: a row per shard. */
export function drawShards(bounds: HTMLElement, out: HTMLElement, shards: ShardsData | undefined, cfg: ConsoleData | undefined): void {
  const budget = cfg?.budget;
  const replicas = shards?.replicas ?? [];
  const all = replicas.flatMap((r) => r.shards ?? []);
  const fact = (term: string, value: string): Node[] => [el('dt', {}, term), el('dd', {}, value)];
  bounds.replaceChildren(
    ...fact('Series budget per shard', budget !== undefined ? `${budget}` : 'unknown'),
    ...fact('Shard count bounds', cfg ? `${cfg.minShards} to ${cfg.maxShards}` : 'unknown'),
    ...(shards ? fact('Shards', `${all.length} (${all.filter((s) => s.ready).length} ready) in ${replicas.length} ${replicas.length === 1 ? 'replica' : 'replicas'}`) : []),
    ...(shards ? fact('Head series in all', `${all.reduce((n, s) => n + (s.headSeries || 0), 0)}`) : []),
  );
  if (!shards) return;
  if (replicas.length === 0 || all.length === 0) {
    out.replaceChildren(el('p', { class: 'muted' }, 'No shards yet.'));
    return;
  }
  const now = Date.now();
  out.replaceChildren(
    ...replicas.map((r) => {
      const t = table(`${r.name}: ${r.shards.length} ${r.shards.length === 1 ? 'shard' : 'shards'}`, ['Shard', 'Head series against the budget', 'Targets', 'Ready', 'Idle since'], { class: 'grid shards-table' });
      t.table.dataset.replica = r.name;
      for (const s of [...r.shards].sort((a, b) => naturalCompare(a.id, b.id))) {
        const bar = budgetBar(s.headSeries ?? 0, budget);
        bar.title = `head series ${s.headSeries}, series scraped through the sidecar ${s.processSeries}`;
        t.body.append(
          el(
            'tr',
            { 'data-shard': s.id },
            cell('Shard', { class: 'shard-id' }, el('span', { title: s.url }, s.id)),
            cell('Head series', { class: 'bar-cell' }, bar),
            cell('Targets', { class: 'num' }, s.targets ?? 0),
            cell('Ready', {}, s.ready ? el('span', { class: 'ok' }, '✓ ready') : el('span', { class: 'bad' }, '✗ not ready')),
            cell('Idle since', {}, s.idleSince ? timeEl(s.idleSince, now) : el('span', { class: 'muted' }, 'not idle')),
          ),
        );
      }
      return t.wrap;
    }),
  );
}

/** The events, newest first as the coordinator sends them. */
export function drawEvents(out: HTMLElement, events: readonly ConsoleEvent[]): void {
  if (events.length === 0) {
    out.replaceChildren(el('p', { class: 'muted' }, 'No events yet.'));
    return;
  }
  const t = table(`The last ${events.length} ${events.length === 1 ? 'event' : 'events'}, newest first`, ['Time', 'Kind', 'What happened', 'Result'], { id: 'events-table' });
  const now = Date.now();
  for (const e of events) {
    t.body.append(
      el(
        'tr',
        { class: e.ok ? undefined : 'failed' },
        cell('Time', { class: 'when' }, timeEl(e.time, now)),
        cell('Kind', {}, el('span', { class: 'badge badge-kind' }, e.kind)),
        cell('What happened', {}, e.message),
        cell('Result', {}, e.ok ? el('span', { class: 'ok' }, '✓ ok') : el('span', { class: 'bad' }, '✗ failed')),
      ),
    );
  }
  out.replaceChildren(t.wrap);
}

/** The planner's answer for another budget: how many shards, and what each would hold. */
export function drawWhatIf(out: HTMLElement, w: WhatIfData, currentShards: number | undefined): void {
  const summary = el(
    'p',
    { class: 'whatif-summary' },
    'With a budget of ',
    el('strong', {}, w.budget),
    ' series per shard the planner would use ',
    el('strong', { id: 'whatif-shards' }, w.shards),
    w.shards === 1 ? ' shard' : ' shards',
    currentShards !== undefined ? ` (now ${currentShards}).` : '.',
  );
  const t = table(`Placement with a budget of ${w.budget}`, ['Shard', 'Series against that budget', 'Targets'], { id: 'whatif-table' });
  for (const p of w.placement ?? []) {
    t.body.append(el('tr', {}, cell('Shard', {}, p.shard), cell('Series', { class: 'bar-cell' }, budgetBar(p.series, w.budget)), cell('Targets', { class: 'num' }, p.targets)));
  }
  out.replaceChildren(summary, t.wrap);
}
