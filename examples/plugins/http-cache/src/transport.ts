import type { Readable } from 'node:stream';
import { CacheError } from '@kiln/cache';
import { Pool, type Dispatcher } from 'undici';

/** Where a store lives, parsed from `http://[user:password@]host[:port][/prefix]`. */
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
  const shown = location.replace(/\/\/[^/@]*@/, '//');
  return new CacheError('STORE_FAILED', `invalid HTTP cache location ${shown}: ${problem}`, {
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
  body?: Readable | string;
}

/** One connection pool to the cache server, adding the base path and credentials to each request. */
export class CacheTransport {
  readonly #pool: Pool;
  readonly #location: CacheLocation;
  readonly #headers: Record<string, string>;

  constructor(location: CacheLocation, options: { connections: number; token?: string }) {
    this.#location = location;
    this.#pool = new Pool(location.origin, { connections: options.connections });
    this.#headers = {};
    if (options.token !== undefined) this.#headers.authorization = `Bearer ${options.token}`;
    else if (location.authorization !== undefined)
      this.#headers.authorization = location.authorization;
  }

  /** The URL of `path` under the base path, for messages (it never contains credentials). */
  urlOf(path: string): string {
    return `${this.#location.origin}${this.#location.basePath}${path}`;
  }

  /** Sends a request; throws a `STORE_FAILED` CacheError only when no response arrived. */
  async send(method: Dispatcher.HttpMethod, path: string, options: SendOptions = {}) {
    try {
      const response = await this.#pool.request({
        method,
        path: `${this.#location.basePath}${path}`,
        headers: { ...this.#headers, ...options.headers },
        body: options.body ?? null,
      });
      return response as HttpResponse;
    } catch (error) {
      throw new CacheError(
        'STORE_FAILED',
        `HTTP cache store: ${method} ${this.urlOf(path)} failed: ${(error as Error).message}`,
        { hint: 'Check that the cache server is running and reachable.', cause: error },
      );
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
