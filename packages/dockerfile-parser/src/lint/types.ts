import type { SourceLocation } from '../errors.js';

/** A lint rule, as data. */
export interface LintRule {
  name: string;
  description: string;
  url: string;
}

/** One finding of a lint rule. */
export interface LintWarning {
  rule: string;
  message: string;
  description: string;
  url: string;
  location: SourceLocation;
}
