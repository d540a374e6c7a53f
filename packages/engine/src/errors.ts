/** Stable codes of {@link EngineError}; callers branch on these, never on messages. */
export type EngineErrorCode =
  | 'INVALID_OPTION'
  | 'SSH_SOURCE_INVALID'
  | 'DOCKERFILE_NOT_FOUND'
  | 'CONTEXT_NOT_FOUND'
  | 'CONTEXT_INVALID'
  | 'CONTEXT_GIT_FAILED'
  | 'CONTEXT_PATH_ESCAPE'
  | 'CONTEXT_FILE_NOT_FOUND'
  | 'COPY_INVALID_DESTINATION'
  | 'UNSUPPORTED_INSTRUCTION'
  | 'ADD_ARCHIVE_FAILED'
  | 'ADD_DOWNLOAD_FAILED'
  | 'ADD_CHECKSUM_MISMATCH'
  | 'UNKNOWN_STAGE'
  | 'USER_NOT_FOUND'
  | 'BASE_IMAGE_FAILED'
  | 'RUN_FAILED'
  | 'RUN_SETUP_FAILED'
  | 'NOT_IN_CONTAINER'
  | 'ROOTFS_PATH_INVALID'
  | 'OUTPUT_FAILED'
  | 'PUSH_FAILED'
  | 'BUILD_CANCELLED'
  | 'CACHE_ENTRY_INVALID'
  | 'PLUGIN_LOAD_FAILED'
  | 'PLUGIN_INVALID'
  | 'PLUGIN_INCOMPATIBLE'
  | 'PLUGIN_CONFLICT'
  | 'PLUGIN_FAILED';

export interface EngineErrorOptions {
  hint?: string;
  cause?: unknown;
}

/** The one error base class of @kiln/engine: a stable `code`, a `hint` saying what to do, and `cause`. */
export class EngineError extends Error {
  readonly code: EngineErrorCode;
  readonly hint: string | undefined;

  constructor(code: EngineErrorCode, message: string, options: EngineErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EngineError';
    this.code = code;
    this.hint = options.hint;
  }
}

/** A RUN instruction whose command exited with a non-zero status. */
export class RunFailedError extends EngineError {
  readonly exitCode: number;
  readonly command: string;
  /** The last lines of the command's combined stdout and stderr. */
  readonly outputTail: string;

  constructor(command: string, exitCode: number, outputTail: string) {
    const tail = outputTail.trimEnd();
    super(
      'RUN_FAILED',
      `RUN ${command} failed with exit code ${exitCode}` + (tail ? `:\n${tail}` : ''),
      { hint: 'Fix the command so it exits with 0; the lines above are the end of its output.' },
    );
    this.name = 'RunFailedError';
    this.exitCode = exitCode;
    this.command = command;
    this.outputTail = tail;
  }
}

/** Returns the error a build rejects with after its AbortSignal fired. */
export function cancelledError(cause?: unknown): EngineError {
  return new EngineError('BUILD_CANCELLED', 'The build was cancelled', {
    hint: 'Run the build again; nothing was pushed or written after the cancellation.',
    cause,
  });
}
