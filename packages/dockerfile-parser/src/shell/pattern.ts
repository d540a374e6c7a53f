import { ShellExpansionError } from './errors.js';

const REGEX_SPECIAL = new Set(['[', ']', '{', '}', '.', '+', '(', ')', '|', '^', '$']);

/**
 * Converts a shell wildcard pattern (`*` any string, `?` one character, no bracket
 * expressions) to a regular expression, as the `${v#p}`, `${v%p}` and `${v/p/r}` forms use it.
 */
export function shellPatternToRegex(pattern: string, greedy: boolean, anchored: boolean): RegExp {
  const chars = Array.from(pattern);
  let out = anchored ? '^' : '';
  const star = greedy ? '[^\n]*' : '[^\n]*?';
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] as string;
    if (ch === '*') {
      out += star;
      continue;
    }
    if (ch === '?') {
      out += '[^\n]';
      continue;
    }
    if (ch === '\\') {
      const nextChar = chars[i + 1];
      // `}` and `/` are escaped only to get them past the `${...}` reader.
      if (nextChar === '}' || nextChar === '/') continue;
      i++;
      if (nextChar !== '*' && nextChar !== '?' && nextChar !== '\\') {
        throw new ShellExpansionError(
          `invalid pattern (${pattern}) in substitution: invalid escape '\\${nextChar ?? ''}'`,
        );
      }
      out += `\\${nextChar}`;
      continue;
    }
    out += REGEX_SPECIAL.has(ch) ? `\\${ch}` : ch;
  }
  return new RegExp(out, 'u');
}

/** Removes the shortest (or, when greedy, the longest) prefix of `value` matching `pattern`. */
export function trimPatternPrefix(pattern: string, value: string, greedy: boolean): string {
  const match = shellPatternToRegex(pattern, greedy, true).exec(value);
  return match === null ? value : value.slice(match[0].length);
}

// Reverses a pattern but keeps each escape before the character it escapes (`a\*c` -> `c\*a`).
function reversePattern(pattern: string): string {
  const chars = Array.from(pattern);
  const out: string[] = [];
  for (let i = 0; i < chars.length; ) {
    const ch = chars[i] as string;
    if (ch === '\\' && i !== chars.length - 1) {
      out.unshift(ch, chars[i + 1] as string);
      i += 2;
    } else {
      out.unshift(ch);
      i++;
    }
  }
  return out.join('');
}

function reverseString(value: string): string {
  return Array.from(value).reverse().join('');
}

/**
 * Removes the shortest (or longest) suffix matching `pattern`. A regular expression finds
 * only leftmost matches, so both the pattern and the value are reversed.
 */
export function trimPatternSuffix(pattern: string, value: string, greedy: boolean): string {
  return reverseString(trimPatternPrefix(reversePattern(pattern), reverseString(value), greedy));
}
