import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import {
  chmod,
  chown,
  mkdir,
  readdir,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { applyLayer } from './apply-layer.js';
import { directoryChangeSet } from './change-set.js';
import { setMtimes } from './test-support/fixtures.js';
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

describe('writeLayer reproducible mode', () => {
  async function twoCopies(): Promise<[string, string]> {
    const first = path.join(work, 'first');
    const second = path.join(work, 'second');
    await basicTree(first);
    await basicTree(second);
    await setMtimes(first, '@1600000000.1');
    await setMtimes(second, '@1700000000.2');
    return [first, second];
  }

  it('gives equal digests for copies with different mtimes', async () => {
    const [first, second] = await twoCopies();
    const a = await writeLayer(await directoryChangeSet(first), path.join(work, 'a'), {
      reproducible: true,
    });
    const b = await writeLayer(await directoryChangeSet(second), path.join(work, 'b'), {
      reproducible: true,
    });
    expect(b.digest).toBe(a.digest);
    expect(b.diffId).toBe(a.diffId);
  });

  it('keeps real mtimes without it', async () => {
    const [first, second] = await twoCopies();
    const a = await writeLayer(await directoryChangeSet(first), path.join(work, 'a'));
    const b = await writeLayer(await directoryChangeSet(second), path.join(work, 'b'));
    expect(b.diffId).not.toBe(a.diffId);
  });

  it('uses sourceDateEpoch for every entry', async () => {
    const root = path.join(work, 'root');
    await basicTree(root);
    const blob = path.join(work, 'layer');
    await writeLayer(await directoryChangeSet(root), blob, {
      reproducible: true,
      sourceDateEpoch: 1_234_567_890,
    });
    const listing = execFileSync('tar', ['--full-time', '--utc', '-tvzf', blob])
      .toString()
      .trim()
      .split('\n');
    expect(listing).toHaveLength(7);
    for (const line of listing) expect(line).toContain('2009-02-13 23:31:30');
  });

  it('reads SOURCE_DATE_EPOCH when no epoch is given', async () => {
    const root = path.join(work, 'root');
    await basicTree(root);
    const changeSet = await directoryChangeSet(root);
    const fromOption = await writeLayer(changeSet, path.join(work, 'a'), {
      reproducible: true,
      sourceDateEpoch: 86_400,
    });
    process.env['SOURCE_DATE_EPOCH'] = '86400';
    try {
      const fromEnvironment = await writeLayer(changeSet, path.join(work, 'b'), {
        reproducible: true,
      });
      expect(fromEnvironment.digest).toBe(fromOption.digest);
    } finally {
      delete process.env['SOURCE_DATE_EPOCH'];
    }
  });

  it('rejects an invalid epoch', async () => {
    await expect(
      writeLayer({ root: work, entries: [] }, path.join(work, 'x'), {
        reproducible: true,
        sourceDateEpoch: -5,
      }),
    ).rejects.toMatchObject({ code: 'INVALID_OPTION' });
  });
});

describe('writeLayer options', () => {
  it('labels zstd layers and zstd can read them', async () => {
    const root = path.join(work, 'root');
    await basicTree(root);
    const blob = path.join(work, 'layer.zst');
    const result = await writeLayer(await directoryChangeSet(root), blob, {
      compression: 'zstd',
      level: 5,
    });
    expect(result.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+zstd');
    const tar = execFileSync('zstd', ['-dc', blob]);
    expect(result.uncompressedSize).toBe(tar.length);
    expect(result.size).toBe((await stat(blob)).size);
  });

  it('uses the Docker media type when asked', async () => {
    const result = await writeLayer({ root: work, entries: [] }, path.join(work, 'x'), {
      mediaTypeFamily: 'docker',
    });
    expect(result.mediaType).toBe('application/vnd.docker.image.rootfs.diff.tar.gzip');
  });

  it('writes an uncompressed layer whose digest is its diffID', async () => {
    const root = path.join(work, 'root');
    await basicTree(root);
    const result = await writeLayer(await directoryChangeSet(root), path.join(work, 'layer.tar'), {
      compression: 'none',
    });
    expect(result.mediaType).toBe('application/vnd.oci.image.layer.v1.tar');
    expect(result.digest).toBe(result.diffId);
    expect(result.size).toBe(result.uncompressedSize);
  });

  for (const compression of ['gzip', 'zstd', 'none'] as const) {
    it(`reports a missing destination directory with ${compression}`, async () => {
      const destination = path.join(work, 'missing', 'layer');
      await expect(
        writeLayer({ root: work, entries: [] }, destination, { compression }),
      ).rejects.toMatchObject({
        code: 'WRITE_FAILED',
        message: expect.stringContaining(destination),
      });
    });
  }

  it('rejects a gzip level above 9', async () => {
    await expect(
      writeLayer({ root: work, entries: [] }, path.join(work, 'x'), { level: 10 }),
    ).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    });
  });

  it('writes user and group names', async () => {
    const root = path.join(work, 'root');
    await basicTree(root);
    const blob = path.join(work, 'layer');
    const ownerNames = { users: new Map([[1000, 'builder']]), groups: new Map([[1001, 'staff']]) };
    await writeLayer(await directoryChangeSet(root), blob, { ownerNames });
    expect(execFileSync('tar', ['-tvzf', blob]).toString()).toMatch(
      /^-rwsr-xr-x builder\/staff .* bin\/tool$/m,
    );
  });

  it('writes whiteouts for deletions', async () => {
    const blob = path.join(work, 'layer');
    await writeLayer(
      {
        root: work,
        entries: [
          { path: 'etc/gone', kind: 'delete' },
          { path: 'var/lib', kind: 'opaque' },
          { path: 'top', kind: 'delete' },
        ],
      },
      blob,
    );
    expect(execFileSync('tar', ['-tzf', blob]).toString().split('\n').filter(Boolean)).toEqual([
      '.wh.top',
      'etc/.wh.gone',
      'var/lib/.wh..wh..opq',
    ]);
  });

  it('rejects adding the root itself', async () => {
    await expect(
      writeLayer({ root: work, entries: [{ path: '', kind: 'add' }] }, path.join(work, 'x')),
    ).rejects.toMatchObject({
      code: 'INVALID_PATH',
    });
  });

  it('rejects a path that climbs out of the root', async () => {
    await expect(
      writeLayer(
        { root: work, entries: [{ path: '../etc/passwd', kind: 'add' }] },
        path.join(work, 'x'),
      ),
    ).rejects.toMatchObject({ code: 'INVALID_PATH' });
  });

  it('skips sockets as Docker does', async () => {
    const root = path.join(work, 'root');
    await mkdir(root);
    await writeFile(path.join(root, 'kept'), 'kept');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(path.join(root, 'control.sock'), resolve));
    try {
      const blob = path.join(work, 'layer');
      await writeLayer(await directoryChangeSet(root), blob);
      expect(execFileSync('tar', ['-tzf', blob]).toString()).toBe('kept\n');
    } finally {
      server.close();
    }
  });
});
