/** `static_configs`: fixed target groups, emitted once. Sources are the list indexes, as in Prometheus. */
import { readLabelSet, readMap, readStringList } from '../prom/decode.js';
import type { Labels } from '../prom/labels.js';
import type { Discoverer, SdMechanism, TargetGroup } from './types.js';

export interface StaticConfig {
  targets: Labels[];
  labels: Labels;
}

export class StaticDiscoverer implements Discoverer {
  constructor(private readonly groups: TargetGroup[]) {}

  async run(ctx: Parameters<Discoverer['run']>[0]): Promise<void> {
    ctx.emit(this.groups);
  }
}

export const staticSd: SdMechanism<StaticConfig> = {
  key: 'static_configs',
  read(raw, path) {
    const m = readMap(raw, path, 'static config', ['targets', 'labels']);
    return {
      targets: readStringList(m.targets, [...path, 'targets'], 'targets').map((address) => ({ __address__: address })),
      labels: readLabelSet(m.labels, [...path, 'labels'], 'labels'),
    };
  },
  create(cfg) {
    // Each static_configs entry is its own mechanism entry; the manager prefixes sources per entry, so "0" is unique.
    return new StaticDiscoverer([{ source: '0', targets: cfg.targets, labels: cfg.labels }]);
  },
};
