/** Raised by the shell-word lexer when a word cannot be expanded. */
export class ShellExpansionError extends Error {
  readonly code: string;

  constructor(message: string, code = 'SHELL_SYNTAX') {
    super(message);
    this.name = 'ShellExpansionError';
    this.code = code;
  }
}
