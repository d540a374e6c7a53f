import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { MediaType, OCI_LAYOUT_VERSION, parseDigest } from '@kiln/oci-spec';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import type { AssembledImage } from '../image/image-builder.js';
import type { BlobStore } from '../image/blob-store.js';
import { tempPathFor } from '../util/atomic-file.js';
import { REF_NAME_ANNOTATION } from './oci-layout.js';

/** One entry of a `docker load` tarball's manifest.json. */
export interface DockerArchiveManifestEntry {
  Config: string;
  RepoTags: string[];
  Layers: string[];
}

/** Path of a blob inside the archive; the same paths make the archive an OCI layout too. */
export function archiveBlobPath(digest: string): string {
  const { algorithm, encoded } = parseDigest(digest);
  return `blobs/${algorithm}/${encoded}`;
}

/** Builds the manifest.json entry that `docker load` reads. */
export function dockerArchiveManifest(
  image: AssembledImage,
  repoTags: string[],
): DockerArchiveManifestEntry[] {
  return [
    {
      Config: archiveBlobPath(image.configDescriptor.digest),
      RepoTags: repoTags,
      Layers: image.manifest.layers.map((layer) => archiveBlobPath(layer.digest)),
    },
  ];
}

/**
 * Writes a tarball in the layout `docker load` reads (manifest.json, config and layer files), which
 * is also an OCI image layout (oci-layout, index.json, blobs/sha256), as `docker save` writes since
 * Docker 25. Layers are streamed from the blob store; the file appears by rename when complete.
 */
export async function writeDockerArchive(
  file: string,
  image: AssembledImage,
  store: BlobStore,
  repoTags: string[],
): Promise<void> {
  const pack = tar.pack();
  const temp = tempPathFor(file);
  const written = pipeline(pack as unknown as Readable, createWriteStream(temp));
  try {
    const header = { mode: 0o644, mtime: new Date(0), uid: 0, gid: 0 };
    const addBytes = (name: string, bytes: string | Uint8Array) =>
      new Promise<void>((resolve, reject) =>
        pack.entry({ ...header, name }, Buffer.from(bytes), (err) =>
          err ? reject(err) : resolve(),
        ),
      );

    await addBytes('oci-layout', JSON.stringify({ imageLayoutVersion: OCI_LAYOUT_VERSION }));
    const annotations = repoTags[0] ? { [REF_NAME_ANNOTATION]: repoTags[0] } : undefined;
    const index = {
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: [
        {
          mediaType: image.mediaType,
          digest: image.digest,
          size: image.manifestBytes.byteLength,
          ...(annotations ? { annotations } : {}),
        },
      ],
    };
    await addBytes('index.json', JSON.stringify(index));
    await addBytes('manifest.json', JSON.stringify(dockerArchiveManifest(image, repoTags)));
    await addBytes(archiveBlobPath(image.digest), image.manifestBytes);
    await addBytes(archiveBlobPath(image.configDescriptor.digest), image.configBytes);

    const seen = new Set<string>();
    for (const layer of image.manifest.layers) {
      if (seen.has(layer.digest)) continue;
      seen.add(layer.digest);
      const source = store.path(layer.digest);
      const { size } = await stat(source);
      const entry = pack.entry({ ...header, name: archiveBlobPath(layer.digest), size });
      await pipeline(createReadStream(source), entry);
    }
    pack.finalize();
    await written;
    await rename(temp, file);
  } catch (error) {
    pack.destroy();
    await written.catch(() => undefined);
    await rm(temp, { force: true });
    throw error;
  }
}
