/** Stable codes of {@link OutputDirError}. */
export type OutputDirErrorCode =
  | 'INVALID_OPTIONS'
  | 'DESTINATION_NOT_EMPTY'
  | 'DIFF_ID_MISMATCH'
  | 'LAYER_FAILED'
  | 'ABORTED';

/** The error every failure of the directory output throws, with a `hint` on what to do next. */
export class OutputDirError extends Error {
  override name = 'OutputDirError';
  readonly code: OutputDirErrorCode;
  readonly hint: string;

  constructor(
    code: OutputDirErrorCode,
    message: string,
    options: { hint: string; cause?: unknown },
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
  }
}
