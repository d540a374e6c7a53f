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

  let lastError: unknown;
  for (const [position, index] of order.entries()) {
    const endpoint = endpoints[index]!;
    try {
      const result = await operation(endpoint);
      if (direction === 'pull') core.preferredEndpoint.set(key, index);
      return result;
    } catch (error) {
      lastError = error;
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
  throw lastError;
}
