import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

import { MediaType } from '@kiln/oci-spec';

import { umociUnpack } from '../checks.js';
import { readLayoutImage } from '../compare/layout.js';
import { makeTempDir, runCommand } from '../process.js';
import { dockerDirToOciLayout } from './docker-dir.js';

function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Writes a `dir:` transport directory the way containers/image does: blobs named by hex digest. */
async function writeDockerDir(dir: string): Promise<{ configBytes: string }> {
  await mkdir(join(dir, 'rootfs', 'etc'), { recursive: true });
  await writeFile(join(dir, 'rootfs', 'etc', 'motd'), 'hello\n');
  await runCommand('tar', ['-czf', join(dir, 'layer.tar.gz'), '-C', join(dir, 'rootfs'), 'etc']);
  const layer = await readFile(join(dir, 'layer.tar.gz'));
  const layerHex = sha256(layer);
  await rename(join(dir, 'layer.tar.gz'), join(dir, layerHex));

  const configBytes = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: {
      Cmd: ['sh'],
      Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 30_000_000_000 },
      OnBuild: ['RUN echo child'],
      Shell: ['/bin/sh', '-ec'],
    },
    rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(gunzipSync(layer))}`] },
  });
  await writeFile(join(dir, sha256(configBytes)), configBytes);
  await writeFile(
    join(dir, 'manifest.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.DockerManifest,
      config: {
        mediaType: MediaType.DockerConfig,
        size: configBytes.length,
        digest: `sha256:${sha256(configBytes)}`,
      },
      layers: [
        { mediaType: MediaType.DockerLayerGzip, size: layer.length, digest: `sha256:${layerHex}` },
      ],
    }),
  );
  return { configBytes };
}

describe('dockerDirToOciLayout', () => {
  it('keeps Docker-only config fields', async () => {
    const work = await makeTempDir('docker-dir');
    const { configBytes } = await writeDockerDir(join(work, 'dir'));
    const layout = join(work, 'layout');

    await dockerDirToOciLayout(join(work, 'dir'), layout, 'v1');

    const image = await readLayoutImage(layout, 'v1');
    expect(image.manifest.mediaType).toBe(MediaType.OciManifest);
    expect(image.manifest.config.mediaType).toBe(MediaType.OciConfig);
    expect(image.manifest.layers[0]?.mediaType).toBe(MediaType.OciLayerGzip);
    expect(image.config.config?.Healthcheck?.Test).toEqual(['CMD-SHELL', 'true']);
    expect(image.config.config?.OnBuild).toEqual(['RUN echo child']);
    expect(image.config.config?.Shell).toEqual(['/bin/sh', '-ec']);
    const stored = await readFile(join(layout, 'blobs', 'sha256', sha256(configBytes)), 'utf8');
    expect(stored).toBe(configBytes);
  });

  it('writes a layout umoci unpacks', async () => {
    const work = await makeTempDir('docker-dir');
    await writeDockerDir(join(work, 'dir'));
    const layout = join(work, 'layout');
    await dockerDirToOciLayout(join(work, 'dir'), layout, 'v1');
    await dockerDirToOciLayout(join(work, 'dir'), layout, 'v2');

    const rootfs = await umociUnpack(layout, 'v2', join(work, 'bundle'));
    expect(await readFile(join(rootfs, 'etc', 'motd'), 'utf8')).toBe('hello\n');
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as {
      manifests: unknown[];
    };
    expect(index.manifests).toHaveLength(2);
  });
});
