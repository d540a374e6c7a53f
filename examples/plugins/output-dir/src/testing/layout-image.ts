import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { parseDigest, parseImageConfig, parseImageIndex, parseImageManifest } from '@kiln/oci-spec';
import type { BuiltImage } from '@kiln/plugin-api';

const REF_NAME = 'org.opencontainers.image.ref.name';

function blobPath(layoutDir: string, digest: string): string {
  const { algorithm, encoded } = parseDigest(digest);
  return join(layoutDir, 'blobs', algorithm, encoded);
}

/** Reads the image tagged `tag` in an OCI layout as an output receives a finished image. */
export async function readLayoutImage(layoutDir: string, tag: string): Promise<BuiltImage> {
  const index = parseImageIndex(await readFile(join(layoutDir, 'index.json')));
  const manifestDescriptor = index.manifests.find(
    (descriptor) => descriptor.annotations?.[REF_NAME] === tag,
  );
  if (manifestDescriptor === undefined) throw new Error(`no image tagged ${tag} in ${layoutDir}`);

  const manifestBytes = await readFile(blobPath(layoutDir, manifestDescriptor.digest));
  const manifest = parseImageManifest(manifestBytes);
  const configBytes = await readFile(blobPath(layoutDir, manifest.config.digest));
  const config = parseImageConfig(configBytes);
  return {
    manifest,
    manifestBytes,
    manifestDescriptor,
    config,
    configBytes,
    layers: manifest.layers.map((descriptor, position) => ({
      descriptor,
      diffId: config.rootfs.diff_ids[position] as string,
    })),
    openBlob: async (digest): Promise<Readable> => createReadStream(blobPath(layoutDir, digest)),
  };
}
