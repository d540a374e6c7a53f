import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmod, chown, cp, link, mkdir, rmdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { umociUnpack } from '../checks.js';
import { makeTempDir, runCommand } from '../process.js';
import { compareImages, compareTrees, formatDifference } from './compare.js';
import type { ImageDifference } from './compare.js';
import { BUILD_NOISE_IGNORES } from './ignore.js';
import { readTree } from './tree.js';

/** Writes a small tree; `variant` changes one thing of each kind that the comparison checks. */
async function writeTree(root: string, variant: boolean): Promise<void> {
  await mkdir(join(root, 'etc'), { recursive: true });
  await mkdir(join(root, 'data'), { recursive: true });
  await writeFile(join(root, 'etc', 'same.conf'), 'same\n');
  await writeFile(join(root, 'etc', 'content.conf'), variant ? 'value=2\n' : 'value=1\n');
  await writeFile(join(root, 'etc', 'size.conf'), variant ? 'longer value\n' : 'short\n');
  await writeFile(join(root, 'etc', 'mode.conf'), 'm\n', { mode: variant ? 0o600 : 0o644 });
  await chmod(join(root, 'etc', 'mode.conf'), variant ? 0o600 : 0o644);
  await writeFile(join(root, 'data', 'owned-uid'), 'u\n');
  await chown(join(root, 'data', 'owned-uid'), variant ? 1000 : 0, 0);
  await writeFile(join(root, 'data', 'owned-gid'), 'g\n');
  await chown(join(root, 'data', 'owned-gid'), 0, variant ? 1000 : 0);
  await symlink(variant ? 'content.conf' : 'same.conf', join(root, 'etc', 'link'));
  if (variant) await mkdir(join(root, 'data', 'kind'));
  else await writeFile(join(root, 'data', 'kind'), '');
  await writeFile(join(root, 'data', 'original'), 'shared\n');
  if (variant) await writeFile(join(root, 'data', 'copy'), 'shared\n');
  else await link(join(root, 'data', 'original'), join(root, 'data', 'copy'));
  await writeFile(join(root, 'data', 'labelled'), 'x\n');
  setXattr(join(root, 'data', 'labelled'), variant ? 'two' : 'one');
  await writeFile(join(root, variant ? 'only-b' : 'only-a'), '');
  await mkdir(join(root, 'var', 'log'), { recursive: true });
  await writeFile(join(root, 'var', 'log', 'dpkg.log'), variant ? 'later\n' : 'earlier\n');
}

function setXattr(path: string, value: string): void {
  const result = spawnSync('setfattr', ['-n', 'user.kiln', '-v', value, path]);
  if (result.status !== 0) throw new Error(`setfattr failed: ${result.stderr.toString()}`);
}

/** Makes an OCI layout with umoci whose one layer is `rootfs`, then applies `config` flags. */
async function makeLayout(work: string, name: string, rootfs: string, config: string[]) {
  const layout = join(work, `${name}-layout`);
  const image = `${layout}:latest`;
  const bundle = join(work, `${name}-bundle`);
  await runCommand('umoci', ['init', '--layout', layout]);
  await runCommand('umoci', ['new', '--image', image]);
  await runCommand('umoci', ['unpack', '--image', image, bundle]);
  await rmdir(join(bundle, 'rootfs'));
  await cp(rootfs, join(bundle, 'rootfs'), { recursive: true, verbatimSymlinks: true });
  await runCommand('umoci', ['repack', '--image', image, bundle]);
  await runCommand('umoci', ['config', '--image', image, ...config]);
  return layout;
}

function find(differences: ImageDifference[], path: string): ImageDifference[] {
  return differences.filter((d) => d.kind !== 'config' && d.path === path);
}

