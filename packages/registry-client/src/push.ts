import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import type { Readable } from 'node:stream';

import { parseDigest } from '@kiln/oci-spec';
import type { Descriptor, ImageReference } from '@kiln/oci-spec';

import { repositoryScope } from './challenge.js';
import type { ClientCore } from './core.js';
import { RegistryError } from './errors.js';
import { headerValue } from './http.js';
import type { RegistryResponse } from './http.js';
import { chunksOf } from './chunks.js';
import { progressReporter } from './progress.js';
import type { Endpoint } from './transport.js';

export type BlobOpener = () => Readable | Promise<Readable>;

export interface PushBlobOptions {
  /** Repositories of the same registry (names or full references) to try mounting the blob from. */
  mountFrom?: string[];
}

/** The way a blob came to be in the repository. */
export type PushBlobOutcome = 'exists' | 'mounted' | 'uploaded';

/**
 * Blobs uploaded or being uploaded per registry origin, so that several destinations in one
 * registry upload each blob once and mount it everywhere else.
 */
export class UploadRegistry {
  readonly #uploads = new Map<string, { repository: string; done: Promise<unknown> }>();

  get(origin: string, digest: string): { repository: string; done: Promise<unknown> } | undefined {
    return this.#uploads.get(`${origin} ${digest}`);
  }

