import { lstat, readdir, rmdir, unlink } from 'node:fs/promises';
import path from 'node:path';

/**
 * Removes everything under `root` except the `keep` paths (absolute paths as seen inside `root`)
 * and the directories that contain them. Symlinks are removed, never followed. An entry on another
 * device than `root` is a mount, so it is left in place even when `keep` misses it.
 * NOTE: on an overlayfs whose layers lie on different file systems (without xino), files report
 * the device of their layer, so they are left in place too.
 */
export async function emptyRoot(root: string, keep: readonly string[]): Promise<void> {
  const rootStats = await lstat(root);
  const kept = keep.map((p) => path.posix.normalize(path.posix.resolve('/', p)));
  await emptyDirectory(root, '', rootStats.dev, kept);
}

async function emptyDirectory(
  hostDir: string,
  relative: string,
  device: number,
  kept: readonly string[],
): Promise<void> {
  for (const name of await readdir(hostDir)) {
    const inside = `${relative}/${name}`;
    if (kept.some((p) => inside === p || inside.startsWith(`${p}/`))) continue;
    const hostPath = path.join(hostDir, name);
    if (kept.some((p) => p.startsWith(`${inside}/`))) {
      const stats = await lstat(hostPath);
      if (stats.isDirectory() && stats.dev === device) {
        await emptyDirectory(hostPath, inside, device, kept);
        continue;
      }
    }
    await removeTree(hostPath, device);
  }
}

/** Removes a file or directory tree without leaving `device`; returns false when something stayed. */
async function removeTree(hostPath: string, device: number): Promise<boolean> {
  const stats = await lstat(hostPath).catch(() => undefined);
  if (stats === undefined) return true;
  if (stats.dev !== device) return false;
  if (!stats.isDirectory()) {
    await unlink(hostPath);
    return true;
  }
  let empty = true;
  for (const name of await readdir(hostPath))
    if (!(await removeTree(path.join(hostPath, name), device))) empty = false;
  if (empty) await rmdir(hostPath);
  return empty;
}
