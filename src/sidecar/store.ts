/**
 * The sidecar's disk state under --store.path: the assignment (and, when the configuration is pushed rather
 * than read from a file, that configuration), so a restarted sidecar scrapes on before the coordinator is back.
 * Every write goes to a temporary file that is synced and renamed over the old one: a crash leaves either the
 * old or the new file, never half of one. A file that cannot be read back is moved aside, logged, and the
 * sidecar starts empty rather than not at all.
 */
import { access, mkdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../logger.js';
import { readAssignment, type AssignedTargetSpec } from '../shard/contract.js';
import { readConfigText } from '../config/config.js';
import { writeFileAtomic } from '../files.js';

const ASSIGNMENT_FILE = 'assignment.json';
const CONFIG_FILE = 'config.yml';

export interface StoredAssignment {
  updatedAt: string;
  targets: AssignedTargetSpec[];
}

export class SidecarStore {
  constructor(readonly dir: string, private readonly log: Logger) {}

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  get assignmentFile(): string {
    return join(this.dir, ASSIGNMENT_FILE);
  }

  get configFile(): string {
    return join(this.dir, CONFIG_FILE);
  }

  async saveAssignment(targets: readonly AssignedTargetSpec[], now: Date): Promise<void> {
    const doc: StoredAssignment = { updatedAt: now.toISOString(), targets: [...targets] };
    await writeFileAtomic(this.assignmentFile, JSON.stringify({ version: 1, ...doc }) + '\n');
  }

  /** The stored assignment; null when there is none or it was corrupt (then it is moved aside). */
  async loadAssignment(): Promise<StoredAssignment | null> {
    let text: string;
    try {
      text = await readFile(this.assignmentFile, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    try {
      const doc = JSON.parse(text) as { version?: unknown; updatedAt?: unknown; targets?: unknown };
      if (doc.version !== 1) throw new Error(`unknown version ${JSON.stringify(doc.version)}`);
      const targets = readAssignment(doc);
      return { updatedAt: typeof doc.updatedAt === 'string' ? doc.updatedAt : '', targets };
    } catch (e) {
      await this.moveAside(this.assignmentFile, (e as Error).message);
      return null;
    }
  }

  async saveConfig(text: string): Promise<void> {
    await writeFileAtomic(this.configFile, text);
  }

  async loadConfig(): Promise<string | null> {
    try {
      return await readConfigText(this.configFile);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  /** Keeps a bad file for inspection under a new name and logs why. */
  async moveAside(file: string, why: string): Promise<void> {
    // Never over an earlier one: two bad files within a millisecond would otherwise leave only the last.
    const stamp = Date.now();
    let aside = `${file}.corrupt-${stamp}`;
    for (let n = 1; await access(aside).then(() => true, () => false); n++) aside = `${file}.corrupt-${stamp}-${n}`;
    await rename(file, aside).catch(() => undefined);
    this.log.error({ file, movedTo: aside, err: why }, 'corrupt store file moved aside; starting empty');
  }
}
