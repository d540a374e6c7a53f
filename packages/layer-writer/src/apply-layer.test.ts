import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { chmod, chown, mkdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { applyLayer } from './apply-layer.js';
import { directoryChangeSet, type ChangeSetEntry } from './change-set.js';
import { buildEveryTypeTree, CAPABILITY, LONG_FILE, setMtimes } from './test-support/fixtures.js';
import { describeTree, makeTempDir } from './test-support/tree.js';
import { writeLayer, type WriteLayerOptions } from './write-layer.js';
import { writeXattrs } from './xattrs.js';

let work: string;

beforeEach(async () => {
  work = await makeTempDir('apply');
});

afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

async function roundTrip(options: WriteLayerOptions): Promise<{ source: string; target: string }> {
  const source = path.join(work, 'source');
  const target = path.join(work, 'target');
  await mkdir(source);
  await mkdir(target);
  await buildEveryTypeTree(source);
  const blob = path.join(work, 'layer');
  const written = await writeLayer(await directoryChangeSet(source), blob, options);
  const applied = await applyLayer(blob, target, { allowDevices: true });
  expect(applied.diffId).toBe(written.diffId);
  return { source, target };
}

describe('applyLayer round trip', () => {
  for (const compression of ['gzip', 'zstd', 'none'] as const) {
    it(`reproduces every entry type with ${compression}`, async () => {
      const { source, target } = await roundTrip({ compression });
      const expected = await describeTree(source);
      const actual = await describeTree(target);
      expect(Object.keys(actual)).toEqual(Object.keys(expected));
      for (const name of Object.keys(expected))
        expect({ name, ...actual[name] }).toEqual({ name, ...expected[name] });
    });
  }

  it('keeps attributes that matter', async () => {
    const { target } = await roundTrip({});
    const tree = await describeTree(target);
    expect(tree['dir/setuid']?.mode).toBe('4755');
    expect(tree['dir/setgid']?.mode).toBe('2711');
    expect(tree['tmp']?.mode).toBe('1777');
    expect(tree['empty']).toMatchObject({ uid: 3_000_000, gid: 3_000_001 });
    expect(tree['capability']?.xattrs).toEqual({
      'security.capability': CAPABILITY.toString('hex'),
    });
    expect(tree['hardlink']?.inode).toBe('dir/sub/another-hardlink');
    expect(tree['dev/null']).toMatchObject({ type: 'char', rdev: 0x103 });
    expect(tree[LONG_FILE]?.size).toBe(5);
    expect(tree['file.txt']?.mtimeUs).toBe(1_700_000_000_987_654n);
  });
});

describe('applyLayer change sets', () => {
  it('reproduces a changed tree on top of its base', async () => {
    const source = path.join(work, 'source');
    const target = path.join(work, 'target');
    await mkdir(target);
    await mkdir(path.join(source, 'etc/conf.d'), { recursive: true });
    await mkdir(path.join(source, 'var/cache/apt'), { recursive: true });
    await mkdir(path.join(source, 'opt/app'), { recursive: true });
    await writeFile(path.join(source, 'etc/conf.d/a'), 'a');
    await writeFile(path.join(source, 'etc/keep'), 'keep');
    await writeFile(path.join(source, 'etc/delete-me'), 'bye');
    await writeFile(path.join(source, 'var/cache/apt/pkg'), 'pkg');
    await writeFile(path.join(source, 'opt/app/old'), 'old');
    await writeFile(path.join(source, 'file-to-link'), 'data');
    await writeFile(path.join(source, 'file-to-dir'), 'data');
    await writeFile(path.join(source, 'chmod-me'), 'data');
    await applyLayer(await layerOf(source, 'base'), target);

    await rm(path.join(source, 'etc/delete-me'));
    await rm(path.join(source, 'var/cache'), { recursive: true });
    await rm(path.join(source, 'etc/conf.d'), { recursive: true });
    await writeFile(path.join(source, 'etc/conf.d'), 'now a file');
    await rm(path.join(source, 'opt/app/old'));
    await writeFile(path.join(source, 'opt/app/new'), 'new');
    await rm(path.join(source, 'file-to-link'));
    await symlink('etc/keep', path.join(source, 'file-to-link'));
    await rm(path.join(source, 'file-to-dir'));
    await mkdir(path.join(source, 'file-to-dir'));
    await writeFile(path.join(source, 'file-to-dir/inner'), 'inner');
    await chown(path.join(source, 'chmod-me'), 5, 6);
    await chmod(path.join(source, 'chmod-me'), 0o700);
    await setMtimes(source, '@1650000000.5');

    const changes: ChangeSetEntry[] = [
      { path: 'etc', kind: 'add' },
      { path: 'etc/delete-me', kind: 'delete' },
      { path: 'etc/conf.d', kind: 'add' },
      { path: 'var', kind: 'add' },
      { path: 'var/cache', kind: 'delete' },
      { path: 'opt/app', kind: 'add' },
      { path: 'opt/app', kind: 'opaque' },
      { path: 'opt/app/new', kind: 'add' },
      { path: 'file-to-link', kind: 'add' },
      { path: 'file-to-dir', kind: 'add' },
      { path: 'file-to-dir/inner', kind: 'add' },
      { path: 'chmod-me', kind: 'add' },
    ];
    const blob = path.join(work, 'changes');
    await writeLayer({ root: source, entries: changes }, blob);
    await applyLayer(blob, target);

    const expected = await describeTree(source, { mtimes: false });
    const actual = await describeTree(target, { mtimes: false });
    expect(actual).toEqual(expected);
  });

  it('keeps same-layer entries under an opaque directory', async () => {
    const target = path.join(work, 'target');
    await mkdir(path.join(target, 'app'), { recursive: true });
    await writeFile(path.join(target, 'app/lower'), 'lower');

    const source = path.join(work, 'source');
    await mkdir(path.join(source, 'app'), { recursive: true });
    // "-first" sorts before ".wh..wh..opq", so the marker arrives after a sibling of the same layer.
    await writeFile(path.join(source, 'app/-first'), 'upper');
    await writeFile(path.join(source, 'app/zlast'), 'upper');
    const blob = path.join(work, 'opaque');
    await writeLayer(
      {
        root: source,
        entries: [
          { path: 'app', kind: 'add' },
          { path: 'app/-first', kind: 'add' },
          { path: 'app', kind: 'opaque' },
          { path: 'app/zlast', kind: 'add' },
        ],
      },
      blob,
    );
    await applyLayer(blob, target);

    expect(Object.keys(await describeTree(target))).toEqual(['app', 'app/-first', 'app/zlast']);
  });

  it('replaces a directory with a file', async () => {
    const target = path.join(work, 'target');
    await mkdir(path.join(target, 'thing/deep'), { recursive: true });
    await writeFile(path.join(target, 'thing/deep/file'), 'x');
    const source = path.join(work, 'source');
    await mkdir(source);
    await writeFile(path.join(source, 'thing'), 'now a file');
    await applyLayer(await layerOf(source, 'replace'), target);

    expect(await readFile(path.join(target, 'thing'), 'utf8')).toBe('now a file');
  });
});

describe('applyLayer sources and options', () => {
  async function smallLayer(
    compression: 'gzip' | 'zstd' | 'none',
  ): Promise<{ blob: string; diffId: string }> {
    const source = path.join(work, 'source');
    await mkdir(path.join(source, 'etc'), { recursive: true });
    await writeFile(path.join(source, 'etc/hosts'), '127.0.0.1 localhost\n');
    await chown(path.join(source, 'etc/hosts'), 123, 456);
    writeXattrs(path.join(source, 'etc/hosts'), new Map([['user.kiln', Buffer.from('x')]]));
    const blob = path.join(work, `layer-${compression}`);
    const { diffId } = await writeLayer(await directoryChangeSet(source), blob, { compression });
    return { blob, diffId };
  }

  for (const compression of ['gzip', 'zstd', 'none'] as const) {
    it(`reads ${compression} from an opener`, async () => {
      const { blob, diffId } = await smallLayer(compression);
      const target = path.join(work, 'target');
      await mkdir(target);
      const applied = await applyLayer(() => createReadStream(blob, { highWaterMark: 3 }), target);
      expect(applied.diffId).toBe(diffId);
      expect(await readFile(path.join(target, 'etc/hosts'), 'utf8')).toBe('127.0.0.1 localhost\n');
    });
  }

  for (const compression of ['gzip', 'zstd', 'none'] as const) {
    it(`fails when a ${compression} source fails midway`, async () => {
      const { blob } = await smallLayer(compression);
      const data = await readFile(blob);
      const failing = (): NodeJS.ReadableStream =>
        Readable.from(
          (async function* () {
            yield data.subarray(0, 40);
            throw new Error('connection reset');
          })(),
        );
      const target = path.join(work, 'target');
      await mkdir(target);
      await expect(applyLayer(failing, target)).rejects.toThrow(/connection reset/);
    });
  }

  it('leaves owners and xattrs when asked', async () => {
    const { blob } = await smallLayer('gzip');
    const target = path.join(work, 'target');
    await mkdir(target);
    await applyLayer(blob, target, { preserveOwnership: false, xattrs: false });
    const tree = await describeTree(target);
    expect(tree['etc/hosts']).toMatchObject({ uid: 0, gid: 0 });
    expect(tree['etc/hosts']?.xattrs).toBeUndefined();
  });

  it('applies the root entry to the root itself', async () => {
    const target = path.join(work, 'target');
    await mkdir(target, { mode: 0o700 });
    const tar = path.join(work, 'root.tar');
    execFileSync('tar', ['-cf', tar, '--no-recursion', '-C', target, '.']);
    await chmod(target, 0o755);
    await applyLayer(tar, target);
    expect((await stat(target)).mode & 0o7777).toBe(0o700);
  });

  it('names a missing blob', async () => {
    await expect(applyLayer(path.join(work, 'missing'), work)).rejects.toMatchObject({
      code: 'APPLY_FAILED',
      message: expect.stringContaining('missing'),
    });
  });

  it('rejects a bzip2 layer', async () => {
    const blob = path.join(work, 'layer.bz2');
    await writeFile(blob, Buffer.from('BZh91AY&SY'));
    await expect(applyLayer(blob, work)).rejects.toMatchObject({ code: 'UNSUPPORTED_COMPRESSION' });
  });

  it('fails on a truncated gzip layer', async () => {
    const { blob } = await smallLayer('gzip');
    const data = await readFile(blob);
    await writeFile(blob, data.subarray(0, data.length - 20));
    const target = path.join(work, 'target');
    await mkdir(target);
    await expect(applyLayer(blob, target)).rejects.toMatchObject({ code: 'INVALID_TAR' });
  });
});

async function layerOf(root: string, name: string): Promise<string> {
  const blob = path.join(work, name);
  await writeLayer(await directoryChangeSet(root), blob);
  return blob;
}
