import type { Directive } from '../ast/directives.js';
import type { ArgInstruction } from '../instructions/types.js';
import type { LintWarning } from '../lint/types.js';
import type { ParsedDockerfile, Stage } from './types.js';

/** The JSON form of a parse result (what `kiln parse --json` prints). */
export interface ParsedDockerfileJson {
  directives: Directive[];
  escapeToken: string;
  metaArgs: ArgInstruction[];
  metaArgValues: Record<string, string | null>;
  stages: Stage[];
  /** Index of the target stage. */
  target: number;
  buildOrder: number[];
  warnings: LintWarning[];
}

/**
 * Converts a parse result to plain JSON data: the low-level tree is left out, the target is
 * given by index, and global ARGs without a value become null (JSON has no undefined).
 */
export function toJsonDocument(parsed: ParsedDockerfile): ParsedDockerfileJson {
  const metaArgValues: Record<string, string | null> = {};
  for (const [name, value] of Object.entries(parsed.metaArgValues)) {
    // defineProperty, because assigning a key named __proto__ would set the prototype.
    Object.defineProperty(metaArgValues, name, {
      value: value ?? null,
      enumerable: true,
      writable: true,
    });
  }
  return {
    directives: parsed.directives,
    escapeToken: parsed.escapeToken,
    metaArgs: parsed.metaArgs,
    metaArgValues,
    stages: parsed.stages,
    target: parsed.target.index,
    buildOrder: parsed.buildOrder,
    warnings: parsed.warnings,
  };
}
