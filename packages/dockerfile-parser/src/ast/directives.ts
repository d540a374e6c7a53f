import { DockerfileParseError } from '../errors.js';

/** A parser directive from the top of the file (`# syntax=...`, `# escape=...`, `# check=...`). */
export interface Directive {
  name: 'syntax' | 'escape' | 'check';
  value: string;
  line: number;
}

const DIRECTIVE = /^#[ \t]*([a-zA-Z][a-zA-Z0-9]*)[ \t]*=[ \t]*(.+?)[ \t]*$/;
const KNOWN_DIRECTIVES = new Set(['syntax', 'escape', 'check']);

// Reads directives until the first line that is not one; BuildKit stops at the first blank
// line, ordinary comment, instruction or unknown directive name.
export class DirectiveReader {
  readonly directives: Directive[] = [];
  escapeToken = '\\';
  private done = false;

  read(line: string, lineNumber: number): void {
    if (this.done) return;
    const match = DIRECTIVE.exec(line);
    const name = match?.[1]?.toLowerCase();
    if (match === null || name === undefined || !KNOWN_DIRECTIVES.has(name)) {
      this.done = true;
      return;
    }
    if (this.directives.some((directive) => directive.name === name)) {
      throw new DockerfileParseError(`only one ${name} parser directive can be used`, {
        code: 'DUPLICATE_DIRECTIVE',
        hint: `Remove the second "# ${name}=" line.`,
        location: { startLine: lineNumber, endLine: lineNumber },
      });
    }
    const value = match[2] as string;
    if (name === 'escape') this.setEscapeToken(value, lineNumber);
    this.directives.push({ name: name as Directive['name'], value, line: lineNumber });
  }

  private setEscapeToken(value: string, lineNumber: number): void {
    if (value !== '`' && value !== '\\') {
      throw new DockerfileParseError(`invalid escape token '${value}' does not match \` or \\`, {
        code: 'INVALID_DIRECTIVE',
        hint: 'Use "# escape=\\" (the default) or "# escape=`".',
        location: { startLine: lineNumber, endLine: lineNumber },
      });
    }
    this.escapeToken = value;
  }
}
