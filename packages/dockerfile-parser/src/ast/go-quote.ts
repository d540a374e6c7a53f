// Quoting that matches Go's strconv.Quote, because BuildKit's dump format (and so the
// conformance results) prints every argument and flag list with it.

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;
// Printable ASCII other than `"` and `\` is quoted as is, which covers most arguments.
const PLAIN_ASCII = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

const SHORT_ESCAPES: Record<string, string> = {
  '\u0007': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
  '\\': '\\\\',
  '"': '\\"',
};

function hex(value: number, width: number): string {
  return value.toString(16).padStart(width, '0');
}

/** Quotes `value` as Go's `strconv.Quote` does: printable Unicode stays, the rest is escaped. */
export function goQuote(value: string): string {
  if (PLAIN_ASCII.test(value)) return `"${value}"`;
  let out = '"';
  for (const ch of value) {
    const short = SHORT_ESCAPES[ch];
    if (short !== undefined) {
      out += short;
      continue;
    }
    if (PRINTABLE.test(ch)) {
      out += ch;
      continue;
    }
    const code = ch.codePointAt(0) ?? 0;
    if (code < 0x80) {
      out += `\\x${hex(code, 2)}`;
    } else if (code >= 0xd800 && code <= 0xdfff) {
      // A lone surrogate is not valid UTF-8; Go would print the replacement character.
      out += '\\ufffd';
    } else if (code <= 0xffff) {
      out += `\\u${hex(code, 4)}`;
    } else {
      out += `\\U${hex(code, 8)}`;
    }
  }
  return out + '"';
}

/** Formats a string list as Go's `fmt.Sprintf("%q", []string{...})` does. */
export function goQuoteList(values: readonly string[]): string {
  return `[${values.map(goQuote).join(' ')}]`;
}
