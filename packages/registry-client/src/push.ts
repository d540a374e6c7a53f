import type { Readable } from 'node:stream';

import type { Descriptor, ImageReference } from '@kiln/oci-spec';

import { repositoryScope } from './challenge.js';
import type { ClientCore } from './core.js';
import { RegistryError } from './errors.js';
import { headerValue } from './http.js';
import type { Endpoint } from './transport.js';
import { RetryBudget } from './retry.js';
import {
  cancelUpload,
  chunkMinimum,
  isRestartable,
  startUpload,
  uploadChunked,
  uploadLocation,
  uploadMonolithic,
} from './upload.js';
import type { UploadState } from './upload.js';

export type BlobOpener = () => Readable | Promise<Readable>;

export interface PushBlobOptions {
  /** Repositories of the same registry (names or full references) to try mounting the blob from. */
  mountFrom?: string[];
  /**
   * Cancels the push: requests stop, the open upload session is deleted, and the push raises a
   * RegistryError with code ABORTED.
   */
  signal?: AbortSignal;
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
  state?: UploadState,
): Promise<boolean> {
  const response = await core.http.request(endpoint, {
    method: 'HEAD',
    target: `/v2/${endpoint.repository}/blobs/${digest}`,
    scopes,
    expect: [200, 404],
    retryBudget: state?.budget,
    signal: state?.signal,
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
 * restarted from a new upload session, because a cut request leaves the old session's content
 * unknown, and a chunked upload first tries to resume at the offset the registry reports. All
 * requests and restarts of one blob share the push retry count (see `RetryBudget`). A session
 * that will not be committed is deleted before the restart or the error.
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

  const work = core.pushLimiter.run(() =>
    putBlob(core, endpoint, descriptor, open, mountFrom, options.signal),
  );
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
  signal: AbortSignal | undefined,
): Promise<PushBlobOutcome> {
  const repository = endpoint.repository;
  const scopes = [repositoryScope(repository, 'pull,push')];
  const state: UploadState = {
    budget: new RetryBudget(core.http.policy('push').retries),
    signal,
    location: undefined,
    resumed: false,
  };
  if (await headBlob(core, endpoint, descriptor.digest, scopes, state)) {
    core.emit({ type: 'blob-exists', repository, digest: descriptor.digest });
    return 'exists';
  }

  for (;;) {
    try {
      return await uploadOnce(core, endpoint, descriptor, open, mountFrom, scopes, state);
    } catch (error) {
      if (state.location !== undefined) {
        await cancelUpload(core, endpoint, state.location, scopes);
        state.location = undefined;
      }
      const retry = isRestartable(error, state) ? state.budget.take() : undefined;
      state.resumed = false;
      if (retry === undefined) throw error;
      await core.http.backoff(
        'push',
        'upload',
        `${endpoint.host}/v2/${repository}/blobs/${descriptor.digest}`,
        retry,
        (error as Error).message,
        signal,
      );
    }
  }
}

/** Mounts or uploads the blob through one upload session, kept in `state.location` while open. */
async function uploadOnce(
  core: ClientCore,
  endpoint: Endpoint,
  descriptor: Descriptor,
  open: BlobOpener,
  mountFrom: string[],
  scopes: string[],
  state: UploadState,
): Promise<PushBlobOutcome> {
  const repository = endpoint.repository;
  let minChunk = 0;
  for (const source of mountFrom) {
    const mounted = await core.http.request(endpoint, {
      method: 'POST',
      target: `/v2/${repository}/blobs/uploads/?mount=${encodeURIComponent(descriptor.digest)}&from=${encodeURIComponent(source)}`,
      headers: { 'content-length': '0' },
      scopes: [...scopes, repositoryScope(source, 'pull')],
      expect: [201, 202],
      retryBudget: state.budget,
      signal: state.signal,
      what: `mount of blob ${descriptor.digest} from ${source}`,
      digest: descriptor.digest,
    });
    await mounted.body.dump();
    if (mounted.status === 201) {
      core.emit({ type: 'blob-mounted', repository, from: source, digest: descriptor.digest });
      return 'mounted';
    }
    // 202: the registry did not mount but opened an upload session instead.
    state.location = uploadLocation(mounted, endpoint, descriptor);
    minChunk = chunkMinimum(mounted);
    break;
  }
  if (state.location === undefined) {
    const started = await startUpload(core, endpoint, descriptor, scopes, state);
    state.location = uploadLocation(started, endpoint, descriptor);
    minChunk = chunkMinimum(started);
  }

  const final =
    core.chunkSize === undefined
      ? await uploadMonolithic(core, endpoint, descriptor, open, scopes, state)
      : await uploadChunked(
          core,
          endpoint,
          descriptor,
          open,
          scopes,
          state,
          Math.max(core.chunkSize, minChunk),
        );
  // The PUT committed the session, so there is nothing left to cancel.
  state.location = undefined;
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
}
