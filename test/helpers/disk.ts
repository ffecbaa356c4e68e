/** Disk failures for tests: a folder made unwritable, also for root (CI runs as root, where chmod does not stop writes). */
import { execFileSync } from 'node:child_process';
import { chmod, rename, rm, writeFile } from 'node:fs/promises';

/** Makes `dir` unwritable: chmod when not root, else `chattr +i`, else a file in its place (writes under it fail with ENOTDIR). */
export async function makeUnwritable(dir: string): Promise<{ how: string; restore: () => Promise<void> }> {
  if (process.getuid?.() !== 0) {
    await chmod(dir, 0o555);
    return { how: 'chmod 0555', restore: () => chmod(dir, 0o755) };
  }
  try {
    execFileSync('chattr', ['+i', dir], { stdio: 'ignore' });
    return { how: 'chattr +i', restore: async () => void execFileSync('chattr', ['-i', dir], { stdio: 'ignore' }) };
  } catch {
    const aside = `${dir}.aside`;
    await rename(dir, aside);
    await writeFile(dir, '');
    return { how: 'a file in its place', restore: async () => { await rm(dir); await rename(aside, dir); } };
  }
}
