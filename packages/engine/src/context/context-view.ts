import {
  chmod,
  copyFile,
  link,
  lstat,
  lchown,
  mkdir,
  readdir,
  readlink,
  symlink,
  utimes,
} from 'node:fs/promises';
import path from 'node:path';
import type { DirectoryContext } from './build-context.js';

/**
 * Returns a directory that contains the context as the build reads it: only what `.dockerignore` keeps.
 * RUN bind mounts of the context use it, because BuildKit mounts the filtered context and the layer
 * cache keys such a RUN by the kept files only. Without ignore rules this is the context root.
 * Files are hard-linked into `dir`, so on one file system the view copies no data (else it copies).
 */
export async function filteredContextView(context: DirectoryContext, dir: string): Promise<string> {
  if (context.ignore.isEmpty) return context.root;
  await mkdir(dir, { recursive: true });
  await copyKept(context, context.root, dir);
  return dir;
}

async function copyKept(context: DirectoryContext, from: string, to: string): Promise<void> {
  for (const name of await readdir(from)) {
    const source = path.join(from, name);
    const target = path.join(to, name);
    const stats = await lstat(source);
    if (!context.includes(source, stats)) continue;
    if (stats.isDirectory()) {
      await mkdir(target);
      await copyKept(context, source, target);
      await chmod(target, stats.mode & 0o7777);
      await lchown(target, stats.uid, stats.gid);
      await utimes(target, stats.atime, stats.mtime);
    } else if (stats.isSymbolicLink()) {
      await symlink(await readlink(source), target);
      await lchown(target, stats.uid, stats.gid);
    } else if (stats.isFile()) {
      await link(source, target).catch(async (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EXDEV' && error.code !== 'EPERM') throw error;
        await copyFile(source, target);
        await chmod(target, stats.mode & 0o7777);
        await lchown(target, stats.uid, stats.gid);
        await utimes(target, stats.atime, stats.mtime);
      });
    }
    // Sockets, fifos and devices are left out, as COPY leaves them out of the context.
  }
}
