import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeDockerArchive } from './docker-archive.js';
import { makeTestImage } from './test-image.js';

const run = promisify(execFile);
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-docker-archive-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeDockerArchive', () => {
  it('writes manifest.json, config and layers that tar reads', async () => {
    const { image, store } = await makeTestImage(path.join(dir, 'store'));
    const file = path.join(dir, 'image.tar');
    await writeDockerArchive(file, image, store, ['127.0.0.1:5000/hello:1']);

    const { stdout } = await run('tar', ['-tf', file]);
    const names = stdout.trim().split('\n');
    expect(names).toContain('manifest.json');
    expect(names).toContain('oci-layout');
    expect(names).toContain('index.json');

    const out = path.join(dir, 'out');
    await mkdir(out);
    await run('tar', ['-xf', file, '-C', out]);
    const manifest = JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8'));
    const configHex = image.configDescriptor.digest.slice('sha256:'.length);
    expect(manifest).toEqual([
      {
        Config: `blobs/sha256/${configHex}`,
        RepoTags: ['127.0.0.1:5000/hello:1'],
        Layers: image.manifest.layers.map(
          (l) => `blobs/sha256/${l.digest.slice('sha256:'.length)}`,
        ),
      },
    ]);
    expect(await readFile(path.join(out, manifest[0].Config))).toEqual(
      Buffer.from(image.configBytes),
    );
    expect((await stat(path.join(out, manifest[0].Layers[0]))).size).toBe(
      image.manifest.layers[0]?.size,
    );
  });

  it('leaves no partial file when a blob is missing', async () => {
    const { image, store } = await makeTestImage(path.join(dir, 'store'));
    await rm(store.path(image.manifest.layers[0]?.digest as string));
    const file = path.join(dir, 'image.tar');
    await expect(writeDockerArchive(file, image, store, [])).rejects.toThrow();
    await expect(stat(file)).rejects.toThrow();
    const { stdout } = await run('ls', ['-A', dir]);
    expect(stdout.trim().split('\n')).toEqual(['store']);
  });
});
