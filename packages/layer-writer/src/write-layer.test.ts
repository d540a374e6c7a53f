import { execFileSync } from 'node:child_process';
import { mkdir, rm, symlink, utimes, writeFile, chown, chmod, readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { applyLayer } from './apply-layer.js';
import { directoryChangeSet } from './change-set.js';
import { describeTree, makeTempDir } from './test-support/tree.js';
import { writeLayer } from './write-layer.js';

let work: string;

beforeEach(async () => {
  work = await makeTempDir('write');
});

afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

async function basicTree(root: string): Promise<void> {
  await mkdir(path.join(root, 'etc/app'), { recursive: true });
  await writeFile(path.join(root, 'etc/app/config'), 'key=value\n');
  await writeFile(path.join(root, 'etc/empty'), '');
  await mkdir(path.join(root, 'bin'));
  await writeFile(path.join(root, 'bin/tool'), Buffer.alloc(300_000, 7));
  // chown clears setuid, so it comes first.
  await chown(path.join(root, 'bin/tool'), 1000, 1001);
  await chmod(path.join(root, 'bin/tool'), 0o4755);
  await symlink('../etc/app/config', path.join(root, 'bin/config-link'));
  await utimes(path.join(root, 'etc/app/config'), 1_600_000_000.5, 1_600_000_000.123456);
}

describe('writeLayer', () => {
  it('writes a gzip layer that GNU tar lists', async () => {
    const root = path.join(work, 'root');
    await basicTree(root);
    const blob = path.join(work, 'layer.tar.gz');
    const result = await writeLayer(await directoryChangeSet(root), blob);

    expect(result.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
    expect(result.digest).toBe(
      `sha256:${execFileSync('sha256sum', [blob]).toString().split(' ')[0]}`,
    );
    const tar = execFileSync('gzip', ['-dc', blob]);
    expect(result.diffId).toBe(
      `sha256:${execFileSync('sha256sum', { input: tar }).toString().split(' ')[0]}`,
    );
    expect(result.uncompressedSize).toBe(tar.length);
    const listing = execFileSync('tar', ['-tvf', '-'], { input: tar }).toString();
    expect(listing).toMatch(/^-rwsr-xr-x 1000\/1001 +300000 .* bin\/tool$/m);
    expect(listing).toContain('bin/config-link -> ../etc/app/config');
    expect(
      execFileSync('tar', ['-tf', '-'], { input: tar }).toString().split('\n').filter(Boolean),
    ).toEqual([
      'bin/',
      'bin/config-link',
      'bin/tool',
      'etc/',
      'etc/app/',
      'etc/app/config',
      'etc/empty',
    ]);
  });

  it('leaves no file behind when the source is missing', async () => {
    const blob = path.join(work, 'layer.tar.gz');
    await expect(
      writeLayer({ root: path.join(work, 'none'), entries: [{ path: 'x', kind: 'add' }] }, blob),
    ).rejects.toMatchObject({
      code: 'SOURCE_UNREADABLE',
    });
    expect(await readdir(work)).toEqual([]);
  });
});

describe('applyLayer', () => {
  it('round-trips a basic tree', async () => {
    const root = path.join(work, 'root');
    await basicTree(root);
    const blob = path.join(work, 'layer.tar.gz');
    const written = await writeLayer(await directoryChangeSet(root), blob);
    const target = path.join(work, 'target');
    await mkdir(target);
    const applied = await applyLayer(blob, target);
    expect(applied.diffId).toBe(written.diffId);
    expect(await describeTree(target)).toEqual(await describeTree(root));
  });
});
