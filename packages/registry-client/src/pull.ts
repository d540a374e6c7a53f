import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import {
  createVerifyingStream,
  formatPlatform,
  isIndexMediaType,
  isManifestMediaType,
  MediaType,
  parseDigest,
  parseImageConfig,
  parseManifestDocument,
  platformMatches,
  selectManifest,
} from '@kiln/oci-spec';
import type {
  Descriptor,
  ImageConfig,
  ImageManifest,
  ImageReference,
  Platform,
  VerifyingStream,
} from '@kiln/oci-spec';

import { repositoryScope } from './challenge.js';
import type { ClientCore } from './core.js';
import { withEndpoints } from './core.js';
import { RegistryError } from './errors.js';
import { headerValue } from './http.js';
import { progressReporter } from './progress.js';
import { isRetryableNetworkError } from './retry.js';
import type { Endpoint } from './transport.js';

/** Every manifest media type the client can read, as sent in Accept. */
export const MANIFEST_ACCEPT = [
  MediaType.OciIndex,
  MediaType.OciManifest,
  MediaType.DockerManifestList,
  MediaType.DockerManifest,
];

// The distribution spec lets registries reject manifests above 4 MiB, so nothing larger is read.
const MANIFEST_SIZE_LIMIT = 4 * 1024 * 1024;
const SCHEMA1_TYPES = new Set([
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
]);

export interface ManifestResult {
  descriptor: Descriptor;
  bytes: Uint8Array;
  mediaType: string;
}

export interface ResolvedImage {
  /** The reference pinned to the digest of the platform's manifest. */
  reference: ImageReference;
  manifestDescriptor: Descriptor;
  manifest: ImageManifest;
  manifestBytes: Uint8Array;
  config: ImageConfig;
  configDescriptor: Descriptor;
  configBytes: Uint8Array;
}

function hashOf(algorithm: string, bytes: Uint8Array): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

function mismatch(
  endpoint: Endpoint,
  what: string,
  expected: string,
  actual: string,
): RegistryError {
  return new RegistryError(
    'DIGEST_MISMATCH',
    `${what} from ${endpoint.host}/${endpoint.repository} has digest ${actual}, expected ${expected}`,
    {
      hint: 'The registry or a proxy returned corrupt content; try again or use another mirror.',
      registry: endpoint.host,
      repository: endpoint.repository,
      digest: expected,
    },
  );
}

