/** The position of an instruction or error in the Dockerfile. Lines and columns are 1-based. */
export interface SourceLocation {
  file?: string;
  startLine: number;
  endLine: number;
  /** Column of the offending text on `startLine`, when known. */
  column?: number;
}

export interface DockerfileParseErrorOptions {
  code: string;
  hint?: string;
  location?: SourceLocation;
  cause?: unknown;
}

/**
 * The only error `parseDockerfile` and its helpers throw. `message` starts with
 * `FILE:LINE:` when the location is known; `snippet` shows the lines around it.
 */
export class DockerfileParseError extends Error {
  readonly code: string;
  readonly hint?: string;
  location?: SourceLocation;
  /** The bare description, without the location prefix. */
  readonly detail: string;
  /** A few source lines around the error with a `>>>` marker, when the source was available. */
  snippet?: string;

  constructor(detail: string, options: DockerfileParseErrorOptions) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DockerfileParseError';
    this.code = options.code;
    this.hint = options.hint;
    this.detail = detail;
    if (options.location !== undefined) this.locate(options.location);
  }

  /**
   * Attaches a location (the first one given wins, but a missing file name is filled in) and
   * rewrites the message as `FILE:LINE: detail`.
   */
  locate(location: SourceLocation, source?: string): this {
    if (this.location === undefined) this.location = location;
    else if (this.location.file === undefined && location.file !== undefined) {
      this.location = { ...this.location, file: location.file };
    }
    const where = this.location;
    this.message = `${where.file ?? 'Dockerfile'}:${where.startLine}: ${this.detail}`;
    if (source !== undefined && this.snippet === undefined)
      this.snippet = renderSnippet(source, where);
    return this;
  }
}

const CONTEXT_LINES = 2;

/** Renders the lines around `location` with their numbers, marking the lines it covers. */
export function renderSnippet(source: string, location: SourceLocation): string {
  const lines = source.split(/\r?\n/);
  const first = Math.max(1, location.startLine - CONTEXT_LINES);
  const last = Math.min(
    lines.length,
    Math.max(location.endLine, location.startLine) + CONTEXT_LINES,
  );
  const width = String(last).length;
  const out: string[] = [];
  for (let line = first; line <= last; line++) {
    const inRange =
      line >= location.startLine && line <= Math.max(location.endLine, location.startLine);
    const marker = inRange ? '>>>' : '   ';
    out.push(`${marker} ${String(line).padStart(width)} | ${lines[line - 1] ?? ''}`);
    if (inRange && line === location.startLine && location.column !== undefined) {
      out.push(`    ${' '.repeat(width)} | ${' '.repeat(Math.max(0, location.column - 1))}^`);
    }
  }
  return out.join('\n');
}
