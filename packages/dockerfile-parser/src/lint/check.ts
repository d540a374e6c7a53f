import type { SyntaxWarning } from '../ast/parse.js';
import type { SourceLocation } from '../errors.js';
import type { ParsedDockerfile } from '../stages/types.js';
import { parseCheckDirective } from './check-directive.js';
import { LINT_RULES, type LintRuleName } from './rules.js';
import { checkCasing, checkStageNames } from './syntax-checks.js';
import { checkStageContents, checkFromArgs } from './stage-checks.js';
import type { LintWarning } from './types.js';

/** Collects findings; every check reports through `report`. */
export class LintReporter {
  readonly warnings: LintWarning[] = [];

  constructor(private readonly file: string) {}

  report(rule: LintRuleName, message: string, location: SourceLocation): void {
    const definition = LINT_RULES[rule];
    this.warnings.push({
      rule,
      message,
      description: definition.description,
      url: definition.url,
      location: { ...location, file: location.file ?? this.file },
    });
  }
}

export interface LintContext {
  file: string;
  buildArgs: Readonly<Record<string, string>>;
  baseImageEnv?: Readonly<Record<string, readonly string[]>>;
}

/** Runs every lint rule over a parsed Dockerfile, honouring the `# check=skip=...` directive. */
export function lintDockerfile(
  parsed: ParsedDockerfile,
  syntaxWarnings: readonly SyntaxWarning[],
  context: LintContext,
): LintWarning[] {
  const reporter = new LintReporter(context.file);
  for (const warning of syntaxWarnings)
    reporter.report('NoEmptyContinuation', 'Empty continuation line', warning.location);
  checkCasing(parsed, reporter);
  checkStageNames(parsed, reporter);
  checkFromArgs(parsed, reporter);
  checkStageContents(parsed, reporter, context.baseImageEnv);

  const check = parseCheckDirective(parsed.directives);
  if (check.skipAll) return [];
  return reporter.warnings
    .filter((warning) => !check.skip.has(warning.rule))
    .sort((a, b) => a.location.startLine - b.location.startLine);
}
