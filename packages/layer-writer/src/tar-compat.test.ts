import { execFileSync } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { applyLayer } from './apply-layer.js';
import { directoryChangeSet } from './change-set.js';
import { buildEveryTypeTree } from './test-support/fixtures.js';
import { describeTree, makeTempDir } from './test-support/tree.js';
import { writeLayer } from './write-layer.js';

// GNU tar is the independent reader and writer here: it must extract our layers unchanged, and
// our applier must read what GNU tar writes in its pax, gnu and ustar formats.

let work: string;
let source: string;

beforeEach(async () => {
  work = await makeTempDir('compat');
  source = path.join(work, 'source');
  await mkdir(source);
  await buildEveryTypeTree(source);
});

afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

const GNU_XATTRS = ['--xattrs', '--xattrs-include=*'];

describe('layers and GNU tar', () => {
  it('GNU tar extracts our layer unchanged', async () => {
    const blob = path.join(work, 'layer.tar.gz');
    await writeLayer(await directoryChangeSet(source), blob);
    const target = path.join(work, 'target');
    await mkdir(target);
    execFileSync('tar', ['-xpzf', blob, '-C', target, '--numeric-owner', ...GNU_XATTRS]);
    expect(await describeTree(target)).toEqual(await describeTree(source));
  });

  it('applies a GNU tar pax archive', async () => {
    const archive = path.join(work, 'gnu.tar');
    execFileSync('tar', ['-cf', archive, '--format=pax', '-C', source, ...GNU_XATTRS, '.']);
    const target = path.join(work, 'target');
    await mkdir(target);
    await applyLayer(archive, target, { allowDevices: true });
    expect(await describeTree(target)).toEqual(await describeTree(source));
  });

  it('applies GNU long names from the gnu format', async () => {
    const archive = path.join(work, 'gnu.tar');
    execFileSync('tar', ['-cf', archive, '--format=gnu', '-C', source, '.']);
    const target = path.join(work, 'target');
    await mkdir(target);
    await applyLayer(archive, target, { allowDevices: true, xattrs: false });
    const withoutXattrs = (tree: Awaited<ReturnType<typeof describeTree>>): unknown =>
      Object.fromEntries(
        Object.entries(tree).map(([name, { xattrs: _xattrs, ...rest }]) => [name, rest]),
      );
    expect(withoutXattrs(await describeTree(target, { mtimes: false }))).toEqual(
      withoutXattrs(await describeTree(source, { mtimes: false })),
    );
  });

  it('reports the same diffID as sha256sum of a plain tar', async () => {
    const archive = path.join(work, 'plain.tar');
    execFileSync('tar', [
      '-cf',
      archive,
      '--format=ustar',
      '-C',
      path.join(source, 'dir'),
      'setuid',
      'setgid',
    ]);
    const target = path.join(work, 'target');
    await mkdir(target);
    const { diffId } = await applyLayer(archive, target);
    expect(diffId).toBe(`sha256:${execFileSync('sha256sum', [archive]).toString().split(' ')[0]}`);
  });
});
