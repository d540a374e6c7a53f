import type { Directive } from '../ast/directives.js';

/** The `# check=skip=A,B;error=true` directive, parsed. */
export interface CheckDirective {
  skipAll: boolean;
  skip: Set<string>;
  error: boolean;
}

export function parseCheckDirective(directives: readonly Directive[]): CheckDirective {
  const result: CheckDirective = { skipAll: false, skip: new Set(), error: false };
  const check = directives.find((directive) => directive.name === 'check');
  if (check === undefined) return result;
  for (const part of check.value.split(';')) {
    const equals = part.indexOf('=');
    if (equals < 0) continue;
    const key = part.slice(0, equals).trim().toLowerCase();
    const value = part.slice(equals + 1).trim();
    if (key === 'skip') {
      for (const name of value.split(',').map((item) => item.trim())) {
        if (name.toLowerCase() === 'all') result.skipAll = true;
        else if (name !== '') result.skip.add(name);
      }
    } else if (key === 'error') {
      result.error = value.toLowerCase() === 'true';
    }
  }
  return result;
}
