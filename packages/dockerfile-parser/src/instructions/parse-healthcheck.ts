import { parseGoDuration } from './duration.js';
import { invalid, requireAtLeast, type ParseRequest } from './request.js';
import type { Instruction } from './types.js';

export function parseHealthcheck(request: ParseRequest): Instruction {
  requireAtLeast(request, 1);
  const type = (request.args[0] as string).toUpperCase();
  const rest = request.args.slice(1);
  if (type === 'NONE') {
    if (rest.length > 0)
      throw invalid('HEALTHCHECK NONE takes no arguments', 'Write HEALTHCHECK NONE alone.');
    if (request.node.flags.length > 0)
      throw invalid('HEALTHCHECK NONE takes no flags', 'Remove the flags.', 'INVALID_FLAG');
    return {
      location: request.base.location,
      original: request.base.original,
      keyword: request.base.keyword,
      kind: 'healthcheck',
      test: ['NONE'],
    };
  }
  if (type !== 'CMD') {
    throw invalid(
      `unknown type ${JSON.stringify(request.args[0])} in HEALTHCHECK (try CMD)`,
      'Write HEALTHCHECK CMD command or HEALTHCHECK NONE.',
    );
  }
  if (rest.length === 0)
    throw invalid(
      'missing command after HEALTHCHECK CMD',
      'Write HEALTHCHECK CMD followed by the command.',
    );

  const test = request.node.json ? ['CMD', ...rest] : ['CMD-SHELL', rest.join(' ')];
  const duration = (flag: string): number | undefined => {
    const text = request.flags.strings.get(flag);
    if (text === undefined) return undefined;
    const value = parseGoDuration(text, flag);
    // Docker accepts 0 (use the default) or at least one millisecond.
    if (value !== 0 && value < 1e6) {
      throw invalid(
        `--${flag} cannot be less than 1ms`,
        `Give --${flag} 0 or a duration of at least 1ms.`,
        'INVALID_FLAG',
      );
    }
    return value;
  };
  const retriesText = request.flags.strings.get('retries');
  let retries: number | undefined;
  if (retriesText !== undefined) {
    retries = /^-?\d+$/.test(retriesText) ? Number.parseInt(retriesText, 10) : Number.NaN;
    if (Number.isNaN(retries))
      throw invalid(
        `invalid --retries value ${JSON.stringify(retriesText)}`,
        'Give --retries a whole number.',
        'INVALID_FLAG',
      );
    if (retries < 0)
      throw invalid('--retries cannot be negative', 'Give --retries 0 or more.', 'INVALID_FLAG');
  }
  return {
    location: request.base.location,
    original: request.base.original,
    keyword: request.base.keyword,
    kind: 'healthcheck',
    test,
    interval: duration('interval'),
    timeout: duration('timeout'),
    startPeriod: duration('start-period'),
    startInterval: duration('start-interval'),
    retries,
  };
}
