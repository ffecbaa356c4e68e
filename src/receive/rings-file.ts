/**
 * The hashrings file in force: read at start (an invalid file stops the start with its reason), then re-read when
 * its size or mtime changes (checked every `checkMs`) and at every refresh interval. An invalid new version is
 * logged with its reason and the last good rings stay, as Thanos Receive does.
 */
import { readFile, stat } from 'node:fs/promises';
import type { Logger } from '../logger.js';
import { HashringsError, Rings, parseHashrings } from './hashring.js';

/** A hashrings file is a few endpoints per ring: 4 MiB is far beyond any real one. */
const MAX_FILE_BYTES = 4 << 20;

/** Every ring must have at least `rf` endpoints: a series has rf copies on distinct ingestors. */
export function replicationProblem(rings: Rings, rf: number): string | undefined {
  const short = rings.configs.find((c) => c.endpoints.length < rf);
  return short ? `hashring ${JSON.stringify(short.hashring)} has ${short.endpoints.length} endpoint(s), fewer than the replication factor ${rf}` : undefined;
}

async function load(file: string, rf: number): Promise<Rings> {
  const st = await stat(file).catch((e: Error) => {
    throw new HashringsError(`${file}: ${e.message}`);
  });
  if (st.size > MAX_FILE_BYTES) throw new HashringsError(`${file}: ${st.size} bytes is over the limit of ${MAX_FILE_BYTES}`);
  const rings = new Rings(parseHashrings(await readFile(file, 'utf8'), file));
  const problem = replicationProblem(rings, rf);
  if (problem) throw new HashringsError(`${file}: ${problem}`);
  return rings;
}

/** What Thanos ignores in a hashrings file (unknown fields, an unknown algorithm) is said, not silently dropped. */
function warn(log: Logger, file: string, rings: Rings): void {
  for (const c of rings.configs) for (const w of c.warnings ?? []) log.warn({ file, hashring: c.hashring, warning: w }, 'hashrings file');
}

export class RingsFile {
  private stamp = '';
  private timer?: NodeJS.Timeout;
  private lastFull = Date.now();

  private constructor(readonly file: string, private rings: Rings, private readonly rf: number, private readonly log: Logger, private readonly onChange: (r: Rings) => void) {}

  /** `rf`: the replication factor every ring must allow. */
  static async open(file: string, rf: number, log: Logger, refreshMs: number, onChange: (r: Rings) => void = () => undefined, checkMs = 2000): Promise<RingsFile> {
    const f = new RingsFile(file, await load(file, rf), rf, log, onChange);
    f.stamp = await f.currentStamp();
    onChange(f.rings);
    warn(log, file, f.rings);
    f.timer = setInterval(() => void f.check(refreshMs), Math.min(checkMs, refreshMs));
    f.timer.unref();
    return f;
  }

  current(): Rings {
    return this.rings;
  }

  private async currentStamp(): Promise<string> {
    const st = await stat(this.file).catch(() => undefined);
    return st ? `${st.ino}:${st.size}:${st.mtimeMs}` : 'missing';
  }

  private async check(refreshMs: number): Promise<void> {
    const stamp = await this.currentStamp();
    const due = Date.now() - this.lastFull >= refreshMs;
    if (stamp === this.stamp && !due) return;
    this.stamp = stamp;
    this.lastFull = Date.now();
    try {
      const next = await load(this.file, this.rf);
      if (JSON.stringify(next.configs) === JSON.stringify(this.rings.configs)) return;
      this.rings = next;
      this.onChange(next);
      this.log.info({ file: this.file, hashrings: next.configs.length }, 'hashrings reloaded');
      warn(this.log, this.file, next);
    } catch (e) {
      this.log.error({ file: this.file, err: (e as Error).message }, 'hashrings file refused; the last good rings stay');
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}