describe('compareTrees', () => {
  let differences: ImageDifference[];

  beforeAll(async () => {
    const work = await makeTempDir('compare-tree');
    await writeTree(join(work, 'a'), false);
    await writeTree(join(work, 'b'), true);
    differences = compareTrees(await readTree(join(work, 'a')), await readTree(join(work, 'b')));
  });

  it('detects content and size changes', () => {
    expect(
      find(differences, '/etc/content.conf').map((d) => d.kind === 'entry' && d.field),
    ).toEqual(['digest']);
    expect(find(differences, '/etc/size.conf').map((d) => d.kind === 'entry' && d.field)).toEqual([
      'size',
      'digest',
    ]);
  });

  it('detects mode, uid and gid changes', () => {
    expect(find(differences, '/etc/mode.conf')).toEqual([
      { kind: 'entry', path: '/etc/mode.conf', field: 'mode', a: 0o644, b: 0o600 },
    ]);
    expect(find(differences, '/data/owned-uid')).toEqual([
      { kind: 'entry', path: '/data/owned-uid', field: 'uid', a: 0, b: 1000 },
    ]);
    expect(find(differences, '/data/owned-gid')).toEqual([
      { kind: 'entry', path: '/data/owned-gid', field: 'gid', a: 0, b: 1000 },
    ]);
  });

  it('detects link target, type and hardlink changes', () => {
    expect(find(differences, '/etc/link')).toEqual([
      { kind: 'entry', path: '/etc/link', field: 'linkTarget', a: 'same.conf', b: 'content.conf' },
    ]);
    const kind = find(differences, '/data/kind');
    expect(kind[0]).toEqual({
      kind: 'entry',
      path: '/data/kind',
      field: 'type',
      a: 'file',
      b: 'directory',
    });
    // `/data/copy` sorts before `/data/original`, so the copy is the first path of the inode.
    expect(find(differences, '/data/original')).toEqual([
      { kind: 'entry', path: '/data/original', field: 'hardlinkOf', a: '/data/copy', b: undefined },
    ]);
    expect(find(differences, '/data/copy')).toEqual([]);
  });

  it('detects xattr changes', () => {
    expect(find(differences, '/data/labelled')).toEqual([
      {
        kind: 'entry',
        path: '/data/labelled',
        field: 'xattrs',
        a: { 'user.kiln': '0x6f6e65' },
        b: { 'user.kiln': '0x74776f' },
      },
    ]);
  });

  it('detects paths present on one side', () => {
    expect(find(differences, '/only-a')).toEqual([
      { kind: 'only-in', side: 'a', path: '/only-a', type: 'file' },
    ]);
    expect(find(differences, '/only-b')).toEqual([
      { kind: 'only-in', side: 'b', path: '/only-b', type: 'file' },
    ]);
  });

  it('reports nothing for identical entries', () => {
    expect(find(differences, '/etc/same.conf')).toEqual([]);
    expect(find(differences, '/etc')).toEqual([]);
  });
});

describe('compareImages', () => {
  let work: string;
  let layoutA: string;
  let layoutB: string;

  beforeAll(async () => {
    work = await makeTempDir('compare-images');
    await writeTree(join(work, 'a'), false);
    await writeTree(join(work, 'b'), true);
    layoutA = await makeLayout(work, 'a', join(work, 'a'), [
      '--config.env',
      'MODE=a',
      '--config.cmd',
      'sh',
      '--config.exposedports',
      '80/tcp',
    ]);
    layoutB = await makeLayout(work, 'b', join(work, 'b'), [
      '--config.env',
      'MODE=b',
      '--config.cmd',
      'sh',
      '--config.volume',
      '/data',
    ]);
  });

  it('finds no differences between an image and itself', async () => {
    const result = await compareImages(
      { layoutDir: layoutA },
      { layoutDir: layoutA, tag: 'latest' },
    );
    expect(result.differences).toEqual([]);
    expect(result.entryCount.a).toBeGreaterThan(10);
  });

  it('reports file and config differences', async () => {
    const result = await compareImages({ layoutDir: layoutA }, { layoutDir: layoutB });
    const lines = result.differences.map(formatDifference);
    expect(lines).toContain('/etc/mode.conf: mode 0644 != 0600');
    expect(lines).toContain('/only-b: file only in B');
    expect(lines.filter((line) => line.startsWith('/var/log/dpkg.log: '))).toHaveLength(2);
    const config = result.differences.filter((d) => d.kind === 'config');
    expect(config.map((d) => d.field).sort()).toEqual(['Env', 'ExposedPorts', 'Volumes']);
    expect(config.find((d) => d.field === 'Volumes')).toMatchObject({
      a: undefined,
      b: { '/data': {} },
    });
  });

  it('accepts ignored differences with their reason', async () => {
    const result = await compareImages(
      { layoutDir: layoutA },
      { layoutDir: layoutB },
      {
        ignore: [
          ...BUILD_NOISE_IGNORES,
          { config: 'Env', reason: 'the two images set MODE on purpose' },
          { path: '/etc/*.conf', fields: ['mode'], reason: 'modes of configs may differ here' },
          { path: '/only-*', onlyIn: 'b', reason: 'B may add files named only-*' },
        ],
      },
    );
    const paths = result.differences.map((d) => (d.kind === 'config' ? d.field : d.path));
    expect(paths).not.toContain('/var/log/dpkg.log');
    expect(paths).not.toContain('Env');
    expect(paths).not.toContain('/etc/mode.conf');
    expect(paths).toContain('/etc/size.conf');
    expect(paths).not.toContain('/only-b');
    expect(paths).toContain('/only-a');
    const reasons = result.ignored.map((entry) => entry.reason);
    expect(reasons).toContain('the two images set MODE on purpose');
    expect(reasons.some((reason) => reason.startsWith('dpkg, apt'))).toBe(true);
  });

  it('reads an unpacked rootfs in place', async () => {
    // Layout B's config with layout A's files: only the config fields differ.
    const rootfsA = await umociUnpack(layoutA, 'latest', join(work, 'unpacked-a'));
    const result = await compareImages(
      { layoutDir: layoutA },
      { layoutDir: layoutB, rootfs: rootfsA },
    );
    const lines = result.differences.map(formatDifference);
    expect(lines.filter((line) => !line.startsWith('config '))).toEqual([]);
    expect(lines.filter((line) => line.startsWith('config '))).toHaveLength(3);
  });
});
