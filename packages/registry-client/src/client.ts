import { toReference } from '@kiln/oci-spec';
import type { Descriptor, ImageReference, Platform, VerifyingStream } from '@kiln/oci-spec';

import { Authenticator } from './auth.js';
import type { ClientCore } from './core.js';
import { CredentialStore } from './credentials.js';
import { RegistryError } from './errors.js';
import { RegistryHttp } from './http.js';
import { Limiter } from './limit.js';
import { pushManifest } from './manifest-push.js';
import type { RegistryClientOptions } from './options.js';
import { downloadBlob, fetchBlob } from './blob-pull.js';
import { getManifest, resolveImage } from './pull.js';
import type { ManifestResult, ResolvedImage } from './pull.js';
import { hasBlob, pushBlob, UploadRegistry } from './push.js';
import { checkPushPermission } from './push-permission.js';
import type { BlobOpener, PushBlobOptions, PushBlobOutcome } from './push.js';
import { retryPolicies } from './retry.js';
import { Transport } from './transport.js';

export interface PushImageBlob {
  descriptor: Descriptor;
  open: BlobOpener;
  mountFrom?: string[];
}

export interface PushImageInput {
  manifestBytes: Uint8Array;
  mediaType: string;
  /** Config and layers; they are all in the registry before the manifest is put. */
  blobs: PushImageBlob[];
  /** Cancels the blob uploads (deleting their open upload sessions); the manifest is then not put. */
  signal?: AbortSignal;
}

export interface PushImageResult {
  digest: string;
  /** Outcome for each blob, by digest. */
  blobs: Record<string, PushBlobOutcome>;
}

const DEFAULT_USER_AGENT = 'kiln-registry-client';

/**
 * Client for the OCI distribution API: pulls manifests and blobs (with mirrors and verification),
 * pushes blobs and manifests (with mounts and shared uploads), and authenticates as registries ask.
 */
export class RegistryClient {
  readonly #core: ClientCore;
  readonly #uploads = new UploadRegistry();

  constructor(options: RegistryClientOptions = {}) {
    const concurrency = options.concurrency ?? 4;
    if (
      options.chunkSize !== undefined &&
      (!Number.isSafeInteger(options.chunkSize) || options.chunkSize < 1)
    ) {
      throw new RegistryError('INVALID_OPTIONS', `invalid chunkSize ${options.chunkSize}`, {
        hint: 'Give a positive number of bytes, or leave it unset for monolithic uploads.',
      });
    }
    const userAgent = options.userAgent ?? DEFAULT_USER_AGENT;
    const emit = options.onEvent ?? (() => undefined);
    const credentials = new CredentialStore(options.credentials, options.dockerConfigDir);
    const auth = new Authenticator(credentials, userAgent);
    this.#core = {
      http: new RegistryHttp(
        auth,
        retryPolicies(options.retries, options.pullRetries, options.pushRetries),
        userAgent,
        emit,
      ),
      transport: new Transport(options),
      pullLimiter: new Limiter(concurrency),
      pushLimiter: new Limiter(concurrency),
      emit,
      chunkSize: options.chunkSize,
      preferredEndpoint: new Map(),
    };
  }

  /** Fetches a manifest or index by tag or digest; the digest is checked against the bytes. */
  getManifest(
    reference: ImageReference | string,
    options: { accept?: string[] } = {},
  ): Promise<ManifestResult> {
    return getManifest(this.#core, toReference(reference), options.accept);
  }

  /** Resolves a reference to the manifest and config for `platform`, choosing from an index when needed. */
  resolveImage(reference: ImageReference | string, platform: Platform): Promise<ResolvedImage> {
    return resolveImage(this.#core, toReference(reference), platform);
  }

  /** Opens a blob as a stream that errors at its end unless digest and size match. */
  fetchBlob(reference: ImageReference | string, descriptor: Descriptor): Promise<VerifyingStream> {
    return fetchBlob(this.#core, toReference(reference), descriptor);
  }

  /** Downloads a blob to `destPath`, which appears only once the content is verified. */
  downloadBlob(
    reference: ImageReference | string,
    descriptor: Descriptor,
    destPath: string,
  ): Promise<void> {
    return downloadBlob(this.#core, toReference(reference), descriptor, destPath);
  }

  hasBlob(reference: ImageReference | string, digest: string): Promise<boolean> {
    return hasBlob(this.#core, toReference(reference), digest);
  }

  /** Puts a blob into the reference's repository unless it is there; returns how it got there. */
  pushBlob(
    reference: ImageReference | string,
    descriptor: Descriptor,
    open: BlobOpener,
    options: PushBlobOptions = {},
  ): Promise<PushBlobOutcome> {
    return pushBlob(this.#core, this.#uploads, toReference(reference), descriptor, open, options);
  }

  /** Puts a manifest by tag (or by digest when the reference has no tag) and returns its digest. */
  pushManifest(
    reference: ImageReference | string,
    bytes: Uint8Array,
    mediaType: string,
  ): Promise<string> {
    return pushManifest(this.#core, toReference(reference), bytes, mediaType);
  }

  /**
   * Pushes an image: every blob first (skipping or mounting what the registry has), then the
   * manifest. When any blob fails, the manifest is not put.
   */
  async pushImage(
    reference: ImageReference | string,
    input: PushImageInput,
  ): Promise<PushImageResult> {
    const target = toReference(reference);
    const settled = await Promise.allSettled(
      input.blobs.map((blob) =>
        pushBlob(this.#core, this.#uploads, target, blob.descriptor, blob.open, {
          mountFrom: blob.mountFrom ?? [],
          signal: input.signal,
        }),
      ),
    );
    const failed = settled.find(
      (result): result is PromiseRejectedResult => result.status === 'rejected',
    );
    if (failed !== undefined) throw failed.reason;
    const blobs: Record<string, PushBlobOutcome> = {};
    settled.forEach((result, index) => {
      if (result.status === 'fulfilled')
        blobs[input.blobs[index]!.descriptor.digest] = result.value;
    });
    if (input.signal?.aborted === true) {
      throw new RegistryError(
        'ABORTED',
        `push of ${target.toString()} was aborted before its manifest`,
        {
          hint: 'The push was cancelled through its AbortSignal; run it again to finish it.',
          registry: target.registry,
          repository: target.repository,
          cause: input.signal.reason,
        },
      );
    }
    const digest = await pushManifest(this.#core, target, input.manifestBytes, input.mediaType);
    return { digest, blobs };
  }

  /**
   * Checks that the client may push to the reference's repository by starting an upload and
   * cancelling it. Without push rights it raises UNAUTHORIZED or DENIED, with the credentials
   * source in the hint.
   */
  checkPushPermission(reference: ImageReference | string): Promise<void> {
    return checkPushPermission(this.#core, toReference(reference));
  }

  /** Closes pooled connections. */
  close(): Promise<void> {
    return this.#core.transport.close();
  }
}
