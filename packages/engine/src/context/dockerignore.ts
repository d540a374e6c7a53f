import path from 'node:path';
import { componentPatternSource } from '../util/glob.js';

interface IgnorePattern {
  /** True for a `!pattern` line, which puts matching paths back. */
  exception: boolean;
  regExp: RegExp;
  /** The cleaned pattern split at `/`. */
  parts: string[];
  /** The line as written, and its 1-based number in the file. */
  text: string;
  line: number;
}

/** The `.dockerignore` line that excludes a path. */
export interface IgnoreRule {
  pattern: string;
  line: number;
}

/**
 * The rules of a `.dockerignore` file, with Docker's semantics: one pattern per line, `#` comments,
 * Go filepath.Match wildcards plus `**` for any number of directories, leading `/` and `./` ignored,
 * and `!` exceptions. A pattern also matches everything below a matching directory, and the last
 * matching line decides.
 */
export class DockerIgnore {
  /**
   * @param file Path of the ignore file the rules came from, for messages; undefined when the rules
   * did not come from a file (COPY --exclude).
   */
  private constructor(
    private readonly patterns: IgnorePattern[],
    readonly file?: string,
  ) {}

  static parse(text: string, file?: string): DockerIgnore {
    const patterns: IgnorePattern[] = [];
    for (const [index, rawLine] of text.split(/\r?\n/).entries()) {
      const line = rawLine.trim();
      if (line === '' || line.startsWith('#')) continue;
      const exception = line.startsWith('!');
      const cleaned = cleanPattern(exception ? line.slice(1).trim() : line);
      if (cleaned === '') continue;
      patterns.push({
        exception,
        regExp: patternToRegExp(cleaned),
        parts: cleaned.split('/'),
        text: line,
        line: index + 1,
      });
    }
    return new DockerIgnore(patterns, file);
  }

  static empty(): DockerIgnore {
    return new DockerIgnore([]);
  }

  /** True when no line excludes anything, so every path belongs to the context. */
  get isEmpty(): boolean {
    return this.patterns.length === 0;
  }

  /** Tells whether some `!` line could match a path below the directory `relativePath`, so an excluded directory must still be walked. */
  mayIncludeBelow(relativePath: string): boolean {
    const dirParts = relativePath.split('/').filter(Boolean);
    return this.patterns.some(
      (pattern) => pattern.exception && prefixCouldMatch(pattern.parts, dirParts),
    );
  }

  /** Tells whether `relativePath` (POSIX, relative to the context root) is excluded from the context. */
  excludes(relativePath: string): boolean {
    return this.excludingRule(relativePath) !== undefined;
  }

  /** Returns the line that excludes `relativePath` (the last matching one decides), or undefined. */
  excludingRule(relativePath: string): IgnoreRule | undefined {
    const cleaned = path.posix.normalize(relativePath).replace(/^\.\/?/, '');
    if (cleaned === '' || cleaned === '.') return undefined;
    const candidates = parentsAndSelf(cleaned);
    let decided: IgnorePattern | undefined;
    for (const pattern of this.patterns) {
      if (candidates.some((candidate) => pattern.regExp.test(candidate))) decided = pattern;
    }
    if (decided === undefined || decided.exception) return undefined;
    return { pattern: decided.text, line: decided.line };
  }
}

/** Tells whether a path below `dirParts` could match the pattern `parts`, comparing component by component. */
function prefixCouldMatch(parts: string[], dirParts: string[]): boolean {
  for (const [index, dirPart] of dirParts.entries()) {
    const part = parts[index];
    if (part === '**') return true;
    if (part === undefined || index === parts.length - 1) return false;
    if (!new RegExp(`^${componentPatternSource(part)}$`).test(dirPart)) return false;
  }
  return parts.length > dirParts.length;
}

/** Normalises a pattern the way Docker does: clean it and drop a leading `/` or `./`. */
function cleanPattern(pattern: string): string {
  const normalized = path.posix.normalize(pattern).replace(/^(\.\/|\/)+/, '');
  return normalized === '.' ? '' : normalized.replace(/\/$/, '');
}

/** Returns `a`, `a/b` and `a/b/c` for `a/b/c`. */
function parentsAndSelf(relativePath: string): string[] {
  const parts = relativePath.split('/');
  return parts.map((_, index) => parts.slice(0, index + 1).join('/'));
}

function patternToRegExp(pattern: string): RegExp {
  const parts = pattern.split('/');
  let source = '';
  for (const [index, part] of parts.entries()) {
    const last = index === parts.length - 1;
    if (part === '**') {
      // `**` matches zero or more whole directories; at the end it matches everything.
      source += last ? '.*' : '(?:[^/]+/)*';
      continue;
    }
    source += componentPatternSource(part) + (last ? '' : '/');
  }
  return new RegExp(`^${source}$`);
}
