import { createHash } from 'node:crypto';

import type { ImageReference } from '@kiln/oci-spec';

import { repositoryScope } from './challenge.js';
import type { ClientCore } from './core.js';
import { RegistryError } from './errors.js';
import { headerValue } from './http.js';

/**
 * Puts a manifest under the reference's tag, or under its digest when it has no tag, with its
 * exact media type as Content-Type. Returns the manifest's sha256 digest.
 */
export async function pushManifest(
  core: ClientCore,
  reference: ImageReference,
  bytes: Uint8Array,
  mediaType: string,
): Promise<string> {
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  if (
    reference.digest !== undefined &&
    reference.tag === undefined &&
    reference.digest !== digest
  ) {
    throw new RegistryError(
      'DIGEST_MISMATCH',
      `manifest for ${reference.toString()} hashes to ${digest}`,
      {
        hint: 'Push by tag, or by the digest of these exact bytes.',
        registry: reference.registry,
        repository: reference.repository,
        digest: reference.digest,
      },
    );
  }
  const identifier = reference.tag ?? digest;
  const endpoint = core.transport.endpoint(reference.registry, reference.repository, 'push', true);
  const response = await core.http.request(endpoint, {
    method: 'PUT',
    target: `/v2/${endpoint.repository}/manifests/${identifier}`,
    headers: { 'content-type': mediaType, 'content-length': String(bytes.length) },
    body: () => bytes,
    scopes: [repositoryScope(endpoint.repository, 'pull,push')],
    expect: [201],
    what: `manifest ${identifier}`,
    digest,
  });
  await response.body.dump();
  const served = headerValue(response.headers, 'docker-content-digest');
  if (served !== undefined && served !== digest) {
    throw new RegistryError(
      'DIGEST_MISMATCH',
      `registry ${endpoint.host} stored manifest ${identifier} of ${endpoint.repository} as ${served}, expected ${digest}`,
      {
        hint: "The registry rewrote the manifest; reference it by the registry's digest.",
        registry: endpoint.host,
        repository: endpoint.repository,
        digest,
      },
    );
  }
  core.emit({
    type: 'manifest-pushed',
    repository: endpoint.repository,
    reference: identifier,
    digest,
    mediaType,
  });
  return digest;
}
