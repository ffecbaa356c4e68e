/**
 * Folders for tests under the system's temp dir, removed when the test file's process exits: a test that fails, or
 * one that leaves its shards' TSDBs behind, would otherwise leave them on the machine for good (CI machines run
 * the suite again and again).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];

process.once('exit', () => {
  for (const dir of made) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 2 });
    } catch {
      // A process the test left running still writes there: the folder stays (nothing else to do at exit).
    }
  }
});

/** A new folder named `<prefix>XXXXXX` (mkdtemp), removed at exit. */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** tempDir, synchronously. */
export function tempDirSync(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
