/** Stable codes of {@link LayerError}. */
export type LayerErrorCode =
  | 'PATH_ESCAPE'
  | 'INVALID_PATH'
  | 'INVALID_TAR'
  | 'UNSUPPORTED_ENTRY'
  | 'UNSUPPORTED_COMPRESSION'
  | 'DEVICE_NOT_PERMITTED'
  | 'HARDLINK_TARGET'
  | 'SYMLINK_LOOP'
  | 'FILE_CHANGED'
  | 'SOURCE_UNREADABLE'
  | 'TOOL_FAILED'
  | 'WRITE_FAILED'
  | 'APPLY_FAILED'
  | 'INVALID_OPTION';

/** The one error class of `@kiln/layer-writer`, with a stable `code` and a `hint` on what to do. */
export class LayerError extends Error {
  override readonly name = 'LayerError';
  readonly code: LayerErrorCode;
  readonly hint: string | undefined;

  constructor(
    code: LayerErrorCode,
    message: string,
    options: { hint?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
  }
}
