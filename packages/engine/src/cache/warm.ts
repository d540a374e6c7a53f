import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { BaseImageCache, LocalDirectoryStore } from '@kiln/cache';
import type { PruneResult } from '@kiln/cache';
import { parseDockerfile } from '@kiln/dockerfile-parser';
import { hostPlatform, normalizePlatform, parsePlatform } from '@kiln/oci-spec';
import type { Platform } from '@kiln/oci-spec';
import { RegistryClient } from '@kiln/registry-client';
import type { RegistryClientOptions } from '@kiln/registry-client';
import { EngineError } from '../errors.js';
import type { BuildEvent } from '../events.js';

export interface WarmOptions {
  /** Cache directory to fill (`--cache-dir`); base images go to `<cacheDir>/base`. */
  cacheDir: string;
  /** Image references to pull. */
  images?: string[];
  /** Dockerfiles whose FROM images are pulled too (stages and `scratch` are skipped). */
  dockerfiles?: string[];
  /** Build args for the global ARGs a FROM line uses. */
  buildArgs?: Record<string, string>;
  platform?: string | Platform;
  /** Options of the registry client, as a build takes them. */
  registry?: RegistryClientOptions;
  onEvent?: (event: BuildEvent) => void;
}

export interface WarmedImage {
  reference: string;
  /** Digest of the platform's manifest. */
  digest: string;
  /** Blobs fetched from the registry; 0 when the cache had everything. */
  downloaded: number;
}

/** Pulls base images into the cache directory ahead of builds (`kiln warm`), returning one result per image. */
export async function warmBaseImages(options: WarmOptions): Promise<WarmedImage[]> {
  const emit = (event: BuildEvent): void => options.onEvent?.(event);
  const platform = warmPlatform(options.platform);
  const images = [...(options.images ?? [])];
  for (const file of options.dockerfiles ?? [])
    images.push(...(await fromImages(file, options.buildArgs ?? {}, platform)));
  const unique = [...new Set(images)];
  if (unique.length === 0) {
    throw new EngineError('INVALID_OPTION', 'No image to warm the cache with', {
      hint: 'Pass --image REF or --dockerfile FILE with at least one FROM image.',
    });
  }

  const cache = new BaseImageCache(path.join(path.resolve(options.cacheDir), 'base'));
  const client = new RegistryClient({
    ...options.registry,
    onEvent: (event) => emit({ type: 'registry', event }),
  });
  try {
    const warmed: WarmedImage[] = [];
    for (const image of unique) {
      const pulled = await cache.pull(client, image, platform).catch((error: unknown) => {
        throw new EngineError(
          'BASE_IMAGE_FAILED',
          `Pulling ${image} into the cache failed: ${(error as Error).message}`,
          {
            hint:
              (error as { hint?: string }).hint ??
              'Check the image name, the registry options and the network.',
            cause: error,
          },
        );
      });
      warmed.push({
        reference: image,
        digest: pulled.manifestDescriptor.digest,
        downloaded: pulled.downloaded,
      });
    }
    return warmed;
  } finally {
    await client.close();
  }
}

/** Returns the registry images a Dockerfile's stages start from. */
async function fromImages(
  file: string,
  buildArgs: Record<string, string>,
  platform: Platform,
): Promise<string[]> {
  const text = await readFile(file, 'utf8').catch((error: unknown) => {
    throw new EngineError(
      'DOCKERFILE_NOT_FOUND',
      `Cannot read Dockerfile ${file}: ${(error as Error).message}`,
      {
        hint: 'Pass an existing file with --dockerfile.',
      },
    );
  });
  const parsed = parseDockerfile(text, {
    buildArgs,
    platform: {
      os: platform.os,
      architecture: platform.architecture,
      ...(platform.variant ? { variant: platform.variant } : {}),
    },
    fileName: path.basename(file),
  });
  return parsed.stages
    .filter((stage) => stage.from.stageRef === undefined && !stage.from.scratch)
    .map((stage) => stage.from.image);
}

function warmPlatform(option: WarmOptions['platform']): Platform {
  if (option === undefined) return hostPlatform();
  try {
    return typeof option === 'string' ? parsePlatform(option) : normalizePlatform(option);
  } catch (error) {
    throw new EngineError('INVALID_OPTION', `Invalid platform "${String(option)}"`, {
      hint: 'Write it as OS/ARCH[/VARIANT], for example linux/arm64/v8.',
      cause: error,
    });
  }
}

export interface PruneCacheOptions {
  /** Keep the least recently used layers out until the rest fit in this many bytes. */
  maxBytes?: number;
  /** Remove entries not used for this many milliseconds. */
  maxAgeMs?: number;
}

/**
 * Prunes the layer store of a cache directory (`<dir>/layers`, `kiln cache prune`) by age and least
 * recent use. NOTE: the base images in `<dir>/base` are not pruned; remove that folder to free them.
 */
export async function pruneCacheDir(dir: string, options: PruneCacheOptions): Promise<PruneResult> {
  return new LocalDirectoryStore(path.join(path.resolve(dir), 'layers')).prune({
    ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
    ...(options.maxAgeMs === undefined ? {} : { maxAgeMs: options.maxAgeMs }),
  });
}
