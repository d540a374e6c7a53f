/** Stable codes of {@link SnapshotError}, one per kind of failure. */
export type SnapshotErrorCode =
  | 'ROOT_NOT_FOUND'
  | 'ROOT_NOT_DIRECTORY'
  | 'NOT_INITIALIZED'
  | 'WALK_FAILED'
  | 'HASH_FAILED'
  | 'INVALID_IGNORE_PATH'
  | 'INVALID_MOUNTINFO'
  | 'OVERLAY_UNAVAILABLE'
  | 'OVERLAY_MOUNT_FAILED'
  | 'OVERLAY_UNMOUNT_FAILED'
  | 'OVERLAY_STATE';

export interface SnapshotErrorOptions {
  hint?: string;
  cause?: unknown;
}

/** Base class of every error this package throws; `code` is stable, `hint` tells the user what to do. */
export class SnapshotError extends Error {
  override name = 'SnapshotError';
  readonly code: SnapshotErrorCode;
  readonly hint?: string;

  constructor(code: SnapshotErrorCode, message: string, options: SnapshotErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options.hint !== undefined) this.hint = options.hint;
  }
}

/** Returns the errno code of a Node.js system error, or undefined for any other value. */
export function errnoCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}
