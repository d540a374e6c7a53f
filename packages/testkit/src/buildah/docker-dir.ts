import { copyFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { MediaType, OCI_LAYOUT_VERSION, parseDigest, sha256Digest } from '@kiln/oci-spec';
import type { Descriptor, ImageIndex } from '@kiln/oci-spec';

import { TestkitError } from '../errors.js';

const REF_NAME = 'org.opencontainers.image.ref.name';

const LAYER_TYPES: Record<string, string> = {
  [MediaType.DockerLayerGzip]: MediaType.OciLayerGzip,
  [MediaType.OciLayerGzip]: MediaType.OciLayerGzip,
  [MediaType.OciLayer]: MediaType.OciLayer,
  [MediaType.OciLayerZstd]: MediaType.OciLayerZstd,
};

/**
 * Adds the image of a `dir:` transport directory (as `buildah push IMAGE dir:DIR` writes it) to
 * the OCI layout `layoutDir` under `tag`. The config blob is kept byte for byte, so Docker-only
 * fields such as Healthcheck, OnBuild and Shell survive. `buildah push IMAGE oci:DIR` drops them,
 * because containers/image rewrites the config into the OCI schema.
 */
export async function dockerDirToOciLayout(
  sourceDir: string,
  layoutDir: string,
  tag: string,
): Promise<string> {
  const manifest = JSON.parse(await readFile(join(sourceDir, 'manifest.json'), 'utf8')) as {
    config: Descriptor;
    layers: Descriptor[];
  };
  await mkdir(join(layoutDir, 'blobs', 'sha256'), { recursive: true });

  const layers = manifest.layers.map((layer) => {
    const mediaType = LAYER_TYPES[layer.mediaType];
    if (mediaType === undefined) {
      throw new TestkitError(
        'UNSUPPORTED_LAYER',
        `layer ${layer.digest} has media type ${layer.mediaType}`,
        {
          hint: 'only gzip, zstd and uncompressed tar layers can be written to an OCI layout here',
        },
      );
    }
    return { mediaType, digest: layer.digest, size: layer.size };
  });
  for (const blob of [manifest.config, ...manifest.layers]) {
    await copyFile(
      join(sourceDir, parseDigest(blob.digest).encoded),
      blobPath(layoutDir, blob.digest),
    );
  }

  const ociManifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: {
      mediaType: MediaType.OciConfig,
      digest: manifest.config.digest,
      size: manifest.config.size,
    },
    layers,
  });
  const digest = sha256Digest(ociManifest);
  await writeFile(blobPath(layoutDir, digest), ociManifest);
  await writeFile(
    join(layoutDir, 'oci-layout'),
    JSON.stringify({ imageLayoutVersion: OCI_LAYOUT_VERSION }),
  );

  const index = await readIndex(layoutDir);
  const manifests = index.manifests.filter((entry) => entry.annotations?.[REF_NAME] !== tag);
  manifests.push({
    mediaType: MediaType.OciManifest,
    digest,
    size: Buffer.byteLength(ociManifest),
    annotations: { [REF_NAME]: tag },
  });
  const temporary = join(layoutDir, `index.json.tmp-${process.pid}`);
  await writeFile(
    temporary,
    JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests }),
  );
  await rename(temporary, join(layoutDir, 'index.json'));
  return digest;
}

async function readIndex(layoutDir: string): Promise<ImageIndex> {
  try {
    return JSON.parse(await readFile(join(layoutDir, 'index.json'), 'utf8')) as ImageIndex;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      return { schemaVersion: 2, manifests: [] };
    throw error;
  }
}

function blobPath(layoutDir: string, digest: string): string {
  const { algorithm, encoded } = parseDigest(digest);
  return join(layoutDir, 'blobs', algorithm, encoded);
}