/** Fetches a manifest or index by tag or digest and checks its digest. */
export async function getManifest(
  core: ClientCore,
  reference: ImageReference,
  accept: string[] = MANIFEST_ACCEPT,
): Promise<ManifestResult> {
  const identifier = reference.digest ?? reference.tag ?? 'latest';
  return withEndpoints(core, reference, 'pull', async (endpoint) => {
    const response = await core.http.request(endpoint, {
      method: 'GET',
      target: `/v2/${endpoint.repository}/manifests/${identifier}`,
      headers: { accept: accept.join(', ') },
      scopes: [repositoryScope(endpoint.repository, 'pull')],
      expect: [200],
      followRedirects: true,
      what: `manifest ${identifier}`,
      digest: reference.digest,
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body) {
      size += (chunk as Buffer).length;
      if (size > MANIFEST_SIZE_LIMIT) {
        response.body.destroy();
        throw new RegistryError(
          'INVALID_RESPONSE',
          `manifest ${identifier} on ${endpoint.host}/${endpoint.repository} is larger than ${MANIFEST_SIZE_LIMIT} bytes`,
          {
            hint: 'Registries limit manifests to 4 MiB; this is not an image manifest.',
            registry: endpoint.host,
            repository: endpoint.repository,
          },
        );
      }
      chunks.push(chunk as Buffer);
    }
    const bytes = new Uint8Array(Buffer.concat(chunks));
    const contentType = (headerValue(response.headers, 'content-type') ?? '').split(';')[0]!.trim();
    if (SCHEMA1_TYPES.has(contentType)) {
      throw new RegistryError(
        'UNSUPPORTED_MANIFEST',
        `${reference.toString()} is a Docker schema 1 manifest, which is not supported`,
        {
          hint: 'Schema 1 is deprecated; push the image again with a current docker or skopeo to get a schema 2 or OCI manifest.',
          registry: endpoint.host,
          repository: endpoint.repository,
        },
      );
    }

    const algorithm =
      reference.digest === undefined ? 'sha256' : parseDigest(reference.digest).algorithm;
    const digest = hashOf(algorithm, bytes);
    if (reference.digest !== undefined && digest !== reference.digest) {
      throw mismatch(endpoint, `manifest ${identifier}`, reference.digest, digest);
    }
    const served = headerValue(response.headers, 'docker-content-digest');
    if (served !== undefined && served.startsWith(`${algorithm}:`) && served !== digest) {
      throw mismatch(endpoint, `manifest ${identifier}`, served, digest);
    }

    let document;
    try {
      document = parseManifestDocument(bytes, contentType === '' ? undefined : contentType);
    } catch (error) {
      const message = (error as Error).message;
      const schema1 = /schema 1/i.test(message);
      throw new RegistryError(
        schema1 ? 'UNSUPPORTED_MANIFEST' : 'INVALID_RESPONSE',
        `manifest ${reference.toString()} from ${endpoint.host}: ${message}`,
        {
          hint: schema1
            ? 'Schema 1 is deprecated; push the image again with a current docker or skopeo.'
            : 'The registry returned a document that is not a valid manifest.',
          registry: endpoint.host,
          repository: endpoint.repository,
          digest,
          cause: error,
        },
      );
    }
    const declared =
      document.kind === 'index' ? document.index.mediaType : document.manifest.mediaType;
    const byKind = document.kind === 'index' ? MediaType.OciIndex : MediaType.OciManifest;
    // A generic Content-Type such as application/json says nothing, so the document decides.
    const servedKnown = isIndexMediaType(contentType) || isManifestMediaType(contentType);
    const mediaType = servedKnown ? contentType : (declared ?? byKind);
    return { descriptor: { mediaType, digest, size: bytes.length }, bytes, mediaType };
  });
}

/** Resolves a reference to one platform's manifest and config, choosing from an index when needed. */
export async function resolveImage(
  core: ClientCore,
  reference: ImageReference,
  platform: Platform,
): Promise<ResolvedImage> {
  let result = await getManifest(core, reference);
  let document = parseManifestDocument(result.bytes, result.mediaType);
  let pinned = reference.withDigest(result.descriptor.digest);

  if (document.kind === 'index') {
    const chosen = selectManifest(document.index, platform);
    if (chosen === undefined) {
      const available = document.index.manifests
        .map((entry) => (entry.platform === undefined ? undefined : formatPlatform(entry.platform)))
        .filter((entry): entry is string => entry !== undefined);
      throw new RegistryError(
        'PLATFORM_NOT_FOUND',
        `${reference.toString()} has no image for ${formatPlatform(platform)}; it has ${available.join(', ') || 'no platform entries'}`,
        {
          hint: 'Choose one of the listed platforms.',
          registry: reference.registry,
          repository: reference.repository,
          digest: result.descriptor.digest,
        },
      );
    }
    pinned = reference.withDigest(chosen.digest);
    result = await getManifest(core, pinned);
    document = parseManifestDocument(result.bytes, result.mediaType);
    if (document.kind !== 'manifest') {
      throw new RegistryError(
        'UNSUPPORTED_MANIFEST',
        `${pinned.toString()} is an index inside an index, which is not supported`,
        {
          hint: 'Reference the platform manifest by digest instead.',
          registry: reference.registry,
          repository: reference.repository,
          digest: chosen.digest,
        },
      );
    }
  }
  const manifest = document.manifest;
  const configBytes = await fetchSmallBlob(core, pinned, manifest.config);
  let config: ImageConfig;
  try {
    config = parseImageConfig(configBytes);
  } catch (error) {
    throw new RegistryError(
      'INVALID_RESPONSE',
      `config ${manifest.config.digest} of ${pinned.toString()}: ${(error as Error).message}`,
      {
        hint: 'The image config is invalid; rebuild the image.',
        registry: reference.registry,
        repository: reference.repository,
        digest: manifest.config.digest,
        cause: error,
      },
    );
  }
  // Like docker, a single-platform image of another platform is used, with a warning event.
  const imagePlatform = {
    os: config.os,
    architecture: config.architecture,
    variant: config.variant,
  };
  if (!platformMatches(platform, imagePlatform)) {
    core.emit({
      type: 'platform-mismatch',
      reference: pinned.toString(),
      requested: formatPlatform(platform),
      actual: formatPlatform(imagePlatform),
    });
  }
  return {
    reference: pinned,
    manifestDescriptor: result.descriptor,
    manifest,
    manifestBytes: result.bytes,
    config,
    configDescriptor: manifest.config,
    configBytes,
  };
}

/** Reads a small blob such as a config into memory, verified. */
export async function fetchSmallBlob(
  core: ClientCore,
  reference: ImageReference,
  descriptor: Descriptor,
): Promise<Uint8Array> {
  const stream = await fetchBlob(core, reference, descriptor);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return new Uint8Array(Buffer.concat(chunks));
}

/**
 * Opens a blob as a stream that is verified against the descriptor's digest and size: it errors
 * at its end on a mismatch. A connection cut midway is resumed with a Range request, or the
 * blob is read again from the start with the bytes already delivered skipped.
 */
export async function fetchBlob(
  core: ClientCore,
  reference: ImageReference,
  descriptor: Descriptor,
): Promise<VerifyingStream> {
  const release = await core.pullLimiter.acquire();
  let first: {
    endpoint: Endpoint;
    body: AsyncIterable<unknown> & { destroy(): void };
    status: number;
  };
  try {
    first = await withEndpoints(core, reference, 'pull', async (endpoint) => {
      const response = await openBlob(core, endpoint, descriptor, 0);
      return { endpoint, body: response.body, status: response.status };
    });
  } catch (error) {
    release();
    throw error;
  }

  const verifier = createVerifyingStream({ digest: descriptor.digest, size: descriptor.size });
  const source = Readable.from(blobChunks(core, first.endpoint, descriptor, first.body));
  source.once('close', release);
  source.pipe(verifier);
  source.once('error', (error) => verifier.destroy(error));
  verifier.once('close', () => source.destroy());
  verifier.on('error', () => undefined);
  return verifier;
}

async function openBlob(
  core: ClientCore,
  endpoint: Endpoint,
  descriptor: Descriptor,
  offset: number,
) {
  return core.http.request(endpoint, {
    method: 'GET',
    target: `/v2/${endpoint.repository}/blobs/${descriptor.digest}`,
    headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
    scopes: [repositoryScope(endpoint.repository, 'pull')],
    expect: offset > 0 ? [200, 206] : [200],
    followRedirects: true,
    what: `blob ${descriptor.digest}`,
    digest: descriptor.digest,
  });
}

/** Yields a blob's bytes, reopening the transfer after a reset until the retry budget is spent. */
async function* blobChunks(
  core: ClientCore,
  endpoint: Endpoint,
  descriptor: Descriptor,
  initial: AsyncIterable<unknown> & { destroy(): void },
): AsyncGenerator<Buffer> {
  let body = initial;
  let delivered = 0;
  let skip = 0;
  let attempt = 0;
  let resumedFrom = 0;
  const repository = endpoint.repository;
  const report = progressReporter(core.emit, 'pull', repository, descriptor);
  try {
    for (;;) {
      try {
        for await (const chunk of body) {
          let buffer = chunk as Buffer;
          if (skip > 0) {
            // The server ignored Range: drop what the consumer already has.
            const dropped = Math.min(skip, buffer.length);
            skip -= dropped;
            buffer = buffer.subarray(dropped);
            if (buffer.length === 0) continue;
          }
          delivered += buffer.length;
          report(delivered);
          yield buffer;
        }
        core.emit({
          type: 'blob-pulled',
          repository,
          digest: descriptor.digest,
          size: delivered,
          resumed: resumedFrom,
        });
        return;
      } catch (error) {
        body.destroy();
        if (
          !isRetryableNetworkError(error) ||
          attempt >= core.http.policy.retries ||
          delivered >= descriptor.size
        )
          throw error;
        attempt++;
        await core.http.backoff(
          'GET',
          `${endpoint.host}/v2/${repository}/blobs/${descriptor.digest}`,
          attempt,
          `download cut after ${delivered} bytes`,
        );
        const response = await openBlob(core, endpoint, descriptor, delivered);
        const range = headerValue(response.headers, 'content-range');
        if (
          response.status === 206 &&
          range !== undefined &&
          range.startsWith(`bytes ${delivered}-`)
        ) {
          skip = 0;
        } else if (response.status === 200) {
          skip = delivered;
        } else {
          response.body.destroy();
          throw new RegistryError(
            'INVALID_RESPONSE',
            `resuming blob ${descriptor.digest} on ${endpoint.host}/${repository} at byte ${delivered} returned an unexpected range ${range ?? '(none)'}`,
            {
              registry: endpoint.host,
              repository,
              digest: descriptor.digest,
            },
          );
        }
        resumedFrom = delivered;
        body = response.body;
      }
    }
  } finally {
    body.destroy();
  }
}

/** Downloads a blob to `destPath` through a temporary file that is renamed into place only when verified. */
export async function downloadBlob(
  core: ClientCore,
  reference: ImageReference,
  descriptor: Descriptor,
  destPath: string,
): Promise<void> {
  const temp = join(
    dirname(destPath),
    `.${basename(destPath)}.${randomBytes(6).toString('hex')}.part`,
  );
  try {
    const stream = await fetchBlob(core, reference, descriptor);
    await pipeline(stream, createWriteStream(temp, { flags: 'wx' }));
    if (!stream.verified) {
      throw new RegistryError(
        'DIGEST_MISMATCH',
        `blob ${descriptor.digest} from ${reference.name()} ended without being verified`,
        {
          registry: reference.registry,
          repository: reference.repository,
          digest: descriptor.digest,
        },
      );
    }
    await rename(temp, destPath);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
