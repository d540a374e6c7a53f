import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { parseDigest, parseImageConfig, parseImageIndex, parseImageManifest } from '@kiln/oci-spec';
import type { ImageConfig, ImageManifest } from '@kiln/oci-spec';

import { TestkitError } from '../errors.js';

const REF_NAME = 'org.opencontainers.image.ref.name';

/** One image of an OCI layout, read from its index.json. */
export interface LayoutImage {
  layoutDir: string;
  tag: string;
  manifest: ImageManifest;
  config: ImageConfig;
}

/**
 * Reads the image tagged `tag` in `layoutDir`; without a tag the layout must hold exactly one
 * tagged image, which is taken.
 */
export async function readLayoutImage(layoutDir: string, tag?: string): Promise<LayoutImage> {
  const index = parseImageIndex(await readFile(join(layoutDir, 'index.json'), 'utf8'));
  const tagged = index.manifests.filter((m) => m.annotations?.[REF_NAME] !== undefined);
  const matches =
    tag === undefined ? tagged : tagged.filter((m) => m.annotations?.[REF_NAME] === tag);
  const names = tagged.map((m) => m.annotations?.[REF_NAME]).join(', ') || 'none';
  if (matches.length !== 1) {
    const what = tag === undefined ? 'exactly one tagged image' : `an image tagged ${tag}`;
    throw new TestkitError(
      'LAYOUT_IMAGE_NOT_FOUND',
      `${layoutDir} does not hold ${what} (tags: ${names})`,
      {
        hint: 'name the image as LAYOUT:TAG',
      },
    );
  }
  const descriptor = matches[0]!;
  const manifest = parseImageManifest(await readFile(blobPath(layoutDir, descriptor.digest)));
  const config = parseImageConfig(await readFile(blobPath(layoutDir, manifest.config.digest)));
  return {
    layoutDir,
    tag: descriptor.annotations?.[REF_NAME] ?? '',
    manifest,
    config,
  };
}

function blobPath(layoutDir: string, digest: string): string {
  const { algorithm, encoded } = parseDigest(digest);
  return join(layoutDir, 'blobs', algorithm, encoded);
}
