/**
 * Writes the injected config Prometheus loads and reloads Prometheus, only when the file's content changed.
 * Reloads are debounced: a burst of assignment updates gives one reload, once the burst has been quiet for
 * the debounce time (and at the latest after 5 debounce times, so a steady stream cannot starve reloads).
 * A reload that fails (Prometheus not up yet, or refusing the file) is retried with back-off until it works.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Logger } from '../logger.js';
import type { SidecarMetrics } from './metrics.js';
import type { PrometheusClient } from './prometheus.js';
import { writeFileAtomic } from '../files.js';

export class ConfigWriter {
  private current: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private firstPending = 0;
  private reloading: Promise<void> | null = null;
  private again = false;
  private retryMs = 0;
  private stopped = false;
  lastReloadError = '';
  /** Reloads that succeeded; tests and the API read it. */
  reloads = 0;

  /**
   * `reloadedFile` keeps the hash of the last content Prometheus reloaded successfully, so that a sidecar
   * killed between writing the file and reloading Prometheus reloads it when it starts again.
   */
  constructor(
    readonly file: string,
    private readonly reloadedFile: string,
    private readonly prometheus: PrometheusClient,
    private readonly debounceMs: number,
    private readonly metrics: SidecarMetrics,
    private readonly log: Logger,
  ) {}

  /**
   * Writes `text` when it differs from the file; returns whether it wrote (and so will reload). A write that fails
   * (disk full, read-only) is retried with back-off until it succeeds or another text replaces it; meanwhile
   * `writeError` says why, and the sidecar is not ready.
   */
  async write(text: string): Promise<boolean> {
    this.desired = text;
    if (this.writeTimer) {
      clearTimeout(this.writeTimer);
      this.writeTimer = null;
    }
    if (this.current === null) this.current = await readFile(this.file, 'utf8').catch(() => null);
    if (this.current === text) {
      this.writeError = '';
      return false;
    }
    try {
      await writeFileAtomic(this.file, text);
    } catch (e) {
      this.writeError = `cannot write the injected config ${this.file}: ${(e as Error).message}`;
      this.writeRetryMs = Math.min(30_000, this.writeRetryMs ? this.writeRetryMs * 2 : 500);
      this.log.error({ err: this.writeError, retryInMs: this.writeRetryMs }, 'injected config not written; will retry');
      if (!this.stopped) {
        this.writeTimer = setTimeout(() => {
          this.writeTimer = null;
          if (this.desired !== null) void this.write(this.desired);
        }, this.writeRetryMs);
      }
      return false;
    }
    this.writeError = '';
    this.writeRetryMs = 0;
    this.current = text;
    this.metrics.configWrites.inc();
    this.log.info({ file: this.file, bytes: Buffer.byteLength(text) }, 'injected config written');
    this.scheduleReload();
    return true;
  }

  private desired: string | null = null;
  private writeTimer: NodeJS.Timeout | null = null;
  private writeRetryMs = 0;
  /** Why the last write failed ("" when the file holds what it should). */
  writeError = '';

  /** Reloads Prometheus unless the file's content is the one it last reloaded successfully. */
  async ensureLoaded(): Promise<void> {
    const text = await readFile(this.file, 'utf8').catch(() => null);
    if (text === null) return;
    const last = (await readFile(this.reloadedFile, 'utf8').catch(() => '')).trim();
    if (last !== hashOf(text)) {
      this.log.info({ file: this.file }, 'the config file may not be loaded by Prometheus yet: reloading');
      this.scheduleReload();
    }
  }

  private scheduleReload(): void {
    if (this.stopped) return;
    const now = Date.now();
    if (this.timer === null) this.firstPending = now;
    else clearTimeout(this.timer);
    const wait = Math.max(0, Math.min(this.debounceMs, this.firstPending + 5 * this.debounceMs - now));
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.reload();
    }, wait);
  }

  private async reload(): Promise<void> {
    if (this.reloading) {
      this.again = true; // a write landed during the reload: one more afterwards
      return;
    }
    this.reloading = (async () => {
      try {
        const loaded = this.current;
        await this.prometheus.reload();
        if (loaded !== null) await writeFileAtomic(this.reloadedFile, hashOf(loaded) + '\n').catch(() => undefined);
        this.reloads++;
        this.retryMs = 0;
        this.lastReloadError = '';
        this.metrics.reloads.inc({ result: 'success' });
        this.log.info({ url: this.prometheus.baseUrl }, 'prometheus reloaded');
      } catch (e) {
        this.lastReloadError = (e as Error).message;
        this.metrics.reloads.inc({ result: 'failure' });
        this.retryMs = Math.min(30_000, this.retryMs ? this.retryMs * 2 : 500);
        this.log.warn({ err: this.lastReloadError, retryInMs: this.retryMs }, 'prometheus reload failed; will retry');
        if (!this.stopped && this.timer === null) {
          this.timer = setTimeout(() => {
            this.timer = null;
            void this.reload();
          }, this.retryMs);
        }
      }
    })();
    await this.reloading;
    this.reloading = null;
    if (this.again) {
      this.again = false;
      this.scheduleReload();
    }
  }

  /** True while a write has not yet been followed by a successful reload. */
  get pending(): boolean {
    return this.timer !== null || this.reloading !== null;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.writeTimer) clearTimeout(this.writeTimer);
    this.timer = null;
    this.writeTimer = null;
  }
}

function hashOf(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
