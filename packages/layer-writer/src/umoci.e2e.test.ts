import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { directoryChangeSet } from './change-set.js';
import { buildEveryTypeTree } from './test-support/fixtures.js';
import { describeTree, makeTempDir } from './test-support/tree.js';
import { writeLayer, type LayerResult, type WriteLayerOptions } from './write-layer.js';

// umoci (written in Go) unpacks an OCI layout made of our layers; its root filesystem must equal
// the tree the layers were written from.

let work: string;

beforeEach(async () => {
  work = await makeTempDir('umoci');
});

afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

async function writeBlob(layout: string, data: string): Promise<{ digest: string; size: number }> {
  const hex = createHash('sha256').update(data).digest('hex');
  await writeFile(path.join(layout, 'blobs/sha256', hex), data);
  return { digest: `sha256:${hex}`, size: Buffer.byteLength(data) };
}

/** Writes an OCI layout holding one image made of `layers`, tagged `latest`. */
async function writeLayout(
  layout: string,
  layers: Array<{ root: string; entries?: Parameters<typeof writeLayer>[0]['entries'] }>,
  options: WriteLayerOptions,
): Promise<void> {
  await mkdir(path.join(layout, 'blobs/sha256'), { recursive: true });
  const results: LayerResult[] = [];
  for (const layer of layers) {
    const changeSet =
      layer.entries === undefined
        ? await directoryChangeSet(layer.root)
        : { root: layer.root, entries: layer.entries };
    const temporary = path.join(layout, 'layer.tmp');
    const result = await writeLayer(changeSet, temporary, options);
    await rename(
      temporary,
      path.join(layout, 'blobs/sha256', result.digest.slice('sha256:'.length)),
    );
    results.push(result);
  }
  const config = await writeBlob(
    layout,
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: {},
      rootfs: { type: 'layers', diff_ids: results.map((result) => result.diffId) },
    }),
  );
  const manifest = await writeBlob(
    layout,
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: results.map((result) => ({
        mediaType: result.mediaType,
        digest: result.digest,
        size: result.size,
      })),
    }),
  );
  await writeFile(path.join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    path.join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...manifest,
          annotations: { 'org.opencontainers.image.ref.name': 'latest' },
        },
      ],
    }),
  );
}

function unpack(layout: string): string {
  const bundle = path.join(work, 'bundle');
  execFileSync('umoci', ['unpack', '--image', `${layout}:latest`, bundle], { stdio: 'pipe' });
  return path.join(bundle, 'rootfs');
}

describe('layers unpacked by umoci', () => {
  it('unpacks every entry type unchanged', async () => {
    const source = path.join(work, 'source');
    await mkdir(source);
    await buildEveryTypeTree(source);
    const layout = path.join(work, 'layout');
    await writeLayout(layout, [{ root: source }], {});
    const rootfs = unpack(layout);
    // umoci stores its own state beside rootfs, never inside it, so the trees compare whole.
    expect(await describeTree(rootfs)).toEqual(await describeTree(source));
  });

  it('applies whiteouts of a second layer', async () => {
    const source = path.join(work, 'source');
    await mkdir(path.join(source, 'etc/conf.d'), { recursive: true });
    await writeFile(path.join(source, 'etc/conf.d/a'), 'a');
    await writeFile(path.join(source, 'etc/keep'), 'keep');
    await writeFile(path.join(source, 'etc/gone'), 'gone');
    const layout = path.join(work, 'layout');

    const upper = path.join(work, 'upper');
    await mkdir(path.join(upper, 'etc/conf.d'), { recursive: true });
    await writeFile(path.join(upper, 'etc/conf.d/b'), 'b');
    await writeLayout(
      layout,
      [
        { root: source },
        {
          root: upper,
          entries: [
            { path: 'etc/gone', kind: 'delete' },
            { path: 'etc/conf.d', kind: 'opaque' },
            { path: 'etc/conf.d/b', kind: 'add' },
          ],
        },
      ],
      { compression: 'gzip', level: 1 },
    );
    const rootfs = unpack(layout);

    await unlink(path.join(source, 'etc/gone'));
    await unlink(path.join(source, 'etc/conf.d/a'));
    await writeFile(path.join(source, 'etc/conf.d/b'), 'b');
    const expected = await describeTree(source, { mtimes: false });
    const actual = await describeTree(rootfs, { mtimes: false });
    expect(Object.keys(actual)).toEqual(Object.keys(expected));
    expect(actual['etc/conf.d/b']?.sha256).toBe(expected['etc/conf.d/b']?.sha256);
  });
});
