import type { SourceLocation } from '@kiln/dockerfile-parser';

/** Stable codes of {@link IncludeError}. */
export type IncludeErrorCode =
  | 'INVALID_ARGUMENTS'
  | 'INCLUDE_CYCLE'
  | 'FILE_NOT_FOUND'
  | 'NOT_A_FILE'
  | 'OUTSIDE_CONTEXT'
  | 'ESCAPE_DIRECTIVE';

export interface IncludeErrorOptions {
  /** The INCLUDE instruction that failed: file and lines. */
  location: SourceLocation;
  hint: string;
  cause?: unknown;
}

/**
 * The error every INCLUDE failure throws. `message` starts with `FILE:LINE:` of the INCLUDE
 * instruction, which may sit in an included file.
 */
export class IncludeError extends Error {
  override name = 'IncludeError';
  readonly code: IncludeErrorCode;
  readonly hint: string;
  readonly location: SourceLocation;
  /** The description without the location prefix. */
  readonly detail: string;

  constructor(code: IncludeErrorCode, detail: string, options: IncludeErrorOptions) {
    const where = `${options.location.file ?? 'Dockerfile'}:${options.location.startLine}`;
    super(
      `${where}: ${detail}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.code = code;
    this.hint = options.hint;
    this.location = options.location;
    this.detail = detail;
  }
}
