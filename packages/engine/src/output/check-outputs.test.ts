import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { RegistryClient } from '@kiln/registry-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { build } from '../build.js';
import { checkOutputPaths } from './check-outputs.js';
import { makeTestImage } from './test-image.js';
import { writeOutputs } from './write-outputs.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-check-outputs-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('checkOutputPaths', () => {
  it('rejects a --tar-path that is a directory', async () => {
    await expect(checkOutputPaths({ context: dir, tarPath: dir })).rejects.toMatchObject({
      code: 'OUTPUT_FAILED',
      message: `--tar-path ${dir} is a directory: give a file path`,
    });
  });

  it('rejects an --oci-layout-path that is a file', async () => {
    const file = path.join(dir, 'file');
    await writeFile(file, 'x');
    await expect(checkOutputPaths({ context: dir, ociLayoutPath: file })).rejects.toThrow(
      `--oci-layout-path ${file} is not a directory`,
    );
  });

  it('rejects paths whose directory cannot be created, naming the path and reason', async () => {
    await expect(
      checkOutputPaths({ context: dir, tarPath: '/proc/kiln-nope/x.tar' }),
    ).rejects.toThrow(/--tar-path \/proc\/kiln-nope\/x\.tar: cannot create .*ENOENT/);
    await expect(
      checkOutputPaths({ context: dir, ociLayoutPath: '/proc/kiln-nope' }),
    ).rejects.toThrow(/--oci-layout-path \/proc\/kiln-nope: cannot create .*ENOENT/);
  });

  it('accepts new paths and creates their missing parents', async () => {
    await mkdir(path.join(dir, 'layout'));
    await checkOutputPaths({
      context: dir,
      tarPath: path.join(dir, 'out', 'image.tar'),
      ociLayoutPath: path.join(dir, 'layout'),
      digestFile: path.join(dir, 'digest'),
    });
    expect((await stat(path.join(dir, 'out'))).isDirectory()).toBe(true);
    await checkOutputPaths({ context: dir, ociLayoutPath: path.join(dir, 'new-layout') });
    await expect(stat(path.join(dir, 'new-layout'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('makes build fail before it reads the context', async () => {
    await expect(
      build({ context: path.join(dir, 'no-context'), tarPath: dir, noPush: true }),
    ).rejects.toMatchObject({ code: 'OUTPUT_FAILED' });
  });
});

describe('writeOutputs', () => {
  it('fails at once, naming the path, when the tarball directory cannot be made', async () => {
    const { image, store } = await makeTestImage(path.join(dir, 'store'));
    const write = (options: { tarPath?: string; ociLayoutPath?: string }) =>
      writeOutputs(
        image,
        store,
        {} as RegistryClient,
        { context: dir, noPush: true, ...options },
        () => {},
      );
    await expect(write({ tarPath: '/proc/kiln-nope/x.tar' })).rejects.toThrow(
      /Writing --tar-path \/proc\/kiln-nope\/x\.tar failed: ENOENT/,
    );
    await expect(write({ ociLayoutPath: '/proc/kiln-nope' })).rejects.toThrow(
      /Writing --oci-layout-path \/proc\/kiln-nope failed: ENOENT/,
    );
  });
});
