import { describe, expect, it } from 'vitest';

import {
  isRetryableNetworkError,
  isRetryableStatus,
  parseRetryAfter,
  retryDelay,
  retryPolicy,
  RetryBudget,
} from './retry.js';

describe('parseRetryAfter', () => {
  it('reads seconds', () => {
    expect(parseRetryAfter('3')).toBe(3000);
  });

  it('reads an HTTP date relative to now', () => {
    const now = Date.parse('Fri, 04 Dec 2026 10:00:00 GMT');
    expect(parseRetryAfter('Fri, 04 Dec 2026 10:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Fri, 04 Dec 2026 09:00:00 GMT', now)).toBe(0);
  });

  it('ignores missing and invalid values', () => {
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});

describe('retryDelay', () => {
  const policy = retryPolicy({ retries: 5, baseDelayMs: 100, maxDelayMs: 1000 });

  it('doubles the ceiling each attempt with jitter', () => {
    expect(retryDelay(policy, 1, undefined, () => 0)).toBe(50);
    expect(retryDelay(policy, 1, undefined, () => 1)).toBe(100);
    expect(retryDelay(policy, 3, undefined, () => 1)).toBe(400);
  });

  it('caps backoff and Retry-After at maxDelayMs', () => {
    expect(retryDelay(policy, 10, undefined, () => 1)).toBe(1000);
    expect(retryDelay(policy, 1, 60_000)).toBe(1000);
    expect(retryDelay(policy, 1, 200)).toBe(200);
  });
});

describe('retryPolicy', () => {
  it('accepts a bare number of retries', () => {
    expect(retryPolicy(2)).toEqual({ retries: 2, baseDelayMs: 250, maxDelayMs: 30_000 });
  });
});

describe('retry classification', () => {
  it('retries 429 and 5xx but not 4xx', () => {
    expect(isRetryableStatus(429)).toBe(true);
    expect(isRetryableStatus(503)).toBe(true);
    expect(isRetryableStatus(404)).toBe(false);
    expect(isRetryableStatus(501)).toBe(false);
  });

  it('retries resets and refusals, also inside a cause', () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(isRetryableNetworkError(reset)).toBe(true);
    expect(isRetryableNetworkError(new Error('wrapped', { cause: reset }))).toBe(true);
    expect(
      isRetryableNetworkError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })),
    ).toBe(true);
    expect(
      isRetryableNetworkError(Object.assign(new Error('not found'), { code: 'ENOTFOUND' })),
    ).toBe(false);
  });
});

describe('RetryBudget', () => {
  it('numbers retries up to its limit', () => {
    const budget = new RetryBudget(2);
    expect(budget.take()).toBe(1);
    expect(budget.take()).toBe(2);
    expect(budget.take()).toBeUndefined();
  });

  it('has no retries with a limit of zero', () => {
    expect(new RetryBudget(0).take()).toBeUndefined();
  });
});