  set(origin: string, digest: string, repository: string, done: Promise<unknown>): void {
    this.#uploads.set(`${origin} ${digest}`, { repository, done });
    // A failed upload must not block the next attempt from uploading.
    done.catch(() => this.#uploads.delete(`${origin} ${digest}`));
  }
}

function pushEndpoint(core: ClientCore, reference: ImageReference): Endpoint {
  return core.transport.endpoint(reference.registry, reference.repository, 'push', true);
}

/** Returns true when the repository has the blob (HEAD returns 200). */
export async function hasBlob(
  core: ClientCore,
  reference: ImageReference,
  digest: string,
  scopes?: string[],
): Promise<boolean> {
  const endpoint = pushEndpoint(core, reference);
  return headBlob(core, endpoint, digest, scopes ?? [repositoryScope(endpoint.repository, 'pull')]);
}

async function headBlob(
  core: ClientCore,
  endpoint: Endpoint,
  digest: string,
  scopes: string[],
): Promise<boolean> {
  const response = await core.http.request(endpoint, {
    method: 'HEAD',
    target: `/v2/${endpoint.repository}/blobs/${digest}`,
    scopes,
    expect: [200, 404],
    followRedirects: true,
    what: `blob ${digest}`,
    digest,
  });
  await response.body.dump();
  return response.status === 200;
}

/** Returns the repository part of a mount source given as a name or a full reference of the same registry. */
function mountRepository(source: string, reference: ImageReference): string | undefined {
  const prefix = `${reference.registry}/`;
  if (source.startsWith(prefix)) return source.slice(prefix.length).replace(/[:@].*$/, '');
  if (/^[^/]+[.:][^/]*\//.test(source) || source.startsWith('localhost/')) return undefined;
  return source.replace(/[:@].*$/, '');
}

/**
 * Puts a blob into the repository: skipped when HEAD finds it, mounted from another repository
 * of the registry when possible, else uploaded monolithically or in chunks. A failed upload is
 * restarted from a new upload session, because a cut request leaves the old session's content unknown.
 */
export async function pushBlob(
  core: ClientCore,
  uploads: UploadRegistry,
  reference: ImageReference,
  descriptor: Descriptor,
  open: BlobOpener,
  options: PushBlobOptions = {},
): Promise<PushBlobOutcome> {
  const endpoint = pushEndpoint(core, reference);
  const mountFrom = (options.mountFrom ?? [])
    .map((source) => mountRepository(source, reference))
    .filter((source): source is string => source !== undefined && source !== endpoint.repository);

  const earlier = uploads.get(endpoint.origin, descriptor.digest);
  if (earlier !== undefined && earlier.repository !== endpoint.repository) {
    // Another destination in this registry uploads the same blob: wait, then mount from it.
    await earlier.done.catch(() => undefined);
    mountFrom.unshift(earlier.repository);
  }

  const work = core.pushLimiter.run(() => putBlob(core, endpoint, descriptor, open, mountFrom));
  if (earlier === undefined)
    uploads.set(endpoint.origin, descriptor.digest, endpoint.repository, work);
  return work;
}

async function putBlob(
  core: ClientCore,
  endpoint: Endpoint,
  descriptor: Descriptor,
  open: BlobOpener,
  mountFrom: string[],
): Promise<PushBlobOutcome> {
  const repository = endpoint.repository;
  const scopes = [repositoryScope(repository, 'pull,push')];
  if (await headBlob(core, endpoint, descriptor.digest, scopes)) {
    core.emit({ type: 'blob-exists', repository, digest: descriptor.digest });
    return 'exists';
  }

  for (let attempt = 0; ; attempt++) {
    try {
      let location: string | undefined;
      let minChunk = 0;
      for (const source of mountFrom) {
        const mounted = await core.http.request(endpoint, {
          method: 'POST',
          target: `/v2/${repository}/blobs/uploads/?mount=${encodeURIComponent(descriptor.digest)}&from=${encodeURIComponent(source)}`,
          headers: { 'content-length': '0' },
          scopes: [...scopes, repositoryScope(source, 'pull')],
          expect: [201, 202],
          what: `mount of blob ${descriptor.digest} from ${source}`,
          digest: descriptor.digest,
        });
        await mounted.body.dump();
        if (mounted.status === 201) {
          core.emit({ type: 'blob-mounted', repository, from: source, digest: descriptor.digest });
          return 'mounted';
        }
        // 202: the registry did not mount but opened an upload session instead.
        location = uploadLocation(mounted, endpoint, descriptor);
        minChunk = chunkMinimum(mounted);
        break;
      }
      if (location === undefined) {
        const started = await startUpload(core, endpoint, descriptor, scopes);
        location = uploadLocation(started, endpoint, descriptor);
        minChunk = chunkMinimum(started);
      }

      const final =
        core.chunkSize === undefined
          ? await uploadMonolithic(core, endpoint, descriptor, open, location, scopes)
          : await uploadChunked(
              core,
              endpoint,
              descriptor,
              open,
              location,
              scopes,
              Math.max(core.chunkSize, minChunk),
            );
      const served = headerValue(final.headers, 'docker-content-digest');
      await final.body.dump();
      if (served !== undefined && served !== descriptor.digest) {
        throw new RegistryError(
          'DIGEST_MISMATCH',
          `registry ${endpoint.host} stored blob ${descriptor.digest} of ${repository} as ${served}`,
          {
            registry: endpoint.host,
            repository,
            digest: descriptor.digest,
          },
        );
      }
      core.emit({
        type: 'blob-pushed',
        repository,
        digest: descriptor.digest,
        size: descriptor.size,
      });
      return 'uploaded';
    } catch (error) {
      if (!isRestartable(error) || attempt >= core.http.policy.retries) throw error;
      await core.http.backoff(
        'upload',
        `${endpoint.host}/v2/${repository}/blobs/${descriptor.digest}`,
        attempt + 1,
        (error as Error).message,
      );
    }
  }
}

/** Upload failures worth a fresh session: network errors, timeouts, 5xx, 429, or a lost session. */
function isRestartable(error: unknown): boolean {
  if (!(error instanceof RegistryError)) return false;
  if (
    error.code === 'NETWORK_ERROR' ||
    error.code === 'TIMEOUT' ||
    error.code === 'TOOMANYREQUESTS'
  )
    return true;
  if (error.code === 'BLOB_UPLOAD_UNKNOWN' || error.code === 'BLOB_UPLOAD_INVALID') return true;
  return error.status !== undefined && error.status >= 500;
}

function startUpload(
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

function uploadLocation(
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

function chunkMinimum(response: RegistryResponse): number {
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

async function uploadMonolithic(
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

async function uploadChunked(
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
