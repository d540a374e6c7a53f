import { execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../build.js';
import {
  addSubmodules,
  git,
  makeGitFixture,
  startGitDaemon,
} from '../context/git-fixture.test-support.js';

// ADD of git sources against a real `git daemon` on 127.0.0.1, with nested submodules. The rules
// follow BuildKit's dockerfile2llb `dispatchCopy`: the checkout (or its SUBDIR) is copied into the
// destination, .git is left out unless --keep-git-dir, and --checksum names the commit.
const exec = promisify(execFile);
let tmp: string;
let daemon: ChildProcess | undefined;
let port: number;
let count = 0;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-add-git-'));
  await makeGitFixture(tmp);
  ({ port, daemon } = await startGitDaemon(tmp));
  await addSubmodules(tmp, port);
});

afterAll(async () => {
  daemon?.kill();
  await rm(tmp, { recursive: true, force: true });
});

/** Builds a one-ADD Dockerfile and returns the last layer's path list and a reader for its files. */
async function buildAdd(instruction: string, cacheDir?: string) {
  count += 1;
  const context = path.join(tmp, `context-${count}`);
  await mkdir(context, { recursive: true });
  await writeFile(path.join(context, 'Dockerfile'), `FROM scratch\n${instruction}\n`);
  const layout = `${context}-layout`;
  const result = await build({
    context,
    noPush: true,
    ociLayoutPath: layout,
    workDir: path.join(tmp, 'work'),
    ...(cacheDir === undefined ? {} : { cache: { enabled: true, dir: cacheDir } }),
  });
  const blob = path.join(
    layout,
    'blobs/sha256',
    result.manifest.layers.at(-1)?.digest.slice(7) ?? '',
  );
  const { stdout } = await exec('tar', ['-tzf', blob]);
  const paths = stdout
    .trim()
    .split('\n')
    .map((line) => line.replace(/\/$/, ''));
  const read = async (file: string) => (await exec('tar', ['-xzOf', blob, file])).stdout;
  /** Returns `mode owner` of a path in the layer, as `tar -tv` prints them. */
  const modeOf = async (file: string) => {
    const { stdout: listing } = await exec('tar', ['--numeric-owner', '-tvzf', blob, file]);
    const [mode, owner] = listing.split(/\s+/);
    return `${mode} ${owner}`;
  };
  return { paths, read, modeOf, cache: result.cache?.steps.map((step) => step.status) ?? [] };
}

describe('ADD git sources', () => {
  it('copies a ref and subdirectory without .git', async () => {
    const { paths, read } = await buildAdd(
      `ADD git://127.0.0.1:${port}/repo.git#feature:app /src/`,
    );

    expect(paths).toContain('src/main.txt');
    expect(await read('src/main.txt')).toBe('feature branch\n');
    expect(paths.some((entry) => entry.includes('.git'))).toBe(false);
  });

  it('fetches submodules recursively', async () => {
    const { paths, read } = await buildAdd(`ADD git://127.0.0.1:${port}/repo.git /full`);

    expect(await read('full/lib/lib.txt')).toBe('lib module\n');
    expect(await read('full/lib/inner/inner.txt')).toBe('inner module\n');
    expect(paths).toContain('full/.gitmodules');
    expect(paths).not.toContain('full/.git');
    expect(paths).not.toContain('full/lib/.git');
  });

  it('gives a created destination --chown and --chmod', async () => {
    // dispatchCopy copies the checkout root without CopyDirContentsOnly, so fsutil's copyDirectory
    // creates the destination and copyFileInfo applies the owner and mode to it.
    const { modeOf } = await buildAdd(
      `ADD --chown=7:8 --chmod=750 git://127.0.0.1:${port}/repo.git /modes`,
    );

    expect(await modeOf('modes/')).toBe('drwxr-x--- 7/8');
    expect(await modeOf('modes/Dockerfile')).toBe('-rwxr-x--- 7/8');
  });

  it('keeps .git with --keep-git-dir', async () => {
    const { paths } = await buildAdd(
      `ADD --keep-git-dir=true git://127.0.0.1:${port}/repo.git /kept`,
    );

    expect(paths).toContain('kept/.git');
    expect(paths).toContain('kept/.git/HEAD');
    expect(paths).toContain('kept/lib/.git');
  });

  it('checks --checksum against the commit', async () => {
    const commit = git(['rev-parse', 'main'], path.join(tmp, 'source')).trim();
    const { paths } = await buildAdd(
      `ADD --checksum=${commit} git://127.0.0.1:${port}/repo.git#main /checked`,
    );
    expect(paths).toContain('checked/Dockerfile');

    const failed = await buildAdd(
      `ADD --checksum=0000000 git://127.0.0.1:${port}/repo.git#main /checked`,
    ).catch((error: unknown) => error);
    expect(failed).toMatchObject({ code: 'ADD_CHECKSUM_MISMATCH' });
  });

  it('misses the layer cache when the branch moves', async () => {
    const cacheDir = path.join(tmp, 'layer-cache');
    const add = `ADD git://127.0.0.1:${port}/repo.git#feature /moving/`;
    const first = await buildAdd(add, cacheDir);
    const second = await buildAdd(add, cacheDir);
    expect(first.cache).toEqual(['miss']);
    expect(second.cache).toEqual(['hit']);

    const source = path.join(tmp, 'source');
    git(['checkout', '-q', 'feature'], source);
    await writeFile(path.join(source, 'app', 'main.txt'), 'moved branch\n');
    git(['commit', '-q', '-am', 'move'], source);
    git(['push', '-q', path.join(tmp, 'repo.git'), 'feature'], source);
    git(['checkout', '-q', 'main'], source);

    const third = await buildAdd(add, cacheDir);
    expect(third.cache).toEqual(['miss']);
    expect(await third.read('moving/app/main.txt')).toBe('moved branch\n');
  });
});
