import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { createVerifyingStream } from '@kiln/oci-spec';
import type { Descriptor, ImageReference, VerifyingStream } from '@kiln/oci-spec';

import { repositoryScope } from './challenge.js';
import type { ClientCore } from './core.js';
import { withEndpoints } from './core.js';
import { RegistryError } from './errors.js';
import { headerValue } from './http.js';
import { progressReporter } from './progress.js';
import { isRetryableNetworkError } from './retry.js';
import type { Endpoint } from './transport.js';

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
          attempt >= core.http.policy('pull').retries ||
          delivered >= descriptor.size
        )
          throw error;
        attempt++;
        await core.http.backoff(
          'pull',
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
