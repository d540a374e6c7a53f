/**
 * Go's fmt verbs as Docker's builder uses them in history `created_by` texts (`%q` of a string
 * list, `%v` of a list or port set, `%q` of a health check), so Kiln's history reads the same.
 */

const NAMED_ESCAPES: Record<string, string> = {
  '\x07': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
};

/** Escapes one character the way strconv.Quote does; `quote` is the delimiter to escape. */
function escapeChar(char: string, quote: '"' | "'"): string {
  if (char === quote || char === '\\') return `\\${char}`;
  const named = NAMED_ESCAPES[char];
  if (named !== undefined) return named;
  const code = char.codePointAt(0) as number;
  if (code < 0x20 || code === 0x7f) return `\\x${code.toString(16).padStart(2, '0')}`;
  // Other non-printable code points (C1 controls, separators) get \u escapes in Go.
  if ((code >= 0x80 && code < 0xa0) || code === 0x2028 || code === 0x2029 || code === 0xfeff)
    return `\\u${code.toString(16).padStart(4, '0')}`;
  return char;
}

/** Go's `%q` of a string (strconv.Quote). */
export function goQuote(text: string): string {
  return `"${[...text].map((char) => escapeChar(char, '"')).join('')}"`;
}

/** Go's `%q` of an integer: the character literal of that code point (strconv.QuoteRune). */
export function goQuoteRune(code: number): string {
  return `'${escapeChar(String.fromCodePoint(code), "'")}'`;
}

/** Go's `%q` of a []string: `["a" "b"]`. */
export function goQuotedList(items: readonly string[]): string {
  return `[${items.map(goQuote).join(' ')}]`;
}

/** Go's `%v` of a []string: `[a b]`. */
export function goList(items: readonly string[]): string {
  return `[${items.join(' ')}]`;
}

/** Go's `%v` of a set keyed by strings: `map[a:{} b:{}]`, keys sorted as Go prints maps. */
export function goSet(keys: readonly string[]): string {
  // Go orders map keys by bytes, which for these ASCII keys is the default string sort.
  const sorted = [...new Set(keys)].sort();
  return `map[${sorted.map((key) => `${key}:{}`).join(' ')}]`;
}

/** Go's time.Duration String() of a duration in nanoseconds: `1h2m3.5s`, `150ms`, `0s`. */
export function goDuration(nanoseconds: number): string {
  if (nanoseconds === 0) return '0s';
  const sign = nanoseconds < 0 ? '-' : '';
  let ns = BigInt(Math.abs(Math.trunc(nanoseconds)));
  if (ns < 1_000_000_000n) {
    if (ns < 1_000n) return `${sign}${ns}ns`;
    if (ns < 1_000_000n) return `${sign}${fraction(ns, 1_000n)}µs`;
    return `${sign}${fraction(ns, 1_000_000n)}ms`;
  }
  const hours = ns / 3_600_000_000_000n;
  ns -= hours * 3_600_000_000_000n;
  const minutes = ns / 60_000_000_000n;
  ns -= minutes * 60_000_000_000n;
  const seconds = `${fraction(ns, 1_000_000_000n)}s`;
  if (hours > 0n) return `${sign}${hours}h${minutes}m${seconds}`;
  if (minutes > 0n) return `${sign}${minutes}m${seconds}`;
  return `${sign}${seconds}`;
}

/** `value / size` in decimal with trailing zeros of the fraction dropped, as Go prints durations. */
function fraction(value: bigint, size: bigint): string {
  const whole = value / size;
  const rest = value % size;
  if (rest === 0n) return String(whole);
  const digits = String(size).length - 1;
  return `${whole}.${String(rest).padStart(digits, '0').replace(/0+$/, '')}`;
}
