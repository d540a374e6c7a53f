import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * Creates `dir` and its missing parents, like `mkdir -p`, one level at a time.
 * On Node 20.20 here, `mkdir('/proc/nope', { recursive: true })` did not settle within 5 s, while a
 * plain `mkdir` fails at once with ENOENT, so this rejects with that error instead.
 */
export async function ensureDirectory(dir: string): Promise<void> {
  const target = path.resolve(dir);
  try {
    await mkdir(target);
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if ((await stat(target)).isDirectory()) return;
      throw error;
    }
    const parent = path.dirname(target);
    if (code !== 'ENOENT' || parent === target) throw error;
    await ensureDirectory(parent);
  }
  try {
    await mkdir(target);
  } catch (error) {
    // Another process may have created it in the meantime.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || !(await stat(target)).isDirectory())
      throw error;
  }
}
