/** Tells whether a path component contains a wildcard of Go's filepath.Match syntax (`*`, `?`, `[...]`). */
export function hasWildcard(component: string): boolean {
  return /[*?[]/.test(component);
}

/**
 * Converts one path component pattern with Go's filepath.Match syntax, which Docker uses for COPY
 * sources, to an anchored regular expression: `*` and `?` never match `/`, `[a-z]` and `[^a-z]` are
 * classes, and `\` escapes the next character.
 */
export function componentPatternToRegExp(pattern: string): RegExp {
  return new RegExp(`^${componentPatternSource(pattern)}$`);
}

/** Returns the regular expression source (unanchored) of one component pattern; see componentPatternToRegExp. */
export function componentPatternSource(pattern: string): string {
  let source = '';
  for (let i = 0; i < pattern.length; i += 1) {
    const char = pattern[i] as string;
    if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else if (char === '\\' && i + 1 < pattern.length)
      source += escapeRegExp(pattern[++i] as string);
    else if (char === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end === -1) {
        source += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, end);
      const negated = body.startsWith('^') || body.startsWith('!');
      if (negated) body = body.slice(1);
      source += `[${negated ? '^' : ''}${body.replace(/[\\\]]/g, '\\$&')}]`;
      i = end;
    } else source += escapeRegExp(char);
  }
  return source;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
