import { DockerfileParseError } from '../errors.js';
import type { Instruction } from '../instructions/types.js';
import { ShellExpansionError } from '../shell/errors.js';
import { processWord } from '../shell/lexer.js';
import type { Stage } from './types.js';

// The `from` values an instruction reads other stages or images through.
function stageReferences(instruction: Instruction): string[] {
  if (instruction.kind === 'copy' && instruction.from !== undefined) return [instruction.from];
  if (instruction.kind === 'run')
    return instruction.mounts.flatMap((mount) => (mount.from === undefined ? [] : [mount.from]));
  return [];
}

function expandReference(
  reference: string,
  env: Record<string, string>,
  escapeToken: string,
): string {
  try {
    return processWord(reference, env, { escapeToken }).result;
  } catch (error) {
    if (error instanceof ShellExpansionError) return reference;
    throw error;
  }
}

/**
 * Fills `dependsOn` and `imageDependencies` of every stage. A `--from` value names a stage
 * (case-insensitive), a stage index, or else an image; it is expanded with the global ARGs.
 */
export function resolveDependencies(
  stages: Stage[],
  globalEnv: Record<string, string>,
  escapeToken: string,
): void {
  const byName = new Map<string, number>();
  for (const stage of stages) {
    if (stage.name !== undefined && !byName.has(stage.name)) byName.set(stage.name, stage.index);
  }

  for (const stage of stages) {
    const dependencies = new Set<number>();
    const images = new Set<string>();
    if (stage.from.stageRef !== undefined) dependencies.add(stage.from.stageRef);

    for (const instruction of stage.instructions) {
      for (const raw of stageReferences(instruction)) {
        const reference = expandReference(raw, globalEnv, escapeToken);
        const named = byName.get(reference.toLowerCase());
        if (named !== undefined) {
          dependencies.add(named);
          continue;
        }
        if (/^\d+$/.test(reference)) {
          const index = Number.parseInt(reference, 10);
          if (index >= stages.length || index === stage.index) {
            throw new DockerfileParseError(`invalid stage index ${index} in --from`, {
              code: 'UNKNOWN_STAGE',
              hint: `Stage indexes start at 0; this Dockerfile has ${stages.length} stages and a stage cannot copy from itself.`,
              location: instruction.location,
            });
          }
          dependencies.add(index);
          continue;
        }
        images.add(reference);
      }
    }
    stage.dependsOn = [...dependencies].sort((a, b) => a - b);
    stage.imageDependencies = [...images];
  }
}

/** Returns the stages `target` needs, dependencies first; throws on a dependency cycle. */
export function resolveBuildOrder(stages: Stage[], target: number): number[] {
  const order: number[] = [];
  const state = new Map<number, 'visiting' | 'done'>();

  const visit = (index: number): void => {
    const seen = state.get(index);
    if (seen === 'done') return;
    const stage = stages[index] as Stage;
    if (seen === 'visiting') {
      throw new DockerfileParseError(
        `circular dependency detected on stage: ${stage.name ?? String(index)}`,
        {
          code: 'CIRCULAR_DEPENDENCY',
          hint: 'Break the cycle of COPY --from / RUN --mount from= references between stages.',
          location: stage.location,
        },
      );
    }
    state.set(index, 'visiting');
    for (const dependency of stage.dependsOn) visit(dependency);
    state.set(index, 'done');
    order.push(index);
  };

  visit(target);
  return order;
}
