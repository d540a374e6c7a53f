import type { ImageReference } from '@kiln/oci-spec';

import { RegistryError } from './errors.js';
import type { RegistryEvent } from './events.js';
import type { RegistryHttp } from './http.js';
import type { Limiter } from './limit.js';
import type { Direction, Endpoint, Transport } from './transport.js';

/** State shared by the pull and push operations of one client. */
export interface ClientCore {
  http: RegistryHttp;
  transport: Transport;
  /**
   * Slots for blob downloads and uploads, kept apart so that an upload whose opener downloads
   * the blob from another registry cannot wait forever for a slot its own kind holds.
   */
  pullLimiter: Limiter;
  pushLimiter: Limiter;
  emit: (event: RegistryEvent) => void;
  chunkSize: number | undefined;
  /** Index of the endpoint that last served each `registry/repository` pull, tried first next time. */
  preferredEndpoint: Map<string, number>;
}

/**
 * Runs `operation` on each endpoint for the reference in turn (mapped hosts and mirrors first,
 * then the registry itself) until one succeeds, and remembers which one did.
 */
export async function withEndpoints<T>(
  core: ClientCore,
  reference: ImageReference,
  direction: Direction,
  operation: (endpoint: Endpoint) => Promise<T>,
): Promise<T> {
  const endpoints = core.transport.endpoints(reference.registry, reference.repository, direction);
  const key = reference.name();
  const preferred = core.preferredEndpoint.get(key) ?? 0;
  // The endpoint that worked last goes first; the others keep their configured order.
  const others = [...endpoints.keys()].filter((index) => index !== preferred);
  const order = preferred < endpoints.length ? [preferred, ...others] : others;

  const failures: Array<{ host: string; error: unknown }> = [];
  for (const [position, index] of order.entries()) {
    const endpoint = endpoints[index]!;
    try {
      const result = await operation(endpoint);
      if (direction === 'pull') core.preferredEndpoint.set(key, index);
      return result;
    } catch (error) {
      failures.push({ host: endpoint.host, error });
      const next = order[position + 1];
      if (next === undefined || !(error instanceof RegistryError)) break;
      core.emit({
        type: 'fallback',
        from: endpoint.host,
        to: endpoints[next]!.host,
        reason: error.message,
      });
    }
  }
  throw mainFailure(failures);
}

/**
 * Picks the error to report when every endpoint failed. The first HTTP error response (such as
 * MANIFEST_UNKNOWN from a mapped host) wins over network failures, which would hide the real cause.
 * The other failures are named after it.
 */
function mainFailure(failures: Array<{ host: string; error: unknown }>): unknown {
  const last = failures[failures.length - 1]!;
  const main =
    failures.find(({ error }) => error instanceof RegistryError && error.status !== undefined) ??
    last;
  const others = failures.filter((failure) => failure !== main);
  if (others.length === 0 || !(main.error instanceof RegistryError)) return main.error;
  const error = main.error;
  const also = others
    .map(({ host, error: other }) => `${host}: ${(other as Error).message}`)
    .join('; ');
  return new RegistryError(error.code, `${error.message} (also failed: ${also})`, {
    hint: error.hint,
    cause: error,
    status: error.status,
    registry: error.registry,
    repository: error.repository,
    digest: error.digest,
    details: error.details,
    credentialSource: error.credentialSource,
  });
}
