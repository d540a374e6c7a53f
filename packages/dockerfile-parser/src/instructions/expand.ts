import { DockerfileParseError } from '../errors.js';
import { ShellExpansionError } from '../shell/errors.js';
import { processWord, type ShellEnv } from '../shell/lexer.js';
import { parseRunMount } from './mount.js';
import type { Instruction, KeyValuePair } from './types.js';

export interface ExpandOptions {
  /** The file's escape character (`ParsedDockerfile.escapeToken`); `\` by default. */
  escapeToken?: string;
}

/** An expanded instruction and the variable names it referenced that were not set. */
export interface ExpandedInstruction<T extends Instruction = Instruction> {
  instruction: T;
  unmatched: Set<string>;
}

class Expander {
  readonly unmatched = new Set<string>();

  constructor(
    private readonly env: ShellEnv,
    private readonly escapeToken: string,
  ) {}

  word(text: string): string {
    const result = processWord(text, this.env, { escapeToken: this.escapeToken });
    for (const name of result.unmatched) this.unmatched.add(name);
    return result.result;
  }

  words(text: string): string[] {
    const result = processWord(text, this.env, { escapeToken: this.escapeToken });
    for (const name of result.unmatched) this.unmatched.add(name);
    return result.words;
  }

  // Heredoc bodies keep their quotes and always use `\` as the escape, as BuildKit does.
  raw(text: string): string {
    const result = processWord(text, this.env, { escapeToken: '\\', skipProcessQuotes: true });
    for (const name of result.unmatched) this.unmatched.add(name);
    return result.result;
  }

  optional(text: string | undefined): string | undefined {
    return text === undefined ? undefined : this.word(text);
  }

  pairs(pairs: KeyValuePair[]): KeyValuePair[] {
    return pairs.map((pair) => ({ key: this.word(pair.key), value: this.word(pair.value) }));
  }
}

function expandWith(instruction: Instruction, expander: Expander): Instruction {
  switch (instruction.kind) {
    case 'env':
    case 'label':
      return { ...instruction, pairs: expander.pairs(instruction.pairs) };
    case 'arg':
      return {
        ...instruction,
        args: instruction.args.map((arg) =>
          arg.value === undefined ? arg : { ...arg, value: expander.word(arg.value) },
        ),
      };
    case 'copy':
    case 'add': {
      const common = {
        sources: instruction.sources.map((source) => expander.word(source)),
        destination: expander.word(instruction.destination),
        chown: expander.optional(instruction.chown),
        chmod: expander.optional(instruction.chmod),
        exclude: instruction.exclude.map((pattern) => expander.word(pattern)),
        sourceContents: instruction.sourceContents.map((file) =>
          file.expand ? { ...file, content: expander.raw(file.content) } : file,
        ),
      };
      if (instruction.kind === 'copy')
        return { ...instruction, ...common, from: expander.optional(instruction.from) };
      return { ...instruction, ...common, checksum: expander.optional(instruction.checksum) };
    }
    case 'expose':
      return { ...instruction, ports: instruction.ports.flatMap((port) => expander.words(port)) };
    case 'user':
      return { ...instruction, user: expander.word(instruction.user) };
    case 'workdir':
      return { ...instruction, path: expander.word(instruction.path) };
    case 'volume':
      return { ...instruction, paths: instruction.paths.map((path) => expander.word(path)) };
    case 'stopsignal':
      return { ...instruction, signal: expander.word(instruction.signal) };
    case 'from':
      return {
        ...instruction,
        image: expander.word(instruction.image),
        platform: expander.optional(instruction.platform),
      };
    case 'run':
      // The command itself is left to the shell; only mount options are expanded.
      return {
        ...instruction,
        mounts: instruction.mounts.map((mount) => parseRunMount(expander.word(mount.spec))),
      };
    default:
      return instruction;
  }
}

/**
 * Expands the variables of one instruction with the environment it runs in (the stage's
 * ENV and ARG values so far), exactly where Docker expands them:
 * - ENV and LABEL keys and values, ARG defaults, EXPOSE ports (split into words), USER,
 *   WORKDIR, VOLUME, STOPSIGNAL, COPY/ADD sources, destination, --from, --chown, --chmod,
 *   --exclude and ADD --checksum, heredoc source files with an unquoted delimiter, RUN --mount
 *   values, and FROM's image and --platform (with the global ARGs only).
 * - Never RUN, CMD, ENTRYPOINT, SHELL or HEALTHCHECK commands (the shell expands those at
 *   run time), MAINTAINER or ONBUILD triggers (expanded when the trigger runs).
 * Quotes and escapes are removed from expanded words. Throws `DockerfileParseError`.
 */
export function expandInstructionWithMatches<T extends Instruction>(
  instruction: T,
  env: ShellEnv,
  options: ExpandOptions = {},
): ExpandedInstruction<T> {
  const expander = new Expander(env, options.escapeToken ?? '\\');
  try {
    return { instruction: expandWith(instruction, expander) as T, unmatched: expander.unmatched };
  } catch (error) {
    if (error instanceof ShellExpansionError) {
      throw new DockerfileParseError(error.message, {
        code: 'EXPANSION_FAILED',
        hint: 'Check the ${...} syntax and quotes, or set the variable with ARG or ENV.',
        location: instruction.location,
        cause: error,
      });
    }
    if (error instanceof DockerfileParseError && error.location === undefined)
      error.locate(instruction.location);
    throw error;
  }
}

/** Expands one instruction; see `expandInstructionWithMatches` for which fields expand. */
export function expandInstruction<T extends Instruction>(
  instruction: T,
  env: ShellEnv,
  options: ExpandOptions = {},
): T {
  return expandInstructionWithMatches(instruction, env, options).instruction;
}
