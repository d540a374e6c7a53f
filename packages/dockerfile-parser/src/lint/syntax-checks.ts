import { splitCommand } from '../ast/split-command.js';
import type { Instruction } from '../instructions/types.js';
import type { ParsedDockerfile } from '../stages/types.js';
import type { LintReporter } from './check.js';

const RESERVED_STAGE_NAMES = new Set(['scratch', 'context']);

// The instructions Docker counts for casing: every stage's FROM and the instructions in
// stages. Global ARGs and ONBUILD triggers are not counted.
function stageInstructions(parsed: ParsedDockerfile): Instruction[] {
  const list: Instruction[] = [];
  for (const stage of parsed.stages) list.push(stage.fromInstruction, ...stage.instructions);
  return list;
}

/** ConsistentInstructionCasing: every keyword should follow the casing most keywords use. */
export function checkCasing(parsed: ParsedDockerfile, reporter: LintReporter): void {
  const instructions = stageInstructions(parsed);
  let lower = 0;
  let upper = 0;
  for (const { keyword } of instructions) {
    if (keyword === keyword.toLowerCase()) lower++;
    else if (keyword === keyword.toUpperCase()) upper++;
  }
  const majorityLower = lower > upper;
  for (const instruction of instructions) {
    const expected = majorityLower
      ? instruction.keyword.toLowerCase()
      : instruction.keyword.toUpperCase();
    if (instruction.keyword !== expected) {
      reporter.report(
        'ConsistentInstructionCasing',
        `Command '${instruction.keyword}' should match the case of the command majority (${majorityLower ? 'lowercase' : 'uppercase'})`,
        instruction.location,
      );
    }
  }
}

/** StageNameCasing, FromAsCasing, ReservedStageName and DuplicateStageName. */
export function checkStageNames(parsed: ParsedDockerfile, reporter: LintReporter): void {
  const seen = new Set<string>();
  for (const stage of parsed.stages) {
    const from = stage.fromInstruction;
    const words = splitCommand(from.original).rest.split(/[\t\v\f\r ]+/);
    if (words.length !== 3) continue;
    const asKeyword = words[1] as string;
    const writtenName = words[2] as string;

    if (writtenName !== writtenName.toLowerCase()) {
      reporter.report(
        'StageNameCasing',
        `Stage name '${writtenName}' should be lowercase`,
        from.location,
      );
    }
    const fromLower = from.keyword === from.keyword.toLowerCase();
    const fromUpper = from.keyword === from.keyword.toUpperCase();
    if (
      (fromLower && asKeyword !== asKeyword.toLowerCase()) ||
      (fromUpper && asKeyword !== asKeyword.toUpperCase())
    ) {
      reporter.report(
        'FromAsCasing',
        `'${asKeyword}' and '${from.keyword}' keywords' casing do not match`,
        from.location,
      );
    }
    const name = stage.name as string;
    if (RESERVED_STAGE_NAMES.has(name)) {
      reporter.report(
        'ReservedStageName',
        `Stage name should not use the same name as reserved stage "${name}"`,
        from.location,
      );
    }
    if (seen.has(name)) {
      reporter.report(
        'DuplicateStageName',
        `Duplicate stage name "${name}", stage names should be unique`,
        from.location,
      );
    }
    seen.add(name);
  }
}
