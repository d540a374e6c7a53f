/** A malformed command line; the CLI prints its message and hint on one line and exits with 2. */
export class UsageError extends Error {
  readonly code = 'USAGE';

  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}
