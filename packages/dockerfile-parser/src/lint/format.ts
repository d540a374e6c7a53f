import type { LintWarning } from './types.js';

/** Formats a warning as one line: `FILE:LINE: RuleName: message` (what `kiln check` prints). */
export function formatLintWarning(warning: LintWarning): string {
  return `${warning.location.file ?? 'Dockerfile'}:${warning.location.startLine}: ${warning.rule}: ${warning.message}`;
}
