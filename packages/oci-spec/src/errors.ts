/** Stable codes of {@link OciSpecError}, one per kind of failure. */
export type OciSpecErrorCode =
  | 'INVALID_DOCUMENT'
  | 'INVALID_JSON'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'INVALID_DIGEST'
  | 'UNSUPPORTED_DIGEST_ALGORITHM'
  | 'DIGEST_MISMATCH'
  | 'SIZE_MISMATCH'
  | 'STREAM_NOT_FINISHED'
  | 'INVALID_REFERENCE'
  | 'INVALID_PLATFORM';

export interface OciSpecErrorOptions {
  hint?: string;
  cause?: unknown;
}

/** Base class of every error this package throws, with a stable `code` and a `hint` on what to do next. */
export class OciSpecError extends Error {
  override name = 'OciSpecError';
  readonly code: OciSpecErrorCode;
  readonly hint?: string;

  constructor(code: OciSpecErrorCode, message: string, options: OciSpecErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options.hint !== undefined) this.hint = options.hint;
  }
}

/** A document that breaks its schema; `path` is the dotted field path of the first problem. */
export class InvalidDocumentError extends OciSpecError {
  override name = 'InvalidDocumentError';
  readonly path: string;
  readonly issues: readonly { path: string; message: string }[];

  constructor(
    documentKind: string,
    issues: readonly { path: string; message: string }[],
    options: OciSpecErrorOptions = {},
  ) {
    const first = issues[0] ?? { path: '(root)', message: 'invalid' };
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more problems)` : '';
    super('INVALID_DOCUMENT', `invalid ${documentKind}: ${first.path}: ${first.message}${more}`, {
      hint: options.hint ?? `Fix the field ${first.path} of the ${documentKind}.`,
      cause: options.cause,
    });
    this.path = first.path;
    this.issues = issues;
  }
}

/** The content read does not hash to the expected digest. */
export class DigestMismatchError extends OciSpecError {
  override name = 'DigestMismatchError';
  readonly expected: string;
  readonly actual: string;

  constructor(expected: string, actual: string) {
    super('DIGEST_MISMATCH', `digest mismatch: expected ${expected}, got ${actual}`, {
      hint: 'The content is corrupt or truncated; fetch it again from its source.',
    });
    this.expected = expected;
    this.actual = actual;
  }
}

/** The content read is not the expected number of bytes. */
export class SizeMismatchError extends OciSpecError {
  override name = 'SizeMismatchError';
  readonly expected: number;
  readonly actual: number;

  constructor(expected: number, actual: number, digest?: string) {
    const what = digest === undefined ? 'content' : `content of ${digest}`;
    super('SIZE_MISMATCH', `size mismatch: expected ${expected} bytes of ${what}, got ${actual}`, {
      hint: 'The content is corrupt or truncated; fetch it again from its source.',
    });
    this.expected = expected;
    this.actual = actual;
  }
}
