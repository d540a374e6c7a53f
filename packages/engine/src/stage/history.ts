import { PROXY_ARGS } from '@kiln/dockerfile-parser';
import type { AddInstruction, CopyInstruction, RunInstruction } from '@kiln/dockerfile-parser';
import { runArgv } from '../run/run-instruction.js';
import { splitEnvEntry } from './environment.js';
import type { StageRun } from './stage-run.js';

/**
 * History `created_by` texts in the wording of Docker's builder (BuildKit's dockerfile2llb):
 * steps that run in or copy into the file system end in ` # buildkit`.
 */
const LAYER_SUFFIX = ' # buildkit';

/** `COPY [--parents] [--chown=..] [--chmod=..] SRC... [<<NAME...] DEST # buildkit`. */
export function copyCreatedBy(instruction: CopyInstruction | AddInstruction): string {
  const parts = [instruction.kind.toUpperCase()];
  if (instruction.kind === 'copy' && instruction.parents) parts.push('--parents');
  if (instruction.chown !== undefined) parts.push(`--chown=${instruction.chown}`);
  if (instruction.chmod !== undefined) parts.push(`--chmod=${instruction.chmod}`);
  parts.push(...instruction.sources);
  parts.push(...instruction.sourceContents.map((file) => `<<${file.name}`));
  parts.push(instruction.destination);
  return parts.join(' ') + LAYER_SUFFIX;
}

/**
 * `RUN [|N NAME=value...] ARGV # buildkit`: the stage's ARGs prefix the command, each with the
 * value the command sees (an ENV of the same name wins), as BuildKit's runCommandString writes.
 * NOTE: a proxy arg that the stage also declares with ARG is left out of the prefix.
 */
export function runCreatedBy(run: StageRun, instruction: RunInstruction): string {
  const env = new Map((run.meta.config.Env ?? []).map(splitEnvEntry));
  const args = [...run.args.entries()]
    .filter(([name]) => !PROXY_ARGS.includes(name))
    .map(([name, value]) => `${name}=${env.get(name) ?? value ?? ''}`);
  const prefix = args.length > 0 ? [`|${args.length}`, ...args] : [];
  return `RUN ${[...prefix, ...runArgv(instruction, run.meta.shell)].join(' ')}${LAYER_SUFFIX}`;
}

/** `ARG NAME=value`: the value the stage resolved (build arg, default or global), or the bare name. */
export function argCreatedBy(run: StageRun, names: readonly string[]): string {
  const parts = names.map((name) => {
    const value = run.args.get(name);
    return value === undefined ? name : `${name}=${value}`;
  });
  return `ARG ${parts.join(' ')}`;
}
