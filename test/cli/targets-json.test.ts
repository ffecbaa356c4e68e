/**
 * The streamed `--output=json` writer must print exactly what JSON.stringify(targetsApiData(jobs), null, 2)
 * prints: same key order, same escaping (quotes, controls, lone surrogates, non-ASCII), same empty forms.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/config.js';
import { jobDefaults, jobTargets } from '../../src/target/populate.js';
import { targetsApiData, type JobResult } from '../../src/cli/targets.js';
import { writeTargetsJson } from '../../src/cli/targets-json.js';
import type { TargetGroup } from '../../src/discovery/types.js';

async function written(jobs: JobResult[]): Promise<string> {
  let text = '';
  let writes = 0;
  // Every other write asks to wait for 'drain', so that the waiting path runs too.
  const sink = {
    write(chunk: string): boolean {
      text += chunk;
      return ++writes % 2 === 0;
    },
    on(event: 'drain' | 'close', listener: () => void): void {
      if (event === 'drain') setImmediate(listener);
    },
    off(): void {},
  };
  await writeTargetsJson(jobs, sink);
  return text;
}

const CONFIG = `
scrape_configs:
  - job_name: a
    params: { x: [y] }
    relabel_configs:
      - source_labels: [keep]
        regex: no
        action: drop
      - action: labelmap
        regex: __meta_(.+)
  - job_name: empty
`;

function groups(n: number): TargetGroup[] {
  const odd = ['q"uote', 'back\\\\slash', 'new\nline', 'tab\t\u0001', 'é ü 日本', '\u{1F600}', 'lone \ud800 x', '\u007f', ''];
  const out: TargetGroup[] = [];
  for (let i = 0; i < n; i++) {
    const labels: Record<string, string> = { __meta_z: odd[i % odd.length]!, b: `v${i}`, __meta_a: 'x', zz: odd[(i + 3) % odd.length]! };
    if (i % 4 === 0) labels.extra = 'e';
    out.push({
      source: `s${i}`,
      labels,
      targets: [{ __address__: `h${i}:80`, keep: i % 5 === 0 ? 'no' : 'yes' }, { __address__: `g${i}`, b: '' }],
    });
  }
  return out;
}

test('writeTargetsJson prints exactly what JSON.stringify of targetsApiData prints', async () => {
  const cfg = parseConfig(CONFIG, 'p.yml', '/tmp');
  const jobs: JobResult[] = cfg.scrapeConfigs.map((sc, i) => ({ job: sc.jobName, targets: jobTargets(i === 0 ? groups(60) : [], jobDefaults(sc)) }));
  assert.ok(jobs[0]!.targets.active.length > 0 && jobs[0]!.targets.dropped.length > 0);
  assert.equal(await written(jobs), JSON.stringify(targetsApiData(jobs), null, 2) + '\n');
});

test('writeTargetsJson with no targets at all', async () => {
  const jobs: JobResult[] = [{ job: 'j', targets: { active: [], dropped: [], failed: [] } }];
  assert.equal(await written(jobs), JSON.stringify(targetsApiData(jobs), null, 2) + '\n');
  assert.equal(await written([]), JSON.stringify(targetsApiData([]), null, 2) + '\n');
});

test('writeTargetsJson takes plain target objects too (not only those population built)', async () => {
  const t = { hash: 'h', job: 'j', labels: { __address__: 'a:1', __scrape_interval__: '1m', __scrape_timeout__: '10s', job: 'j', instance: 'a:1' }, discoveredLabels: { b: '1', a: '"2"' }, scrapeUrl: 'http://a:1/metrics', interval: 60000, timeout: 10000, seat: -1 };
  const jobs: JobResult[] = [{ job: 'j', targets: { active: [t], dropped: [{ job: 'j', discoveredLabels: { z: '', y: 'x' } }], failed: [] } }];
  assert.equal(await written(jobs), JSON.stringify(targetsApiData(jobs), null, 2) + '\n');
});
