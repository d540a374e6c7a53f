import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';

import { parseDigest } from '@kiln/oci-spec';
import type { Descriptor } from '@kiln/oci-spec';

import { chunksOf } from './chunks.js';
import type { ClientCore } from './core.js';
import { RegistryError } from './errors.js';
import { headerValue } from './http.js';
import type { RegistryResponse } from './http.js';
import { progressReporter } from './progress.js';
import type { BlobOpener } from './push.js';
import type { Endpoint } from './transport.js';

export function startUpload(
  core: ClientCore,
  endpoint: Endpoint,
  descriptor: Descriptor,
  scopes: string[],
): Promise<RegistryResponse> {
  return core.http.request(endpoint, {
    method: 'POST',
    target: `/v2/${endpoint.repository}/blobs/uploads/`,
    headers: { 'content-length': '0' },
    scopes,
    expect: [202],
    what: `upload of blob ${descriptor.digest}`,
    digest: descriptor.digest,
  });
}

export function uploadLocation(
  response: RegistryResponse,
  endpoint: Endpoint,
  descriptor: Descriptor,
): string {
  const location = headerValue(response.headers, 'location');
  if (location === undefined) {
    throw new RegistryError(
      'INVALID_RESPONSE',
      `${endpoint.host} started an upload of ${descriptor.digest} to ${endpoint.repository} without a Location header`,
      {
        hint: 'The registry does not follow the distribution spec.',
        registry: endpoint.host,
        repository: endpoint.repository,
        digest: descriptor.digest,
      },
    );
  }
  return new URL(location, response.url).toString();
}

export function chunkMinimum(response: RegistryResponse): number {
  const value = Number(headerValue(response.headers, 'oci-chunk-min-length'));
  return Number.isSafeInteger(value) && value > 0 ? value : 0;
}

function withDigest(location: string, digest: string): string {
  const url = new URL(location);
  url.searchParams.set('digest', digest);
  return url.toString();
}

/** Counts bytes as they pass and reports progress. */
function progressStream(core: ClientCore, repository: string, descriptor: Descriptor): Transform {
  const report = progressReporter(core.emit, 'push', repository, descriptor);
  let bytes = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      report(bytes);
      callback(null, chunk);
    },
  });
}

export async function uploadMonolithic(
  core: ClientCore,
  endpoint: Endpoint,
  descriptor: Descriptor,
  open: BlobOpener,
  location: string,
  scopes: string[],
): Promise<RegistryResponse> {
  return core.http.request(endpoint, {
    method: 'PUT',
    target: withDigest(location, descriptor.digest),
    headers: {
      'content-type': 'application/octet-stream',
      'content-length': String(descriptor.size),
    },
    body: async () => {
      const source = await open();
      const counter = progressStream(core, endpoint.repository, descriptor);
      source.on('error', (error) => counter.destroy(error));
      return source.pipe(counter);
    },
    scopes,
    expect: [201],
    // A cut PUT may have appended part of the body to the session, so the whole upload restarts instead.
    retry: false,
    what: `upload of blob ${descriptor.digest}`,
    digest: descriptor.digest,
  });
}

export async function uploadChunked(
  core: ClientCore,
  endpoint: Endpoint,
  descriptor: Descriptor,
  open: BlobOpener,
  firstLocation: string,
  scopes: string[],
  chunkSize: number,
): Promise<RegistryResponse> {
  let location = firstLocation;
  let offset = 0;
  const hash = createHash(parseDigest(descriptor.digest).algorithm);
  const report = progressReporter(core.emit, 'push', endpoint.repository, descriptor);
  // NOTE: a failed PATCH restarts the whole upload. Resuming at the offset the registry reports is
  // not attempted: distribution's blob upload handler (registry/handlers/blobupload.go) rejects a
  // session whose stored size differs from the offset in its state token, which a cut PATCH leaves.
  const source = await open();

  try {
    for await (const chunk of chunksOf(source, chunkSize)) {
      hash.update(chunk);
      const end = offset + chunk.length - 1;
      const response = await core.http.request(endpoint, {
        method: 'PATCH',
        target: location,
        headers: {
          'content-type': 'application/octet-stream',
          'content-length': String(chunk.length),
          'content-range': `${offset}-${end}`,
        },
        body: () => chunk,
        scopes,
        expect: [202],
        retry: false,
        what: `chunk ${offset}-${end} of blob ${descriptor.digest}`,
        digest: descriptor.digest,
      });
      await response.body.dump();
      location = uploadLocation(response, endpoint, descriptor);
      offset = end + 1;
      report(offset);
    }
  } finally {
    source.destroy();
  }

  const actual = `${parseDigest(descriptor.digest).algorithm}:${hash.digest('hex')}`;
  if (actual !== descriptor.digest || offset !== descriptor.size) {
    await cancelUpload(core, endpoint, location, scopes);
    throw new RegistryError(
      'DIGEST_MISMATCH',
      `blob content for ${descriptor.digest} (${descriptor.size} bytes) hashed to ${actual} (${offset} bytes); not committing the upload to ${endpoint.repository}`,
      {
        hint: 'The opener returned different content than the descriptor describes.',
        registry: endpoint.host,
        repository: endpoint.repository,
        digest: descriptor.digest,
      },
    );
  }

  return core.http.request(endpoint, {
    method: 'PUT',
    target: withDigest(location, descriptor.digest),
    headers: { 'content-length': '0' },
    scopes,
    expect: [201],
    retry: false,
    what: `commit of blob ${descriptor.digest}`,
    digest: descriptor.digest,
  });
}

/** Deletes an upload session that will not be committed; a failure only leaves it to expire. */
export async function cancelUpload(
  core: ClientCore,
  endpoint: Endpoint,
  location: string,
  scopes: string[],
): Promise<void> {
  try {
    const response = await core.http.request(endpoint, {
      method: 'DELETE',
      target: location,
      scopes,
      expect: [204, 404],
      retry: false,
      what: 'cancel of an upload session',
    });
    await response.body.dump();
  } catch {
    // The registry removes abandoned sessions itself.
  }
}
