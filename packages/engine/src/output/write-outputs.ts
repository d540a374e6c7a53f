import path from 'node:path';
import { Readable } from 'node:stream';
import { parseReference } from '@kiln/oci-spec';
import type { ImageReference } from '@kiln/oci-spec';
import type { RegistryClient } from '@kiln/registry-client';
import { EngineError, cancelledError } from '../errors.js';
import type { BuildEvent } from '../events.js';
import type { BlobStore } from '../image/blob-store.js';
import type { AssembledImage } from '../image/image-builder.js';
import type { BuildOptions, OutputResult } from '../options.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { ensureDirectory } from '../util/ensure-dir.js';
import { outputFailed } from './check-outputs.js';
import { isImmutableTagError } from './immutable-tag.js';
import { writeDockerArchive } from './docker-archive.js';
import { writeOciLayout } from './oci-layout.js';

/** Writes the image to every output the options ask for, pushes first, and returns one result per output. */
export async function writeOutputs(
  image: AssembledImage,
  store: BlobStore,
  client: RegistryClient,
  options: BuildOptions,
  emit: (event: BuildEvent) => void,
  layerSources: ReadonlyMap<string, string[]> = new Map(),
): Promise<OutputResult[]> {
  const destinations = (options.destinations ?? []).map(parseDestination);
  const results: OutputResult[] = [];

  if (!options.noPush) {
    for (const destination of destinations) {
      emit({ type: 'push-start', destination: destination.toString() });
      try {
        await pushTo(client, destination, image, store, layerSources, options.signal);
      } catch (error) {
        if (!options.pushIgnoreImmutableTagErrors || !isImmutableTagError(error)) throw error;
        emit({
          type: 'warning',
          message: `Not pushed to ${destination.toString()}: the registry keeps this tag immutable (ignored because of --push-ignore-immutable-tag-errors)`,
          file: undefined,
          line: undefined,
        });
        continue;
      }
      emit({ type: 'push-done', destination: destination.toString(), digest: image.digest });
      results.push({ kind: 'push', target: destination.toString(), digest: image.digest });
    }
  }

  if (options.ociLayoutPath) {
    const refName = destinations.find((d) => d.tag !== undefined)?.tag ?? 'latest';
    const dir = options.ociLayoutPath;
    await writeOciLayout(path.resolve(dir), image, store, refName).catch((error: unknown) => {
      throw outputFailed('--oci-layout-path', dir, error);
    });
    emit({ type: 'output-written', kind: 'oci-layout', path: options.ociLayoutPath });
    results.push({ kind: 'oci-layout', target: options.ociLayoutPath, digest: image.digest });
  }

  if (options.tarPath) {
    const repoTags = destinations
      .filter((d) => d.tag !== undefined && d.digest === undefined)
      .map((d) => d.familiarString());
    const file = options.tarPath;
    try {
      await ensureDirectory(path.dirname(path.resolve(file)));
      await writeDockerArchive(path.resolve(file), image, store, repoTags);
    } catch (error) {
      throw outputFailed('--tar-path', file, error);
    }
    emit({ type: 'output-written', kind: 'tar', path: options.tarPath });
    results.push({ kind: 'tar', target: options.tarPath, digest: image.digest });
  }

  const digestLines: Array<[string, string | undefined, (ref: ImageReference) => string]> = [
    [
      '--image-name-with-digest-file',
      options.imageNameWithDigestFile,
      (ref) => `${ref.name()}@${image.digest}`,
    ],
    [
      '--image-name-tag-with-digest-file',
      options.imageNameTagWithDigestFile,
      (ref) => `${ref.name()}${ref.tag === undefined ? '' : `:${ref.tag}`}@${image.digest}`,
    ],
  ];
  for (const [flag, file, format] of digestLines) {
    if (!file) continue;
    await writeSmallFile(flag, file, destinations.map((ref) => `${format(ref)}\n`).join(''));
    emit({ type: 'output-written', kind: 'digest-file', path: file });
    results.push({ kind: 'digest-file', target: file, digest: image.digest });
  }

  if (options.digestFile) {
    await writeSmallFile('--digest-file', options.digestFile, image.digest);
    emit({ type: 'output-written', kind: 'digest-file', path: options.digestFile });
    results.push({ kind: 'digest-file', target: options.digestFile, digest: image.digest });
  }
  return results;
}

/** Writes a digest file atomically, creating its directory; a failure names the flag and the path. */
async function writeSmallFile(flag: string, file: string, text: string): Promise<void> {
  try {
    await ensureDirectory(path.dirname(path.resolve(file)));
    await writeFileAtomic(path.resolve(file), text);
  } catch (error) {
    throw outputFailed(flag, file, error);
  }
}

function parseDestination(text: string): ImageReference {
  try {
    return parseReference(text);
  } catch (error) {
    throw new EngineError(
      'INVALID_OPTION',
      `Invalid destination "${text}": ${(error as Error).message}`,
      {
        hint: 'Write a destination as REGISTRY/REPOSITORY:TAG, for example registry.example.com/team/app:1.0.',
        cause: error,
      },
    );
  }
}

/** Pushes config and layers (blobs the registry has are skipped), then the manifest under the destination's tag. */
async function pushTo(
  client: RegistryClient,
  destination: ImageReference,
  image: AssembledImage,
  store: BlobStore,
  layerSources: ReadonlyMap<string, string[]>,
  signal: AbortSignal | undefined,
): Promise<void> {
  const blobs = [
    {
      descriptor: image.configDescriptor,
      open: () => Readable.from([Buffer.from(image.configBytes)]),
    },
    ...image.manifest.layers.map((layer) => ({
      descriptor: layer,
      open: () => store.open(layer.digest),
      mountFrom: layerSources.get(layer.digest) ?? [],
    })),
  ];
  try {
    await client.pushImage(destination, {
      manifestBytes: image.manifestBytes,
      mediaType: image.mediaType,
      blobs,
      ...(signal === undefined ? {} : { signal }),
    });
  } catch (error) {
    // A cancelled push has deleted its open upload sessions; report the cancel, not a push error.
    if (signal?.aborted) throw cancelledError(signal.reason);
    throw new EngineError(
      'PUSH_FAILED',
      `Pushing to ${destination.toString()} failed: ${(error as Error).message}`,
      {
        hint:
          (error as { hint?: string }).hint ??
          'Check the destination, the credentials and --insecure for plain-HTTP registries.',
        cause: error,
      },
    );
  }
}
