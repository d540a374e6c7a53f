import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveInRoot } from './rootfs-path.js';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'kiln-rootfs-path-'));
  await mkdir(path.join(root, 'usr/lib'), { recursive: true });
  await symlink('/usr/lib', path.join(root, 'lib'));
  await symlink('../../../../../etc', path.join(root, 'escape'));
  await symlink('/', path.join(root, 'top'));
  await symlink('loop', path.join(root, 'loop'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('resolveInRoot', () => {
  it('follows an absolute symlink inside the root', async () => {
    expect(await resolveInRoot(root, '/lib/x.so')).toBe(path.join(root, 'usr/lib/x.so'));
  });

  it('keeps relative links that climb out inside the root', async () => {
    expect(await resolveInRoot(root, '/escape/passwd')).toBe(path.join(root, 'etc/passwd'));
  });

  it('stops .. at the root', async () => {
    expect(await resolveInRoot(root, '../../etc/hosts')).toBe(path.join(root, 'etc/hosts'));
    expect(await resolveInRoot(root, '/top/top/etc')).toBe(path.join(root, 'etc'));
  });

  it('leaves the last link alone when asked', async () => {
    expect(await resolveInRoot(root, '/lib', { followFinal: false })).toBe(path.join(root, 'lib'));
  });

  it('rejects a symlink loop', async () => {
    await expect(resolveInRoot(root, '/loop/x')).rejects.toThrow(/symbolic links/);
  });
});
