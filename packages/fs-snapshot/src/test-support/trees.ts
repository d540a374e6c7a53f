import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmod,
  chown,
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  rm,
  utimes,
} from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { getAttributeSync, listAttributesSync } from '@napi-rs/xattr';

import type { ChangeSet } from '../change-set.js';

export const run = promisify(execFile);

/**
 * Applies a change set to `target` the way an OCI layer is applied, for tests that have no layer
 * writer: `delete` removes the path, `opaque` empties the directory, `add` copies the entry.
 */
export async function applyChangeSet(changeSet: ChangeSet, target: string): Promise<void> {
  for (const { path, kind } of changeSet.entries) {
    const destination = join(target, path);
    if (kind === 'delete') {
      await rm(destination, { recursive: true, force: true });
      continue;
    }
    if (kind === 'opaque') {
      for (const name of await readdir(destination))
        await rm(join(destination, name), { recursive: true, force: true });
      continue;
    }
    const source = join(changeSet.root, path);
    const stats = await lstat(source);
    const existing = await lstat(destination).catch(() => undefined);
    if (stats.isDirectory() && existing?.isDirectory()) {
      await chmod(destination, stats.mode & 0o7777);
      await chown(destination, stats.uid, stats.gid);
      await utimes(destination, stats.atime, stats.mtime);
      continue;
    }
    await rm(destination, { recursive: true, force: true });
    if (stats.isDirectory()) {
      await mkdir(destination);
      await chmod(destination, stats.mode & 0o7777);
      await chown(destination, stats.uid, stats.gid);
    } else {
      await run('cp', ['-a', '--no-dereference', source, destination]);
    }
  }
}

/**
 * Lists a tree as one line per path (type, mode, owner, xattrs, size, content hash, link target,
 * and the mtime of non-directories), so two trees can be compared with one assertion.
 */
export async function describeTree(root: string, relative = ''): Promise<string[]> {
  const lines: string[] = [];
  const names = (await readdir(relative === '' ? root : join(root, relative))).sort();
  for (const name of names) {
    const path = relative === '' ? name : `${relative}/${name}`;
    const absolute = join(root, path);
    const stats = await lstat(absolute, { bigint: true });
    let detail = '';
    if (stats.isFile()) {
      detail = `${stats.size} ${createHash('sha256')
        .update(await readFile(absolute))
        .digest('hex')
        .slice(0, 12)}`;
    } else if (stats.isSymbolicLink()) {
      detail = `-> ${await readlink(absolute)}`;
    }
    // Microseconds, because Node's utimes() passes seconds as a double and so drops the last digits of the ns.
    const mtime = stats.isDirectory() ? '' : ` mtime=${stats.mtimeNs / 1000n}us`;
    const xattrs = describeXattrs(absolute, stats.isSymbolicLink());
    const owner = `${stats.uid}:${stats.gid}`;
    lines.push(
      `${path} mode=${stats.mode.toString(8)} owner=${owner}${mtime}${xattrs} ${detail}`.trimEnd(),
    );
    if (stats.isDirectory()) lines.push(...(await describeTree(root, path)));
  }
  return lines;
}

function describeXattrs(path: string, isSymlink: boolean): string {
  if (isSymlink) return '';
  const names = listAttributesSync(path).sort();
  return names.map((name) => ` ${name}=${getAttributeSync(path, name)?.toString('hex')}`).join('');
}
