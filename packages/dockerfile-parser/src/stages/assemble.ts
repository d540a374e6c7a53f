import { parseAst, type AstResult } from '../ast/parse.js';
import type { Node } from '../ast/node.js';
import { DockerfileParseError } from '../errors.js';
import { expandInstructionWithMatches } from '../instructions/expand.js';
import { parseInstructionNode } from '../instructions/parse-instruction.js';
import type { ArgInstruction, FromInstruction, Instruction } from '../instructions/types.js';
import { ShellExpansionError } from '../shell/errors.js';
import { processWord } from '../shell/lexer.js';
import { lintDockerfile } from '../lint/check.js';
import { parseCheckDirective } from '../lint/check-directive.js';
import { defaultPlatform, platformArgs } from './platform-args.js';
import type { ParsedDockerfile, ParseOptions, Stage } from './types.js';
import { resolveBuildOrder, resolveDependencies } from './graph.js';
import { dictionary, ownValue } from '../own.js';

function definedValues(values: Record<string, string | undefined>): Record<string, string> {
  const env = dictionary<string>();
  for (const [name, value] of Object.entries(values)) if (value !== undefined) env[name] = value;
  return env;
}

// Resolves the global ARGs in order: a build arg wins, else the default expanded with the
// platform args and the earlier global ARGs.
function resolveMetaArgs(
  metaArgs: ArgInstruction[],
  buildArgs: Readonly<Record<string, string>>,
  predefined: Record<string, string>,
  escapeToken: string,
): Record<string, string | undefined> {
  const values = dictionary<string | undefined>();
  for (const instruction of metaArgs) {
    const env = { ...predefined, ...definedValues(values) };
    const expanded = expandInstructionWithMatches(instruction, env, { escapeToken }).instruction;
    for (const arg of expanded.args) {
      values[arg.name] = Object.hasOwn(buildArgs, arg.name)
        ? ownValue(buildArgs, arg.name)
        : arg.value;
    }
  }
  return values;
}

function expandFrom(
  from: FromInstruction,
  env: Record<string, string>,
  escapeToken: string,
): { image: string; platform?: string } {
  try {
    const image = processWord(from.image, env, { escapeToken }).result;
    const platform =
      from.platform === undefined
        ? undefined
        : processWord(from.platform, env, { escapeToken }).result;
    if (image === '') {
      throw new DockerfileParseError(`base name (${from.image}) should not be blank`, {
        code: 'INVALID_ARGUMENT',
        hint: 'Give the ARG used in FROM a default value or pass it with --build-arg.',
        location: from.location,
      });
    }
    return { image, platform };
  } catch (error) {
    if (!(error instanceof ShellExpansionError)) throw error;
    throw new DockerfileParseError(error.message, {
      code: 'EXPANSION_FAILED',
      hint: 'Check the ${...} syntax in FROM.',
      location: from.location,
      cause: error,
    });
  }
}

function findTarget(stages: Stage[], target: string | undefined): Stage {
  if (target === undefined || target === '') return stages[stages.length - 1] as Stage;
  const wanted = target.toLowerCase();
  const found = stages.find((stage) => stage.name === wanted);
  if (found === undefined) {
    // The error is in the command line, so it names no Dockerfile line (see rethrowLocated).
    throw new DockerfileParseError(`target stage ${JSON.stringify(target)} could not be found`, {
      code: 'UNKNOWN_TARGET',
      hint: targetHint(stages),
    });
  }
  return found;
}

/** Lists the stages for an unknown --target: names, and unnamed stages by index and base image. */
function targetHint(stages: Stage[]): string {
  const listed = stages.map((stage) =>
    stage.name === undefined
      ? `stage ${stage.index} (unnamed, FROM ${stage.from.image})`
      : stage.name,
  );
  const named = stages.some((stage) => stage.name !== undefined);
  const unnamed = stages.some((stage) => stage.name === undefined);
  const advice = !named
    ? ' Name a stage with FROM image AS name to build it with --target.'
    : unnamed
      ? ' --target takes a stage name, so name an unnamed stage with FROM image AS name to build it.'
      : '';
  return `Stages are: ${listed.join(', ')}.${advice}`;
}

/**
 * Gives a parse error its file and source lines and rethrows it. An error without a location
 * points at line 1, except an unknown --target, which is a command-line error.
 */
function rethrowLocated(
  error: DockerfileParseError,
  file: string,
  source: (file: string) => string | undefined,
): never {
  if (error.location === undefined && error.code === 'UNKNOWN_TARGET') throw error;
  const location = error.location ?? { startLine: 1, endLine: 1 };
  const errorFile = location.file ?? file;
  throw error.locate({ ...location, file: errorFile }, source(errorFile));
}

/**
 * Parses a Dockerfile into stages of typed instructions, with lint warnings beside them.
 * Instructions come back raw; call `expandInstruction` with the stage's environment before
 * using one. FROM lines are already resolved with the global ARGs (`Stage.from`).
 * Throws only `DockerfileParseError`.
 */
export function parseDockerfile(text: string, options: ParseOptions = {}): ParsedDockerfile {
  const file = options.fileName ?? 'Dockerfile';
  try {
    return parseUnchecked(text, options, file);
  } catch (error) {
    if (error instanceof DockerfileParseError) rethrowLocated(error, file, () => text);
    throw internalError(error, file);
  }
}

