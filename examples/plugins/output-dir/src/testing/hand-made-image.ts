import { createReadStream } from 'node:fs';
import { chmod, link, mkdir, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { writeLayer, type ChangeSet, type LayerResult } from '@kiln/layer-writer';
import {
  MediaType,
  parseDigest,
  sha256Digest,
  type ImageConfig,
  type ImageManifest,
} from '@kiln/oci-spec';
import type { BuiltImage } from '@kiln/plugin-api';

/** A three-layer image in an OCI layout, and the same image as outputs receive it. */
export interface HandMadeImage {
  layoutDir: string;
  tag: string;
  image: BuiltImage;
}

async function put(root: string, path: string, text: string, mode = 0o644): Promise<void> {
  await mkdir(join(root, path, '..'), { recursive: true });
  await writeFile(join(root, path), text);
  await chmod(join(root, path), mode);
}

function blobPath(layoutDir: string, digest: string): string {
  const { algorithm, encoded } = parseDigest(digest);
  return join(layoutDir, 'blobs', algorithm, encoded);
}

async function addLayer(
  layoutDir: string,
  changeSet: ChangeSet,
  compression: 'gzip' | 'none',
): Promise<LayerResult> {
  const temporary = join(layoutDir, 'blobs', 'layer.tmp');
  const result = await writeLayer(changeSet, temporary, { compression, reproducible: true });
  await rename(temporary, blobPath(layoutDir, result.digest));
  return result;
}

async function addJson(
  layoutDir: string,
  value: unknown,
): Promise<{ bytes: Uint8Array; digest: string }> {
  const bytes = Buffer.from(JSON.stringify(value));
  const digest = sha256Digest(bytes);
  await writeFile(blobPath(layoutDir, digest), bytes);
  return { bytes, digest };
}

/**
 * Builds the test image in `workDir`. Layer 1 adds files, a symlink and a hardlink; layer 2
 * replaces `bin/hello`, deletes `etc/config` and makes `data` opaque; layer 3 (uncompressed)
 * adds `etc/motd`.
 */
export async function makeHandMadeImage(workDir: string): Promise<HandMadeImage> {
  const layoutDir = join(workDir, 'layout');
  await mkdir(join(layoutDir, 'blobs', 'sha256'), { recursive: true });

  const first = join(workDir, 'layer1');
  await put(first, 'bin/hello', '#!/bin/sh\necho hello v1\n', 0o755);
  await link(join(first, 'bin/hello'), join(first, 'bin/hello-v1'));
  await put(first, 'etc/config', 'a=1\n');
  await put(first, 'data/old.txt', 'old\n');
  await put(first, 'data/keep/nested.txt', 'nested\n', 0o600);
  await mkdir(join(first, 'lib'));
  await symlink('../bin/hello', join(first, 'lib/hello'));
  const layer1 = await addLayer(
    layoutDir,
    {
      root: first,
      entries: [
        'bin',
        'bin/hello',
        'bin/hello-v1',
        'data',
        'data/keep',
        'data/keep/nested.txt',
        'data/old.txt',
        'etc',
        'etc/config',
        'lib',
        'lib/hello',
      ].map((path) => ({ path, kind: 'add' as const })),
    },
    'gzip',
  );

  const second = join(workDir, 'layer2');
  await put(second, 'bin/hello', '#!/bin/sh\necho hello v2\n', 0o755);
  await put(second, 'data/new.txt', 'new\n');
  const layer2 = await addLayer(
    layoutDir,
    {
      root: second,
      entries: [
        { path: 'bin', kind: 'add' },
        { path: 'bin/hello', kind: 'add' },
        { path: 'data', kind: 'add' },
        { path: 'data', kind: 'opaque' },
        { path: 'data/new.txt', kind: 'add' },
        { path: 'etc/config', kind: 'delete' },
      ],
    },
    'gzip',
  );

  const third = join(workDir, 'layer3');
  await put(third, 'etc/motd', 'welcome\n');
  const layer3 = await addLayer(
    layoutDir,
    {
      root: third,
      entries: [
        { path: 'etc', kind: 'add' },
        { path: 'etc/motd', kind: 'add' },
      ],
    },
    'none',
  );

  const layers = [layer1, layer2, layer3];
  const config: ImageConfig = {
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: ['/bin/hello'] },
    rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.diffId) },
  };
  const configBlob = await addJson(layoutDir, config);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: {
      mediaType: MediaType.OciConfig,
      digest: configBlob.digest,
      size: configBlob.bytes.length,
    },
    layers: layers.map((layer) => ({
      mediaType: layer.mediaType,
      digest: layer.digest,
      size: layer.size,
    })),
  };
  const manifestBlob = await addJson(layoutDir, manifest);
  const manifestDescriptor = {
    mediaType: MediaType.OciManifest,
    digest: manifestBlob.digest,
    size: manifestBlob.bytes.length,
  };

  const tag = 'test';
  await writeFile(join(layoutDir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    join(layoutDir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        { ...manifestDescriptor, annotations: { 'org.opencontainers.image.ref.name': tag } },
      ],
    }),
  );

  const image: BuiltImage = {
    manifest,
    manifestBytes: manifestBlob.bytes,
    manifestDescriptor,
    config,
    configBytes: configBlob.bytes,
    layers: layers.map((layer) => ({
      descriptor: { mediaType: layer.mediaType, digest: layer.digest, size: layer.size },
      diffId: layer.diffId,
    })),
    openBlob: async (digest): Promise<Readable> => createReadStream(blobPath(layoutDir, digest)),
  };
  return { layoutDir, tag, image };
}
