/**
 * LocalIngestors (`kvass up --receive.ingestors`) with the real Prometheus: an ingestor whose port another process
 * took before its restart comes back on a new port, and the URLs the router and the view read follow it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../src/logger.js';
import { LocalIngestors } from '../../src/receive/local-ingestors.js';
import { findPidsByCommandLine } from '../../src/shard/local-process.js';
import { killAndTakePort, type HeldPort } from '../helpers/ports.js';
import { waitFor } from '../helpers/prometheus.js';
import { tempDir } from '../helpers/tmp.js';

const answersReady = async (url: string): Promise<boolean> => (await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) }).catch(() => null))?.ok ?? false;

test('an ingestor whose port was taken before its restart moves to a new one; writeUrl, readShards and ports.json follow', async () => {
  const dataDir = await tempDir('kvass-ingestors-');
  const ingestors = await LocalIngestors.start({ dataDir, count: 1, log: silentLogger() });
  let held: HeldPort | undefined;
  try {
    const first = ingestors.readShards(1)[0]!.url;
    await waitFor('the ingestor ready', () => answersReady(first), 30_000, 100);
    const portsFile = join(dataDir, 'ingestors', 'ingestor-0', 'ports.json');
    const port = Number(new URL(first).port);
    assert.deepEqual(JSON.parse(readFileSync(portsFile, 'utf8')), { prometheus: port });

    // Killed, and its port taken before the restart.
    const marker = `--storage.tsdb.path=${join(dataDir, 'ingestors', 'ingestor-0', 'tsdb')}`;
    ({ held } = await killAndTakePort('ingestor', () => findPidsByCommandLine(marker)[0], () => port));

    const moved = await waitFor('the ingestor on a new port', async () => {
      const url = ingestors.readShards(1)[0]!.url;
      return url !== first && (await answersReady(url)) ? url : undefined;
    }, 30_000, 100);
    const now = Number(new URL(moved).port);
    assert.equal(ingestors.writeUrl('ingestor-0'), `${moved}/api/v1/write`);
    assert.deepEqual(JSON.parse(readFileSync(portsFile, 'utf8')), { prometheus: now });
    const pid = findPidsByCommandLine(marker)[0]!;
    assert.ok(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(`--web.listen-address=127.0.0.1:${now}`));
  } finally {
    await ingestors.stop();
    await held?.close();
  }
});
