import { createReadStream } from 'node:fs';
import { lstat, readFile, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import type { BuildContextReader, ContextFileInfo } from '@kiln/plugin-api';

/**
 * Creates a build context reader over a local directory, for tests: no `.dockerignore`, and `list`
 * matches exact paths only. Paths that leave the directory read as missing.
 */
export function directoryContext(root: string): BuildContextReader {
  const hostPath = (path: string): string | undefined => {
    const clean = posix.normalize(path.replace(/^\/+/, ''));
    return clean === '..' || clean.startsWith('../') ? undefined : join(root, clean);
  };

  const stat = async (path: string): Promise<ContextFileInfo | undefined> => {
    const host = hostPath(path);
    const info = host === undefined ? undefined : await lstat(host).catch(() => undefined);
    if (host === undefined || info === undefined) return undefined;
    const type = info.isFile()
      ? 'file'
      : info.isDirectory()
        ? 'directory'
        : info.isSymbolicLink()
          ? 'symlink'
          : 'other';
    const entry: ContextFileInfo = { path, type, mode: info.mode & 0o7777, size: info.size };
    if (type === 'symlink') entry.linkTarget = await readlink(host);
    return entry;
  };

  const requireFile = async (path: string): Promise<string> => {
    const info = await stat(path);
    if (info?.type !== 'file') throw new Error(`${path} is not a file in the build context`);
    return hostPath(path) as string;
  };

  return {
    stat,
    list: async (pattern) => {
      const info = await stat(pattern);
      return info === undefined ? [] : [info];
    },
    open: async (path): Promise<Readable> => createReadStream(await requireFile(path)),
    readText: async (path) => readFile(await requireFile(path), 'utf8'),
  };
}