/** An instruction node with the file it was read from, as an expand phase produces. */
export interface SourcedNode {
  node: Node;
  file: string;
}

/** Options of {@link parseDockerfileNodes}. */
export interface ParseNodesOptions extends ParseOptions {
  /** Lower-case keywords parsed as `extension` instructions instead of rejected as unknown. */
  extensionKeywords?: readonly string[];
  /** Text of each file, by the names in the entries, so errors show the lines around them. */
  sources?: Readonly<Record<string, string>>;
}

/**
 * Parses instruction nodes that may come from several files (the main Dockerfile and the
 * fragments an expand phase spliced in) into stages. `ast` is the main file's tree, whose
 * directives and escape token apply; each instruction keeps its own file in its location.
 * Throws only `DockerfileParseError`.
 */
export function parseDockerfileNodes(
  ast: AstResult,
  entries: readonly SourcedNode[],
  options: ParseNodesOptions = {},
): ParsedDockerfile {
  const file = options.fileName ?? 'Dockerfile';
  const extensions = new Set(options.extensionKeywords ?? []);
  try {
    return assemble(ast, entries, options, file, extensions);
  } catch (error) {
    if (error instanceof DockerfileParseError) {
      rethrowLocated(error, file, (errorFile) => options.sources?.[errorFile]);
    }
    throw internalError(error, file);
  }
}

function internalError(error: unknown, file: string): DockerfileParseError {
  // Anything else is a bug in this package; wrap it so callers see one error type.
  return new DockerfileParseError(
    `internal parser error: ${error instanceof Error ? error.message : String(error)}`,
    {
      code: 'INTERNAL',
      hint: 'This is a bug in the Dockerfile parser; please report it with the Dockerfile.',
      location: { file, startLine: 1, endLine: 1 },
      cause: error,
    },
  );
}

function parseUnchecked(text: string, options: ParseOptions, file: string): ParsedDockerfile {
  const ast = parseAst(text);
  const entries = ast.root.children.map((node) => ({ node, file }));
  return assemble(ast, entries, options, file, new Set());
}

function assemble(
  ast: AstResult,
  entries: readonly SourcedNode[],
  options: ParseOptions,
  file: string,
  extensions: ReadonlySet<string>,
): ParsedDockerfile {
  const { escapeToken } = ast;
  const target = options.platform ?? defaultPlatform();
  const predefined = platformArgs(target, options.buildPlatform ?? target);
  const buildArgs = options.buildArgs ?? {};

  const metaArgs: ArgInstruction[] = [];
  const stages: Stage[] = [];
  let current: Stage | undefined;
  for (const entry of entries) {
    const instruction = parseInstructionNode(entry.node, entry.file, extensions);
    if (instruction.kind === 'from') {
      current = startStage(stages.length, instruction);
      stages.push(current);
      continue;
    }
    if (current === undefined) {
      if (instruction.kind === 'arg') {
        metaArgs.push(instruction);
        continue;
      }
      throw new DockerfileParseError('no build stage in current context', {
        code: 'NO_STAGE',
        hint: 'Start the Dockerfile with FROM (only ARG may come before the first FROM).',
        location: instruction.location,
      });
    }
    current.instructions.push(instruction);
  }
  if (stages.length === 0) {
    throw new DockerfileParseError('no build stage in current context', {
      code: 'NO_STAGE',
      hint: 'Add a FROM instruction.',
      location: { file, startLine: ast.root.endLine, endLine: ast.root.endLine },
    });
  }

  const metaArgValues = resolveMetaArgs(metaArgs, buildArgs, predefined, escapeToken);
  const fromEnv = { ...predefined, ...definedValues(metaArgValues) };
  // FROM can only build on a stage defined above it; the first stage of a name wins.
  const earlierStages = new Map<string, number>();
  for (const stage of stages) {
    const { image, platform } = expandFrom(stage.fromInstruction, fromEnv, escapeToken);
    const stageRef = earlierStages.get(image.toLowerCase());
    if (stage.name !== undefined && !earlierStages.has(stage.name))
      earlierStages.set(stage.name, stage.index);
    stage.from = { image, platform, scratch: image.toLowerCase() === 'scratch', stageRef };
  }
  resolveDependencies(stages, fromEnv, escapeToken);

  const targetStage = findTarget(stages, options.target);
  const buildOrder = resolveBuildOrder(stages, targetStage.index);
  const parsed: ParsedDockerfile = {
    directives: ast.directives,
    escapeToken,
    metaArgs,
    metaArgValues,
    platformArgs: predefined,
    stages,
    target: targetStage,
    buildOrder,
    warnings: [],
    warningsAreErrors: parseCheckDirective(ast.directives).error,
    ast: ast.root,
  };
  parsed.warnings = lintDockerfile(parsed, ast.warnings, {
    file,
    buildArgs,
    baseImageEnv: options.baseImageEnv,
  });
  return parsed;
}

function startStage(index: number, from: FromInstruction): Stage {
  return {
    index,
    name: from.stageName,
    from: { image: from.image, scratch: false },
    fromInstruction: from,
    instructions: [] as Instruction[],
    dependsOn: [],
    imageDependencies: [],
    location: from.location,
  };
}
