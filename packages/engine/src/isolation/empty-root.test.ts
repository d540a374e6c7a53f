import { lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { emptyRoot } from './empty-root.js';

// Every case empties a fake root inside a temp dir; nothing here touches the machine's own /.
let dir: string;
let root: string;
let outside: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-empty-root-'));
  root = path.join(dir, 'root');
  outside = path.join(dir, 'outside');
  await mkdir(outside);
  await writeFile(path.join(outside, 'precious'), 'outside');
  for (const sub of ['bin', 'etc', 'kiln/blobs', 'var/run', 'var/lib/x', 'proc/1', 'workspace'])
    await mkdir(path.join(root, sub), { recursive: true });
  await writeFile(path.join(root, 'bin', 'busybox'), 'elf');
  await writeFile(path.join(root, 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\n');
  await writeFile(path.join(root, 'etc', 'hosts'), '127.0.0.1 localhost\n');
  await writeFile(path.join(root, 'kiln', 'blobs', 'blob'), 'blob');
  await writeFile(path.join(root, 'var', 'run', 'pid'), '1');
  await writeFile(path.join(root, 'var', 'lib', 'x', 'state'), 'state');
  await writeFile(path.join(root, 'workspace', 'Dockerfile'), 'FROM busybox\n');
  await symlink(outside, path.join(root, 'link-out'));
  await symlink(path.join(outside, 'precious'), path.join(root, 'etc', 'file-link'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const KEEP = ['/kiln', '/proc', '/etc/hosts', '/var/run', '/workspace/'];

describe('emptyRoot', () => {
  it('removes all but the kept paths', async () => {
    await emptyRoot(root, KEEP);
    expect((await readdir(root)).sort()).toEqual(['etc', 'kiln', 'proc', 'var', 'workspace']);
    expect(await readdir(path.join(root, 'etc'))).toEqual(['hosts']);
    expect(await readdir(path.join(root, 'var'))).toEqual(['run']);
    expect(await readFile(path.join(root, 'kiln', 'blobs', 'blob'), 'utf8')).toBe('blob');
    expect(await readFile(path.join(root, 'var', 'run', 'pid'), 'utf8')).toBe('1');
    expect(await readFile(path.join(root, 'workspace', 'Dockerfile'), 'utf8')).toBe(
      'FROM busybox\n',
    );
    expect(await readdir(path.join(root, 'proc'))).toEqual(['1']);
  });

  it('removes symlinks without following them', async () => {
    await emptyRoot(root, KEEP);
    expect(await readFile(path.join(outside, 'precious'), 'utf8')).toBe('outside');
    await expect(lstat(path.join(root, 'link-out'))).rejects.toThrow(/ENOENT/);
  });

  it('removes a symlink where a kept parent was expected', async () => {
    await rm(path.join(root, 'var'), { recursive: true });
    await symlink(outside, path.join(root, 'var'));
    await emptyRoot(root, KEEP);
    await expect(lstat(path.join(root, 'var'))).rejects.toThrow(/ENOENT/);
    expect(await readdir(outside)).toEqual(['precious']);
  });

  it('empties everything with no kept paths', async () => {
    await emptyRoot(root, []);
    expect(await readdir(root)).toEqual([]);
    expect(await readdir(outside)).toEqual(['precious']);
  });
});
