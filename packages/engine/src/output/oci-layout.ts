import { createWriteStream } from 'node:fs';
import { copyFile, link, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MediaType, OCI_LAYOUT_VERSION, parseDigest, parseImageIndex } from '@kiln/oci-spec';
import type { Descriptor, ImageIndex } from '@kiln/oci-spec';
import { EngineError } from '../errors.js';
import type { AssembledImage } from '../image/image-builder.js';
import type { BlobStore } from '../image/blob-store.js';
import { tempPathFor, writeFileAtomic } from '../util/atomic-file.js';
import { ensureDirectory } from '../util/ensure-dir.js';

/**
 * Source of layer blobs: the build's blob store (files, hard-linked when possible) or an opener,
 * as an output target receives them.
 */
export type LayoutBlobs = Pick<BlobStore, 'path'> | { openBlob(digest: string): Promise<Readable> };

/** Annotation that names an image in a layout's index.json. */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';

/**
 * Writes the image into the OCI image layout at `dir`, creating it or adding to an existing one.
 * An existing entry with the same `refName` is replaced; index.json is written last.
 */
export async function writeOciLayout(
  dir: string,
  image: AssembledImage,
  blobs: LayoutBlobs,
  refName: string,
): Promise<void> {
  await ensureDirectory(path.join(dir, 'blobs', 'sha256'));
  const index = await readExistingIndex(dir);

  for (const layer of image.manifest.layers)
    await copyLayerBlob(blobs, layer.digest, blobPath(dir, layer.digest));
  await writeBlob(dir, image.configDescriptor.digest, image.configBytes);
  await writeBlob(dir, image.digest, image.manifestBytes);

  const entry: Descriptor = {
    mediaType: image.mediaType,
    digest: image.digest,
    size: image.manifestBytes.byteLength,
    annotations: { [REF_NAME_ANNOTATION]: refName },
  };
  const manifests = index.manifests.filter((m) => m.annotations?.[REF_NAME_ANNOTATION] !== refName);
  const updated: ImageIndex = {
    schemaVersion: 2,
    mediaType: MediaType.OciIndex,
    manifests: [...manifests, entry],
  };
  await writeFileAtomic(
    path.join(dir, 'oci-layout'),
    JSON.stringify({ imageLayoutVersion: OCI_LAYOUT_VERSION }),
  );
  await writeFileAtomic(path.join(dir, 'index.json'), JSON.stringify(updated));
}

async function readExistingIndex(dir: string): Promise<ImageIndex> {
  const text = await readFile(path.join(dir, 'index.json'), 'utf8').catch(() => undefined);
  if (text === undefined) return { schemaVersion: 2, manifests: [] };
  try {
    return parseImageIndex(text);
  } catch (error) {
    throw new EngineError(
      'OUTPUT_FAILED',
      `Existing ${path.join(dir, 'index.json')} is not a valid OCI index`,
      {
        hint: 'Point --oci-layout-path at an empty directory or a valid OCI image layout.',
        cause: error,
      },
    );
  }
}

function blobPath(dir: string, digest: string): string {
  const { algorithm, encoded } = parseDigest(digest);
  return path.join(dir, 'blobs', algorithm, encoded);
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

async function writeBlob(dir: string, digest: string, bytes: Uint8Array): Promise<void> {
  const target = blobPath(dir, digest);
  if (!(await exists(target))) await writeFileAtomic(target, bytes);
}

async function copyLayerBlob(blobs: LayoutBlobs, digest: string, target: string): Promise<void> {
  if ('path' in blobs) return copyBlob(blobs.path(digest), target);
  if (await exists(target)) return;
  const temp = tempPathFor(target);
  try {
    await pipeline(await blobs.openBlob(digest), createWriteStream(temp));
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** Hard-links a blob when the layout shares the store's file system, else copies it; both by rename. */
async function copyBlob(source: string, target: string): Promise<void> {
  if (await exists(target)) return;
  const temp = tempPathFor(target);
  try {
    await link(source, temp).catch(() => copyFile(source, temp));
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
