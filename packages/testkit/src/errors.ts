/** Failure of a test fixture: a missing tool, a server that did not start, a command that failed. */
export class TestkitError extends Error {
  readonly code: string;
  readonly hint: string | undefined;

  constructor(code: string, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TestkitError';
    this.code = code;
    this.hint = options.hint;
  }
}
