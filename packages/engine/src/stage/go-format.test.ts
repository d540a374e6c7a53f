import { describe, expect, it } from 'vitest';
import { goDuration, goQuote, goQuoteRune, goQuotedList, goSet } from './go-format.js';

describe('Go formatting for history', () => {
  it('quotes strings as strconv.Quote does', () => {
    expect(goQuote('echo "hi"\n\tdone\\')).toBe('"echo \\"hi\\"\\n\\tdone\\\\"');
    expect(goQuote('\x01é')).toBe('"\\x01é"');
    expect(goQuotedList(['/bin/sh', '-c', 'echo hi'])).toBe('["/bin/sh" "-c" "echo hi"]');
  });

  it('quotes integers as character literals', () => {
    expect(goQuoteRune(0)).toBe("'\\x00'");
    expect(goQuoteRune(3)).toBe("'\\x03'");
    expect(goQuoteRune(10)).toBe("'\\n'");
    expect(goQuoteRune(65)).toBe("'A'");
  });

  it('prints sets sorted by key', () => {
    expect(goSet(['8080/tcp', '53/udp', '80/tcp'])).toBe('map[53/udp:{} 80/tcp:{} 8080/tcp:{}]');
  });

  it('prints durations as time.Duration does', () => {
    expect(goDuration(0)).toBe('0s');
    expect(goDuration(30e9)).toBe('30s');
    expect(goDuration(300e9)).toBe('5m0s');
    expect(goDuration(3_723.5e9)).toBe('1h2m3.5s');
    expect(goDuration(150e6)).toBe('150ms');
    expect(goDuration(1_500)).toBe('1.5µs');
  });
});
