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
import type { RetryBudget } from './retry.js';
import type { Endpoint } from './transport.js';

/** State of pushing one blob, shared by its upload sessions and the requests of each. */
export interface UploadState {
  /** Retries left for all requests and restarts of this blob. */
  budget: RetryBudget;
  signal: AbortSignal | undefined;
  /** Latest Location of the open upload session; undefined when none is open or it was committed. */
  location: string | undefined;
  /** True once a chunk of the open session was resumed after a failed PATCH. */
  resumed: boolean;
}

export function startUpload(
  core: ClientCore,
  endpoint: Endpoint,
  descriptor: Descriptor,
  scopes: string[],
  state: UploadState,
): Promise<RegistryResponse> {
  return core.http.request(endpoint, {
    method: 'POST',
    target: `/v2/${endpoint.repository}/blobs/uploads/`,
    headers: { 'content-length': '0' },
    scopes,
    expect: [202],
    retryBudget: state.budget,
    signal: state.signal,
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
  scopes: string[],
  state: UploadState,
): Promise<RegistryResponse> {
  return core.http.request(endpoint, {
    method: 'PUT',
    target: withDigest(openLocation(state), descriptor.digest),
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
    signal: state.signal,
    what: `upload of blob ${descriptor.digest}`,
    digest: descriptor.digest,
  });
}

export async function uploadChunked(
  core: ClientCore,
  endpoint: Endpoint,
  descriptor: Descriptor,
  open: BlobOpener,
  scopes: string[],
  state: UploadState,
  chunkSize: number,
): Promise<RegistryResponse> {
  let offset = 0;
  const hash = createHash(parseDigest(descriptor.digest).algorithm);
  const report = progressReporter(core.emit, 'push', endpoint.repository, descriptor);
  const source = await open();

  try {
    for await (const chunk of chunksOf(source, chunkSize)) {
      hash.update(chunk);
      await sendChunk(core, endpoint, descriptor, scopes, state, chunk, offset);
      offset += chunk.length;
      report(offset);
    }
  } finally {
    source.destroy();
  }

  const actual = `${parseDigest(descriptor.digest).algorithm}:${hash.digest('hex')}`;
  if (actual !== descriptor.digest || offset !== descriptor.size) {
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
    target: withDigest(openLocation(state), descriptor.digest),
    headers: { 'content-length': '0' },
    scopes,
    expect: [201],
    retry: false,
    signal: state.signal,
    what: `commit of blob ${descriptor.digest}`,
    digest: descriptor.digest,
  });
}

/**
 * Sends one chunk that starts at byte `offset` of the blob. When the PATCH fails, it requests the
 * session's status to learn how much the registry stored and sends the rest of the chunk. It
 * raises the PATCH's error when the registry rejects the session or stored an offset outside the
 * chunk, so the caller restarts the upload.
 */
async function sendChunk(
  core: ClientCore,
  endpoint: Endpoint,
  descriptor: Descriptor,
  scopes: string[],
  state: UploadState,
  chunk: Buffer,
  offset: number,
): Promise<void> {
  const end = offset + chunk.length - 1;
  let start = offset;
  for (;;) {
    try {
      const response = await core.http.request(endpoint, {
        method: 'PATCH',
        target: openLocation(state),
        headers: {
          'content-type': 'application/octet-stream',
          'content-length': String(end + 1 - start),
          'content-range': `${start}-${end}`,
        },
        body: () => chunk.subarray(start - offset),
        scopes,
        expect: [202],
        retry: false,
        signal: state.signal,
        what: `chunk ${start}-${end} of blob ${descriptor.digest}`,
        digest: descriptor.digest,
      });
      await response.body.dump();
      state.location = uploadLocation(response, endpoint, descriptor);
      return;
    } catch (error) {
      if (!isRestartable(error)) throw error;
      // docker-registry 2.8.2 keeps a session cut before it wrote any of the PATCH body and
      // reports its size. After a cut in the middle of a write, its stored size no longer matches
      // the offset in the state token, so it returns 404 BLOB_UPLOAD_INVALID and the upload restarts.
      const stored = await storedLength(core, endpoint, descriptor, scopes, state);
      if (stored === undefined || stored < offset || stored > end + 1) throw error;
      // The registry stored the whole chunk and only its response was lost.
      if (stored > end) return;
      const retry = state.budget.take();
      if (retry === undefined) throw error;
      await core.http.backoff(
        'push',
        'resume',
        `${endpoint.host}/v2/${endpoint.repository}/blobs/${descriptor.digest}`,
        retry,
        `${(error as Error).message}; resuming at byte ${stored}`,
        state.signal,
      );
      start = stored;
      state.resumed = true;
    }
  }
}

/**
 * Returns how many bytes the open session holds, from the Range of a GET on its location (the
 * spec's upload status request), and moves the session to the Location that GET returns.
 * Returns undefined when the registry does not report a usable status.
 */
async function storedLength(
  core: ClientCore,
  endpoint: Endpoint,
  descriptor: Descriptor,
  scopes: string[],
  state: UploadState,
): Promise<number | undefined> {
  let response: RegistryResponse;
  try {
    response = await core.http.request(endpoint, {
      method: 'GET',
      target: openLocation(state),
      scopes,
      expect: [204],
      retry: false,
      signal: state.signal,
      what: `status of the upload of blob ${descriptor.digest}`,
      digest: descriptor.digest,
    });
  } catch (error) {
    if (error instanceof RegistryError && error.code === 'ABORTED') throw error;
    return undefined;
  }
  await response.body.dump();
  const range = /^(?:bytes=)?0-(\d+)$/.exec(headerValue(response.headers, 'range') ?? '');
  // docker-registry 2.8.2 returns "0-0" for an empty session, and the same Range also means one
  // stored byte, so it gives no size.
  if (range === null || range[1] === '0') return undefined;
  if (headerValue(response.headers, 'location') !== undefined) {
    state.location = uploadLocation(response, endpoint, descriptor);
  }
  return Number(range[1]) + 1;
}

function openLocation(state: UploadState): string {
  if (state.location === undefined) throw new Error('internal error: no upload session is open');
  return state.location;
}

/**
 * Upload failures worth a fresh session: network errors, timeouts, 5xx, 429, or a lost session.
 * After a resume, a commit rejected for its digest or size also restarts, because the cut PATCH
 * may have written to the session after the registry reported its size.
 */
export function isRestartable(error: unknown, state?: UploadState): boolean {
  if (!(error instanceof RegistryError)) return false;
  if (
    error.code === 'NETWORK_ERROR' ||
    error.code === 'TIMEOUT' ||
    error.code === 'TOOMANYREQUESTS'
  )
    return true;
  if (error.code === 'BLOB_UPLOAD_UNKNOWN' || error.code === 'BLOB_UPLOAD_INVALID') return true;
  if (state?.resumed === true && (error.code === 'DIGEST_INVALID' || error.code === 'SIZE_INVALID'))
    return true;
  return error.status !== undefined && error.status >= 500;
}

/**
 * Deletes an upload session that will not be committed (the spec's upload cancel). It never
 * raises, because the caller's own error matters more, and a failed DELETE only leaves the
 * session for the registry's upload purging to remove.
 * NOTE: docker-registry 2.8.2 rejects this DELETE (404 BLOB_UPLOAD_INVALID) for a session cut in
 * the middle of a write, so that session keeps its data until the purging runs.
 */
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
