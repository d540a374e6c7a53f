/** Stable codes of {@link CacheError}. */
export type CacheErrorCode =
  | 'INVALID_KEY_INPUT'
  | 'INVALID_ENTRY'
  | 'DIGEST_MISMATCH'
  | 'SIZE_MISMATCH'
  | 'STORE_FAILED'
  | 'INVALID_STORE';

export interface CacheErrorOptions {
  hint?: string;
  cause?: unknown;
}

/** Base class of every error this package throws, with a stable `code` and a `hint` on what to do next. */
export class CacheError extends Error {
  override name = 'CacheError';
  readonly code: CacheErrorCode;
  readonly hint?: string;

  constructor(code: CacheErrorCode, message: string, options: CacheErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options.hint !== undefined) this.hint = options.hint;
  }
}
