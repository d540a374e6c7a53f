import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

import type { Dispatcher } from 'undici';

import type { Authenticator } from './auth.js';
import { withCredentialHint } from './credential-hint.js';
import { errorFromResponse, RegistryError } from './errors.js';
import type { RegistryEvent } from './events.js';
import type { RetryBudget, RetryPolicies, RetryPolicy } from './retry.js';
import {
  errorCodeOf,
  isRetryableNetworkError,
  isRetryableStatus,
  parseRetryAfter,
  retryDelay,
} from './retry.js';
import type { Endpoint } from './transport.js';

export type RequestBody = string | Uint8Array | Readable;

export interface RegistryRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** A path such as `/v2/NAME/manifests/TAG`, or an absolute URL from a Location header. */
  target: string;
  headers?: Record<string, string>;
  /** Called once per attempt, so a stream body can be opened again for a retry. */
  body?: () => RequestBody | Promise<RequestBody>;
  scopes: string[];
  /** Statuses returned to the caller; any other is raised as a RegistryError. */
  expect: number[];
  /** Retry on 429, 5xx and connection resets. Off for requests whose failure leaves server state unknown. */
  retry?: boolean;
  /** Shared with the other requests of one operation; without it the request has its own `retries`. */
  retryBudget?: RetryBudget;
  /** Aborts the request and any wait before a retry; the error then has code ABORTED. */
  signal?: AbortSignal;
  /** Follow redirects (GET and HEAD only); Authorization is dropped when the host changes. */
  followRedirects?: boolean;
  /** For error messages: what was requested, such as "manifest latest". */
  what: string;
  digest?: string;
}

export interface RegistryResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
  /** URL the response came from, after redirects. */
  url: URL;
}

const MAX_REDIRECTS = 5;
const MAX_AUTH_ATTEMPTS = 2;
// Enough of an error body to read the spec's error envelope.
const ERROR_BODY_LIMIT = 64 * 1024;

export function headerValue(
  headers: RegistryResponse['headers'],
  name: string,
): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Sends registry requests with authentication, retries with backoff, and typed errors. */
export class RegistryHttp {
  readonly #auth: Authenticator;
  readonly #policies: RetryPolicies;
  readonly #userAgent: string;
  readonly #emit: (event: RegistryEvent) => void;

  constructor(
    auth: Authenticator,
    policies: RetryPolicies,
    userAgent: string,
    emit: (event: RegistryEvent) => void,
  ) {
    this.#auth = auth;
    this.#policies = policies;
    this.#userAgent = userAgent;
    this.#emit = emit;
  }

  /** Returns the retry policy of pull or push requests. */
  policy(direction: Endpoint['direction']): RetryPolicy {
    return this.#policies[direction];
  }

  /**
   * Sends a request, retrying and authenticating as needed. A 401 or 403 names the credentials
   * source in its hint (see `withCredentialHint`).
   */
  async request(endpoint: Endpoint, request: RegistryRequest): Promise<RegistryResponse> {
    try {
      return await this.#request(endpoint, request);
    } catch (error) {
      if (!(error instanceof RegistryError) || (error.status !== 401 && error.status !== 403))
        throw error;
      const source = await this.#auth.credentialSource(endpoint.host).catch(() => undefined);
      throw source === undefined ? error : withCredentialHint(error, source, endpoint);
    }
  }

  async #request(endpoint: Endpoint, request: RegistryRequest): Promise<RegistryResponse> {
    const policy = this.#policies[endpoint.direction];
    let url = new URL(request.target, `${endpoint.origin}/`);
    let attempt = 0;
    // Returns the number of the next retry, or undefined when the retries are used up.
    const nextRetry = (): number | undefined => {
      if (request.retry === false) return undefined;
      if (request.retryBudget !== undefined) return request.retryBudget.take();
      return attempt < policy.retries ? attempt + 1 : undefined;
    };
    let authAttempts = 0;
    let redirects = 0;
    for (;;) {
      const sameHost = url.origin === endpoint.origin;
      const authContext = {
        host: endpoint.host,
        origin: endpoint.origin,
        dispatcher: endpoint.dispatcher,
        scopes: request.scopes,
      };
      const authorization = sameHost ? await this.#auth.authorization(authContext) : undefined;
      const headers: Record<string, string> = { 'user-agent': this.#userAgent, ...request.headers };
      if (authorization !== undefined) headers.authorization = authorization;

      let response: Dispatcher.ResponseData;
      try {
        response = await endpoint.dispatcher.request({
          origin: url.origin,
          path: `${url.pathname}${url.search}`,
          method: request.method,
          headers,
          body: request.body === undefined ? undefined : await request.body(),
          signal: request.signal,
        });
      } catch (error) {
        if (request.signal?.aborted === true) throw abortedError(request, endpoint, error);
        const retry = isRetryableNetworkError(error) ? nextRetry() : undefined;
        if (retry !== undefined) {
          attempt = retry;
          await this.#wait(
            policy,
            endpoint,
            request,
            url,
            attempt,
            undefined,
            `network error ${errorCodeOf(error) ?? (error as Error).message}`,
          );
          continue;
        }
        throw networkError(error, request, endpoint);
      }

      const status = response.statusCode;
      if (status === 401 && sameHost && authAttempts < MAX_AUTH_ATTEMPTS) {
        authAttempts++;
        await response.body.dump();
        const challenge = headerValue(response.headers, 'www-authenticate');
        if (await this.#auth.onUnauthorized(authContext, challenge, authorization)) continue;
        throw errorFromResponse({
          method: request.method,
          status,
          body: '',
          registry: endpoint.host,
          repository: endpoint.repository,
          digest: request.digest,
          what: request.what,
        });
      }

      if (request.followRedirects && status >= 300 && status < 400 && status !== 304) {
        const location = headerValue(response.headers, 'location');
        await response.body.dump();
        if (location === undefined || redirects >= MAX_REDIRECTS) {
          throw new RegistryError(
            'INVALID_RESPONSE',
            `${request.method} ${request.what} on ${endpoint.host}/${endpoint.repository}: too many redirects or a redirect without Location`,
            {
              registry: endpoint.host,
              repository: endpoint.repository,
              digest: request.digest,
              status,
            },
          );
        }
        redirects++;
        url = new URL(location, url);
        continue;
      }

      if (request.expect.includes(status)) {
        return { status, headers: response.headers, body: response.body, url };
      }

      const retry = isRetryableStatus(status) ? nextRetry() : undefined;
      if (retry !== undefined) {
        attempt = retry;
        await response.body.dump();
        const retryAfter = parseRetryAfter(headerValue(response.headers, 'retry-after'));
        await this.#wait(policy, endpoint, request, url, attempt, retryAfter, `HTTP ${status}`);
        continue;
      }

      const body = await readLimited(response.body, ERROR_BODY_LIMIT);
      throw errorFromResponse({
        method: request.method,
        status,
        body,
        registry: endpoint.host,
        repository: endpoint.repository,
        digest: request.digest,
        what: request.what,
      });
    }
  }

