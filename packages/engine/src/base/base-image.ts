import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { applyLayer } from '@kiln/layer-writer';
import type { Descriptor, ImageConfig, ImageReference, Platform } from '@kiln/oci-spec';
import type { BaseImageCache } from '@kiln/cache';
import type { RegistryClient } from '@kiln/registry-client';
import { EngineError } from '../errors.js';
import type { BuildEvent } from '../events.js';
import type { BlobStore } from '../image/blob-store.js';

export interface PulledBaseImage {
  reference: ImageReference;
  /** Manifest digest of the platform's image. */
  digest: string;
  config: ImageConfig;
  layers: Descriptor[];
}

/**
 * Resolves `image` for `platform` and downloads every layer not yet in the blob store (the
 * base-layer cache: later builds with the same work dir reuse it).
 */
export async function pullBaseImage(
  client: RegistryClient,
  image: string,
  platform: Platform,
  store: BlobStore,
  emit: (event: BuildEvent) => void,
  baseCache?: BaseImageCache,
): Promise<PulledBaseImage> {
  if (baseCache !== undefined)
    return pullThroughCache(baseCache, client, image, platform, store, emit);
  let resolved;
  try {
    resolved = await client.resolveImage(image, platform);
  } catch (error) {
    throw baseImageFailed(image, error);
  }

  for (const layer of resolved.manifest.layers) {
    const cached = await store.has(layer.digest);
    if (!cached) {
      const target = store.path(layer.digest);
      await mkdir(path.dirname(target), { recursive: true });
      await client.downloadBlob(resolved.reference, layer, target);
    }
    emit({ type: 'blob-download', digest: layer.digest, size: layer.size, cached });
  }
  return {
    reference: resolved.reference,
    digest: resolved.manifestDescriptor.digest,
    config: resolved.config,
    layers: resolved.manifest.layers,
  };
}

/**
 * Resolves `image` through the base-image cache of the cache directory, which fetches only what it
 * lacks, and links its layer files into the blob store instead of copying them.
 */
async function pullThroughCache(
  baseCache: BaseImageCache,
  client: RegistryClient,
  image: string,
  platform: Platform,
  store: BlobStore,
  emit: (event: BuildEvent) => void,
): Promise<PulledBaseImage> {
  let pulled;
  try {
    pulled = await baseCache.pull(client, image, platform);
  } catch (error) {
    throw baseImageFailed(image, error);
  }
  for (const layer of pulled.layers) {
    store.link(layer.descriptor.digest, layer.path);
    emit({
      type: 'blob-download',
      digest: layer.descriptor.digest,
      size: layer.descriptor.size,
      cached: pulled.downloaded === 0,
    });
  }
  return {
    reference: pulled.reference,
    digest: pulled.manifestDescriptor.digest,
    config: pulled.config,
    layers: pulled.manifest.layers,
  };
}

function baseImageFailed(image: string, error: unknown): EngineError {
  return new EngineError(
    'BASE_IMAGE_FAILED',
    `Resolving base image ${image} failed: ${(error as Error).message}`,
    {
      hint:
        (error as { hint?: string }).hint ??
        'Check the image name, the registry options and the network.',
      cause: error,
    },
  );
}

/** Options of {@link applyLayers}. */
export interface ApplyLayersOptions {
  /** Paths relative to `rootfs` that the layers leave alone (see `applyLayer`'s `keep`). */
  keep?: readonly string[];
  /** Further attempts at a layer whose extraction failed; default 0. */
  retries?: number;
  /** Called before each further attempt, with the failure that caused it. */
  onRetry?: (layer: Descriptor, attempt: number, error: unknown) => void;
}

/** Applies layers from the blob store to `rootfs` in order, checking each one's diffID against the config. */
export async function applyLayers(
  store: BlobStore,
  layers: Descriptor[],
  diffIds: readonly string[],
  rootfs: string,
  options: ApplyLayersOptions = {},
): Promise<void> {
  await mkdir(rootfs, { recursive: true });
  for (const [index, layer] of layers.entries()) {
    const { diffId } = await applyWithRetries(store, layer, rootfs, options);
    const expected = diffIds[index];
    if (expected !== undefined && diffId !== expected) {
      throw new EngineError(
        'BASE_IMAGE_FAILED',
        `Layer ${layer.digest} has diffID ${diffId}, but the image config lists ${expected}`,
        {
          hint: 'The base image is inconsistent; rebuild or re-push it.',
        },
      );
    }
  }
}

async function applyWithRetries(
  store: BlobStore,
  layer: Descriptor,
  rootfs: string,
  options: ApplyLayersOptions,
): Promise<{ diffId: string }> {
  const retries = options.retries ?? 0;
  for (let attempt = 1; ; attempt++) {
    try {
      return await applyLayer(store.path(layer.digest), rootfs, {
        allowDevices: true,
        ...(options.keep === undefined ? {} : { keep: options.keep }),
      });
    } catch (error) {
      if (attempt > retries) throw error;
      options.onRetry?.(layer, attempt, error);
    }
  }
}
