import { createHash } from 'node:crypto';

import {
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
} from '@kiln/oci-spec';

import { repositoryScope } from './challenge.js';
import type { ClientCore } from './core.js';
import { withEndpoints } from './core.js';
import { RegistryError } from './errors.js';
import { fetchSmallBlob } from './blob-pull.js';
import { headerValue } from './http.js';
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
    // A generic Content-Type such as application/json does not name the kind, so the document decides.
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
