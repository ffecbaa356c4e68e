/**
 * LocalIngestors (`kvass up --receive.ingestors`) with the real Prometheus: an ingestor whose port another process
 * took before its restart comes back on a new port, and the URLs the router and the view read follow it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { silentLogger } from '../../src/logger.js';
import { LocalIngestors } from '../../src/receive/local-ingestors.js';
import { findPidsByCommandLine, pidAlive } from '../../src/shard/local-process.js';
import { waitFor } from '../helpers/prometheus.js';
import { tempDir } from '../helpers/tmp.js';

const answersReady = async (url: string): Promise<boolean> => (await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) }).catch(() => null))?.ok ?? false;

function hold(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

test('an ingestor whose port was taken before its restart moves to a new one; writeUrl, readShards and ports.json follow', async () => {
  const dataDir = await tempDir('kvass-ingestors-');
  const ingestors = await LocalIngestors.start({ dataDir, count: 1, log: silentLogger() });
  const held: Server[] = [];
  try {
    const first = ingestors.readShards(1)[0]!.url;
    await waitFor('the ingestor ready', () => answersReady(first), 30_000, 100);
    const portsFile = join(dataDir, 'ingestors', 'ingestor-0', 'ports.json');
    const port = Number(new URL(first).port);
    assert.deepEqual(JSON.parse(readFileSync(portsFile, 'utf8')), { prometheus: port });

    // Killed, and its port taken before the restart (1 s after the exit, then 2 s, 4 s: should a restart win the
    // port first, kill it again). Until the killed process's connections are closed, the port cannot be bound.
    const marker = `--storage.tsdb.path=${join(dataDir, 'ingestors', 'ingestor-0', 'tsdb')}`;
    for (let attempt = 0; attempt < 4 && held.length === 0; attempt++) {
      const pid = await waitFor('the ingestor\'s process', async () => findPidsByCommandLine(marker)[0], 10_000, 50);
      process.kill(pid, 'SIGKILL');
      await waitFor('the killed ingestor to be gone', async () => !pidAlive(pid), 10_000, 20);
      const s = await waitFor('the port held by this test', () => hold(port).catch(() => undefined), 800, 10).catch(() => undefined);
      if (s) held.push(s);
      else await waitFor('the restarted ingestor', async () => findPidsByCommandLine(marker).some((p) => p !== pid), 10_000, 50);
    }
    assert.equal(held.length, 1, 'the killed ingestor\'s port could not be taken before its restart');

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
    await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
  }
});
