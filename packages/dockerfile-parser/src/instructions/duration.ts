import { DockerfileParseError } from '../errors.js';

// Nanoseconds per unit, for Go's time.ParseDuration syntax that HEALTHCHECK durations use.
const UNITS: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

const PART = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;

/** Parses a Go duration such as `30s`, `1m30s` or `1.5h` into nanoseconds. */
export function parseGoDuration(text: string, flag: string): number {
  const invalid = (): DockerfileParseError =>
    new DockerfileParseError(`invalid duration ${JSON.stringify(text)} for --${flag}`, {
      code: 'INVALID_FLAG',
      hint: 'Write a number with a unit: ns, us, ms, s, m or h (for example 30s or 1m30s).',
    });

  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest.startsWith('-')) sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw invalid();

  let total = 0;
  while (rest !== '') {
    const match = PART.exec(rest);
    if (match === null) throw invalid();
    total += Number.parseFloat(match[1] as string) * (UNITS[match[2] as string] as number);
    rest = rest.slice(match[0].length);
  }
  return sign * Math.round(total);
}
