const WHITE_SPACE = /^\p{White_Space}$/u;

/**
 * Returns true for one whitespace character as Go's unicode.IsSpace defines it (the Unicode
 * White_Space property), with a fast path for ASCII. Every such character is a single UTF-16
 * code unit, so callers may pass code units; an empty string is not whitespace.
 */
export function isWhitespace(ch: string): boolean {
  const code = ch.charCodeAt(0);
  if (code < 0x80) return code === 0x20 || (code >= 0x09 && code <= 0x0d);
  return WHITE_SPACE.test(ch);
}
