import type { RetryOptions } from './options.js';

export interface RetryPolicy {
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** Retry policies for pull and push requests; they differ only in the number of retries. */
export interface RetryPolicies {
  pull: RetryPolicy;
  push: RetryPolicy;
}

/** Builds the pull and push policies; `pullRetries` and `pushRetries` replace the shared count. */
export function retryPolicies(
  option: number | RetryOptions | undefined,
  pullRetries: number | undefined,
  pushRetries: number | undefined,
): RetryPolicies {
  const shared = retryPolicy(option);
  return {
    pull: { ...shared, retries: pullRetries ?? shared.retries },
    push: { ...shared, retries: pushRetries ?? shared.retries },
  };
}

export function retryPolicy(option: number | RetryOptions | undefined): RetryPolicy {
  const options = typeof option === 'number' ? { retries: option } : (option ?? {});
  return {
    retries: options.retries ?? 5,
    baseDelayMs: options.baseDelayMs ?? 250,
    maxDelayMs: options.maxDelayMs ?? 30_000,
  };
}

/**
 * Retries left for an operation that spans several requests, such as pushing one blob. Every
 * retry of any of its requests, and every restart of its upload, takes one, so the operation makes
 * at most `limit + 1` attempts in total instead of multiplying the limits of nested retry loops.
 */
export class RetryBudget {
  readonly limit: number;
  #used = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Takes one retry and returns its 1-based number, or undefined when none are left. */
  take(): number | undefined {
    if (this.#used >= this.limit) return undefined;
    this.#used++;
    return this.#used;
  }
}

/** Statuses worth retrying: rate limiting and server-side failures that may be transient. */
export function isRetryableStatus(status: number): boolean {
  return (
    status === 408 ||
    status === 429 ||
    status === 500 ||
    status === 502 ||
    status === 503 ||
    status === 504
  );
}

// Socket-level failures, and undici's timeout and socket errors. A refused or unreachable
// connection is retried too, because a registry that is restarting or not up yet refuses
// connections for a while, and a blob upload restarts on the same errors.
const RETRYABLE_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
]);

/** Returns true for network errors worth retrying, looking through up to five causes. */
export function isRetryableNetworkError(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (code !== undefined && RETRYABLE_ERROR_CODES.has(code)) return true;
    current = current.cause;
  }
  return false;
}

/** Returns the code of the first error in the cause chain that has one. */
export function errorCodeOf(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === 'string') return code;
    current = current.cause;
  }
  return undefined;
}

/** Parses Retry-After (seconds or an HTTP date) into milliseconds, or undefined. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/**
 * Returns the delay before retry number `attempt` (1-based): exponential backoff with jitter,
 * or the server's Retry-After when it gave one, both capped at `maxDelayMs`.
 */
export function retryDelay(
  policy: RetryPolicy,
  attempt: number,
  retryAfterMs?: number,
  random = Math.random,
): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, policy.maxDelayMs);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  // "Equal jitter": half the ceiling is fixed and half random, so clients that failed together spread out.
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
