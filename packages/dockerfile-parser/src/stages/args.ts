import type { ArgDeclaration, ArgInstruction } from '../instructions/types.js';
import { ownValue } from '../own.js';

/** The value sources of a stage's ARG line. */
export interface ArgSources {
  /** `--build-arg` values. */
  buildArgs?: Readonly<Record<string, string>>;
  /** `ParsedDockerfile.metaArgValues`: the global ARGs. */
  metaArgValues?: Readonly<Record<string, string | undefined>>;
  /** `ParsedDockerfile.platformArgs`: TARGETPLATFORM and friends. */
  platformArgs?: Readonly<Record<string, string>>;
}

/**
 * Resolves the values of an ARG line inside a stage, as Docker does: a build arg wins, then
 * the line's default, then the value of a global ARG or predefined platform arg of that name.
 * Pass the instruction after `expandInstruction`, so defaults are already expanded. A name
 * with no value anywhere comes back without `value` (declared, but unset).
 */
export function resolveStageArgs(
  instruction: ArgInstruction,
  sources: ArgSources,
): ArgDeclaration[] {
  return instruction.args.map(({ name, value }) => {
    const resolved =
      ownValue(sources.buildArgs, name) ??
      value ??
      ownValue(sources.metaArgValues, name) ??
      ownValue(sources.platformArgs, name);
    return resolved === undefined ? { name } : { name, value: resolved };
  });
}
