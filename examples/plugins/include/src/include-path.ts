import { posix } from 'node:path';
import { processWord, ShellExpansionError, type SourceLocation } from '@kiln/dockerfile-parser';
import { IncludeError } from './errors.js';

/** The file an INCLUDE line requests, after its variables are expanded. */
export interface IncludeRequest {
  /** The path as written after expansion, before it is resolved. */
  path: string;
  /** `--optional`: a missing file includes nothing instead of failing. */
  optional: boolean;
}

const USAGE = 'Write INCLUDE [--optional] PATH, with one path (quote a path that contains spaces).';

/**
 * Parses an INCLUDE line from its original text. The original is used rather than parsed
 * arguments because the Dockerfile parser, like BuildKit's, does not split the arguments of an
 * instruction it does not know, and a quoted path may contain spaces.
 */
export function parseIncludeLine(
  original: string,
  args: Readonly<Record<string, string>>,
  location: SourceLocation,
): IncludeRequest {
  let rest = original.trim().replace(/^\S+\s*/, '');
  let optional = false;
  for (let flag = /^--\S*/.exec(rest); flag !== null; flag = /^--\S*/.exec(rest)) {
    if (flag[0] !== '--optional') {
      throw new IncludeError('INVALID_ARGUMENTS', `unknown flag ${flag[0]} for INCLUDE`, {
        location,
        hint: USAGE,
      });
    }
    optional = true;
    rest = rest.slice(flag[0].length).trimStart();
  }

  let words: string[];
  try {
    words = processWord(rest, args).words;
  } catch (error) {
    const detail = error instanceof ShellExpansionError ? error.message : String(error);
    throw new IncludeError('INVALID_ARGUMENTS', `invalid INCLUDE path ${rest}: ${detail}`, {
      location,
      hint: USAGE,
      cause: error,
    });
  }
  if (words.length !== 1) {
    const problem = words.length === 0 ? 'no path' : `${words.length} paths`;
    throw new IncludeError('INVALID_ARGUMENTS', `INCLUDE takes one path, got ${problem}`, {
      location,
      hint: USAGE,
    });
  }
  return { path: words[0] as string, optional };
}

/**
 * Resolves an INCLUDE path to a path in the build context. The top-level Dockerfile's includes
 * are relative to the context root, as COPY sources are. An included file's includes are
 * relative to that file's directory. A leading `/` always means the context root.
 */
export function resolveIncludePath(
  path: string,
  includingFile: string,
  nested: boolean,
  location: SourceLocation,
): string {
  const base = path.startsWith('/') || !nested ? '.' : posix.dirname(includingFile);
  const resolved = posix.normalize(posix.join(base, path.replace(/^\/+/, '')));
  if (resolved === '..' || resolved.startsWith('../')) {
    throw new IncludeError(
      'OUTSIDE_CONTEXT',
      `INCLUDE path ${path} resolves outside the build context`,
      { location, hint: 'Include a file inside the build context.' },
    );
  }
  return resolved;
}