  async #wait(
    policy: RetryPolicy,
    endpoint: Endpoint,
    request: RegistryRequest,
    url: URL,
    attempt: number,
    retryAfterMs: number | undefined,
    reason: string,
  ): Promise<void> {
    const delayMs = retryDelay(policy, attempt, retryAfterMs);
    this.#emit({
      type: 'retry',
      method: request.method,
      target: `${url.host}${url.pathname}`,
      attempt,
      delayMs,
      reason,
    });
    await sleepUnlessAborted(delayMs, request.signal, () => abortedError(request, endpoint));
  }

  /** Waits before a retry that the caller runs itself, such as restarting a blob upload. */
  async backoff(
    direction: Endpoint['direction'],
    what: string,
    target: string,
    attempt: number,
    reason: string,
    signal?: AbortSignal,
  ): Promise<void> {
    const delayMs = retryDelay(this.#policies[direction], attempt);
    this.#emit({ type: 'retry', method: what, target, attempt, delayMs, reason });
    await sleepUnlessAborted(
      delayMs,
      signal,
      () =>
        new RegistryError('ABORTED', `${what} of ${target} was aborted`, {
          hint: 'The operation was cancelled through its AbortSignal; run it again to finish it.',
          cause: signal?.reason,
        }),
    );
  }
}

/** Sleeps, or raises `onAbort()` as soon as the signal aborts. */
async function sleepUnlessAborted(
  delayMs: number,
  signal: AbortSignal | undefined,
  onAbort: () => unknown,
): Promise<void> {
  try {
    await sleep(delayMs, undefined, { signal });
  } catch (error) {
    if (signal?.aborted === true) throw onAbort();
    throw error;
  }
}

/** Builds the error for a request cancelled through its AbortSignal, with the signal's reason as cause. */
export function abortedError(
  request: Pick<RegistryRequest, 'method' | 'what' | 'digest' | 'signal'>,
  endpoint: Endpoint,
  cause?: unknown,
): RegistryError {
  return new RegistryError(
    'ABORTED',
    `${request.method} ${request.what} on ${endpoint.host}/${endpoint.repository} was aborted`,
    {
      hint: 'The operation was cancelled through its AbortSignal; run it again to finish it.',
      registry: endpoint.host,
      repository: endpoint.repository,
      digest: request.digest,
      cause: request.signal?.reason ?? cause,
    },
  );
}

async function readLimited(body: Dispatcher.ResponseData['body'], limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      const buffer = chunk as Buffer;
      chunks.push(buffer);
      size += buffer.length;
      if (size >= limit) {
        body.destroy();
        break;
      }
    }
  } catch {
    // A truncated error body may still contain the error envelope.
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

const TLS_CODES =
  /^(?:ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|ERR_SSL_)/;

/** Turns a thrown transport error into a RegistryError that names the host and what failed. */
export function networkError(
  error: unknown,
  request: Pick<RegistryRequest, 'method' | 'what' | 'digest'>,
  endpoint: Endpoint,
): RegistryError {
  const code = errorCodeOf(error) ?? '';
  const where = `${endpoint.host}/${endpoint.repository}`;
  const message = (error as Error).message;
  if (TLS_CODES.test(code) || /certificate|ssl|tls/i.test(message)) {
    return new RegistryError(
      'TLS_ERROR',
      `${request.method} ${request.what} on ${where} failed: TLS error ${code || message}`,
      {
        hint: "Trust the registry's CA (registryCertificates), or use skipTlsVerify or insecure for a test registry.",
        registry: endpoint.host,
        repository: endpoint.repository,
        digest: request.digest,
        cause: error,
      },
    );
  }
  const timeout = /TIMEOUT/.test(code);
  return new RegistryError(
    timeout ? 'TIMEOUT' : 'NETWORK_ERROR',
    `${request.method} ${request.what} on ${where} failed: ${timeout ? 'timed out' : 'network error'} ${code || message}`,
    {
      hint: timeout
        ? 'The registry is slow or unreachable; retry later or raise timeoutMs.'
        : `Check that ${endpoint.origin} is reachable.`,
      registry: endpoint.host,
      repository: endpoint.repository,
      digest: request.digest,
      cause: error,
    },
  );
}
