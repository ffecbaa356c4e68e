/** Files kvass writes: atomically, and private (they hold secrets: tokens, credentials in configs). */
import { open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';

let tmpSeq = 0;

/**
 * Writes `data` to `file` atomically: temporary file (mode 0600: these files hold secrets), fsync, rename, fsync
 * of the folder. Concurrent writes of one file each have their own temporary file, and none is left behind.
 */
export async function writeFileAtomic(file: string, data: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${++tmpSeq}`;
  try {
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  const dir = await open(join(file, '..'), 'r').catch(() => undefined);
  if (dir) {
    await dir.sync().catch(() => undefined);
    await dir.close();
  }
}

