import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { CacheError } from '@kiln/cache';
import { Pool, type Dispatcher } from 'undici';

/** Location of a store, parsed from `http://[user:password@]host[:port][/prefix]`. */
export interface CacheLocation {
  /** `http://host:port`, without credentials. */
  origin: string;
  /** Path prefix without a trailing slash, such as `/kiln` or the empty string. */
  basePath: string;
  /** `Authorization` header value from the URL's user information, when it has one. */
  authorization?: string;
}

/** Parses a store location; the credentials in it go to a header and never into the name. */
export function parseCacheLocation(location: string): CacheLocation {
  let url: URL;
  try {
    url = new URL(location);
  } catch (error) {
    throw invalidLocation(location, 'it is not a URL', error);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw invalidLocation(location, `the scheme ${url.protocol} is not http: or https:`);
  if (url.search !== '' || url.hash !== '')
    throw invalidLocation(location, 'it has a query or fragment');

  const parsed: CacheLocation = {
    origin: url.origin,
    basePath: url.pathname.replace(/\/+$/, ''),
  };
  if (url.username !== '' || url.password !== '') {
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    parsed.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  }
  return parsed;
}

function invalidLocation(location: string, problem: string, cause?: unknown): CacheError {
  // The location may carry a password, so the message shows it without user information.
  const redacted = location.replace(/\/\/[^/@]*@/, '//');
  return new CacheError('STORE_FAILED', `invalid HTTP cache location ${redacted}: ${problem}`, {
    hint: 'Give the location as http://HOST[:PORT][/PREFIX] or https://...',
    cause,
  });
}

export interface HttpResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
}

export interface SendOptions {
  headers?: Record<string, string>;
  /** A string, or an opener called once per attempt so that a retry sends the body again. */
  body?: string | (() => Readable);
}

export interface TransportOptions {
  connections: number;
  /** Attempts after the first for a request that failed without a response or got a retryable status. */
  retries: number;
  token?: string;
}

// Statuses after which the server, or a proxy in front of it, may succeed on a later attempt.
const RETRYABLE_STATUSES = new Set([408, 429, 500, 502, 503, 504]);
const BASE_DELAY_MS = 100;
const MAX_DELAY_MS = 5_000;

// Returns the wait before a retry: 100 ms, 200 ms, 400 ms and so on, or the Retry-After value
// (in seconds), at most 5 s.
function retryDelay(attempt: number, retryAfter: string | string[] | undefined): number {
  const seconds = Number(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter);
  const delay =
    Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : BASE_DELAY_MS * 2 ** attempt;
  return Math.min(delay, MAX_DELAY_MS);
}

/**
 * One connection pool to the cache server, adding the base path and credentials to each request
 * and retrying failed attempts. Every request the store sends (GET, HEAD, PUT of a whole entry,
 * DELETE) is idempotent, so a retry is safe.
 */
export class CacheTransport {
  readonly #pool: Pool;
  readonly #location: CacheLocation;
  readonly #headers: Record<string, string>;
  readonly #retries: number;

  constructor(location: CacheLocation, options: TransportOptions) {
    this.#location = location;
    this.#pool = new Pool(location.origin, { connections: options.connections });
    this.#retries = options.retries;
    this.#headers = {};
    if (options.token !== undefined) this.#headers.authorization = `Bearer ${options.token}`;
    else if (location.authorization !== undefined)
      this.#headers.authorization = location.authorization;
  }

  /** Returns the URL of `path` under the base path, for messages; it never contains credentials. */
  urlOf(path: string): string {
    return `${this.#location.origin}${this.#location.basePath}${path}`;
  }

  /**
   * Sends a request and returns the response of the last attempt. Throws a `STORE_FAILED`
   * CacheError only when no attempt got a response.
   */
  async send(
    method: Dispatcher.HttpMethod,
    path: string,
    options: SendOptions = {},
  ): Promise<HttpResponse> {
    for (let attempt = 0; ; attempt++) {
      let response: HttpResponse;
      try {
        response = (await this.#pool.request({
          method,
          path: `${this.#location.basePath}${path}`,
          headers: { ...this.#headers, ...options.headers },
          body: typeof options.body === 'function' ? options.body() : (options.body ?? null),
        })) as HttpResponse;
      } catch (error) {
        if (attempt < this.#retries) {
          await sleep(retryDelay(attempt, undefined));
          continue;
        }
        throw new CacheError(
          'STORE_FAILED',
          `HTTP cache store: ${method} ${this.urlOf(path)} failed: ${(error as Error).message}`,
          { hint: 'Check that the cache server is running and reachable.', cause: error },
        );
      }
      if (!RETRYABLE_STATUSES.has(response.statusCode) || attempt >= this.#retries) return response;
      await response.body.dump().catch(() => undefined);
      await sleep(retryDelay(attempt, response.headers['retry-after']));
    }
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }
}

/** Builds the error for a response with a status the store does not expect, and frees the connection. */
export async function unexpectedStatus(
  transport: CacheTransport,
  method: string,
  path: string,
  response: HttpResponse,
): Promise<CacheError> {
  await response.body.dump().catch(() => undefined);
  const hint =
    response.statusCode === 401 || response.statusCode === 403
      ? 'Check the credentials in the cache location or the token option.'
      : 'Check the cache server: it must accept PUT, GET, HEAD and DELETE under this path.';
  return new CacheError(
    'STORE_FAILED',
    `HTTP cache store: ${method} ${transport.urlOf(path)} returned status ${response.statusCode}`,
    { hint },
  );
}
