/**
 * The ingestors of `kvass up --receive.listen-address`: real Prometheus processes with the remote-write receiver,
 * one folder each under `<data-dir>/ingestors/ingestor-<i>`, watched and restarted (local-process.ts). Each has an
 * external label `receive_replica=ingestor-<i>` (the global view deduplicates the copies of a series by it) and an
 * out-of-order window, so that an agent's batch retried after a partial failure is taken, not refused.
 * Ring endpoints name them `ingestor-<i>`; the router maps the name to the ingestor's port.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../logger.js';
import { WatchedProcess } from '../shard/local-process.js';
import { PortAllocator } from '../shard/local-shard.js';

export const RECEIVE_REPLICA_LABEL = 'receive_replica';

export interface IngestorShard {
  name: string;
  url: string;
  replica: number;
  ordinal: number;
  copies: { group: string; replication: number };
}

interface Ingestor {
  name: string;
  /** Chosen at start; another one when a process took it before a (re)start. */
  readonly port: number;
  process: WatchedProcess;
}

/** Ordinals of ingestors as read shards: far from the scraping shards' (the gateway groups copies by ordinal). */
const ORDINAL_BASE = 1_000_000;

export class LocalIngestors {
  private constructor(private readonly list: Ingestor[]) {}

  static async start(o: { dataDir: string; count: number; log: Logger; prometheusBinary?: string }): Promise<LocalIngestors> {
    const ports = new PortAllocator();
    const list: Ingestor[] = [];
    for (let i = 0; i < o.count; i++) {
      const name = `ingestor-${i}`;
      const dir = join(o.dataDir, 'ingestors', name);
      await mkdir(join(dir, 'tsdb'), { recursive: true, mode: 0o700 });
      const config = join(dir, 'prometheus.yml');
      await writeFile(config, `# Written by kvass up: a remote-write ingestor.\nglobal:\n  external_labels: {${RECEIVE_REPLICA_LABEL}: ${name}}\nstorage:\n  tsdb: {out_of_order_time_window: 30m}\n`, { mode: 0o600 });
      let port = await ports.one();
      const portsFile = join(dir, 'ports.json');
      await writeFile(portsFile, `${JSON.stringify({ prometheus: port })}\n`); // for people and tests
      const process = new WatchedProcess({
        label: `${name} prometheus`, command: o.prometheusBinary ?? 'prometheus', cwd: dir, logFile: join(dir, 'prometheus.log'), log: o.log,
        args: () => [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`, '--web.enable-remote-write-receiver', '--storage.tsdb.retention.time=1d', `--web.page-title=kvass ${name}`],
        onPid: () => undefined,
        // A port another process took meanwhile: the ingestor moves, and the router and the view read its URLs anew
        // (writeUrl, readShards).
        beforeStart: async () => {
          const taken = port;
          port = await ports.keepOrReplace(port);
          if (port === taken) return;
          await writeFile(portsFile, `${JSON.stringify({ prometheus: port })}\n`);
          o.log.warn({ ingestor: name, taken, port }, 'the ingestor\'s port is held by another process: it moves to a new one');
        },
      });
      list.push({ name, process, get port() { return port; } });
    }
    await Promise.all(list.map((g) => g.process.start()));
    o.log.info({ ingestors: list.map((g) => `${g.name}=127.0.0.1:${g.port}`) }, 'ingestors started');
    return new LocalIngestors(list);
  }

  names(): string[] {
    return this.list.map((g) => g.name);
  }

  /** The remote-write URL of `ingestor-<i>`, or undefined for another name. */
  writeUrl(endpoint: string): string | undefined {
    const g = this.list.find((x) => x.name === endpoint);
    return g ? `http://127.0.0.1:${g.port}/api/v1/write` : undefined;
  }

  /**
   * The ingestors as read shards of the global view (their Prometheus answers remote read): with `replication`
   * copies of every series, the view is complete while fewer than that many ingestors fail.
   */
  readShards(replication: number): IngestorShard[] {
    return this.list.map((g, i) => ({ name: g.name, url: `http://127.0.0.1:${g.port}`, replica: 0, ordinal: ORDINAL_BASE + i, copies: { group: 'ingestors', replication } }));
  }

  async stop(): Promise<void> {
    await Promise.all(this.list.map((g) => g.process.stop()));
  }
}
