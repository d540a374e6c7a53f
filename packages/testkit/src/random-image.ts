import { createHash, randomFillSync } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';

export interface BlobFile {
  descriptor: { mediaType: string; digest: string; size: number };
  /** Path of the blob inside the layout. */
  path: string;
}

export interface RandomImage {
  /** OCI image layout directory with the image under `tag`. */
  layoutDir: string;
  tag: string;
  manifestBytes: Uint8Array;
  manifestDescriptor: { mediaType: string; digest: string; size: number };
  config: BlobFile;
  layers: BlobFile[];
}

export interface RandomImageOptions {
  /** Size in bytes of each layer; the layers are random, uncompressed `tar` media type. */
  layerSizes: number[];
  tag?: string;
  architecture?: string;
}

const LAYER_MEDIA_TYPE = 'application/vnd.oci.image.layer.v1.tar';
const WRITE_CHUNK = 1024 * 1024;

async function writeBlob(
  layoutDir: string,
  data: Uint8Array,
  mediaType: string,
): Promise<BlobFile> {
  const hex = createHash('sha256').update(data).digest('hex');
  const path = join(layoutDir, 'blobs', 'sha256', hex);
  await writeFile(path, data);
  return { descriptor: { mediaType, digest: `sha256:${hex}`, size: data.length }, path };
}

/** Streams `size` random bytes into the layout and returns the blob; memory use stays at one chunk. */
async function writeRandomBlob(layoutDir: string, size: number): Promise<BlobFile> {
  const temp = join(layoutDir, 'blobs', 'sha256', `.random-${process.pid}-${Date.now()}`);
  const out = createWriteStream(temp);
  const hash = createHash('sha256');
  const chunk = Buffer.alloc(Math.min(WRITE_CHUNK, Math.max(size, 1)));
  for (let written = 0; written < size; ) {
    const part = chunk.subarray(0, Math.min(chunk.length, size - written));
    randomFillSync(part);
    hash.update(part);
    written += part.length;
    // The chunk buffer is reused, so each write gets its own copy.
    if (!out.write(Buffer.from(part))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  const hex = hash.digest('hex');
  const path = join(layoutDir, 'blobs', 'sha256', hex);
  await rename(temp, path);
  return { descriptor: { mediaType: LAYER_MEDIA_TYPE, digest: `sha256:${hex}`, size }, path };
}

/**
 * Writes an OCI layout with one image of random, uncompressed layers. The layers are not valid
 * tars, which registries and `skopeo copy` do not check. The config's diff_ids equal the layer
 * digests because the layers are uncompressed.
 */
export async function makeRandomImage(
  layoutDir: string,
  options: RandomImageOptions,
): Promise<RandomImage> {
  const tag = options.tag ?? 'latest';
  await mkdir(join(layoutDir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(layoutDir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));

  const layers: BlobFile[] = [];
  for (const size of options.layerSizes) layers.push(await writeRandomBlob(layoutDir, size));

  const config = {
    architecture: options.architecture ?? 'amd64',
    os: 'linux',
    config: { Env: ['PATH=/usr/bin:/bin'] },
    rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.descriptor.digest) },
  };
  const configBlob = await writeBlob(
    layoutDir,
    Buffer.from(JSON.stringify(config)),
    'application/vnd.oci.image.config.v1+json',
  );
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: configBlob.descriptor,
    layers: layers.map((layer) => layer.descriptor),
  };
  const manifestBlob = await writeBlob(
    layoutDir,
    Buffer.from(JSON.stringify(manifest)),
    manifest.mediaType,
  );
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      { ...manifestBlob.descriptor, annotations: { 'org.opencontainers.image.ref.name': tag } },
    ],
  };
  await writeFile(join(layoutDir, 'index.json'), JSON.stringify(index));
  return {
    layoutDir,
    tag,
    manifestBytes: Buffer.from(JSON.stringify(manifest)),
    manifestDescriptor: manifestBlob.descriptor,
    config: configBlob,
    layers,
  };
}
