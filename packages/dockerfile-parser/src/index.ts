// @kiln/dockerfile-parser: Dockerfile text -> low-level tree -> typed instructions -> stages,
// with lint warnings beside the result. Pure: no I/O.
//
// Expansion contract: `parseDockerfile` returns stage instructions raw (variables, quotes and
// escapes as written). FROM lines are resolved with the global ARGs into `Stage.from`. The
// engine keeps each stage's environment (ENV values and ARG values) and calls
// `expandInstruction(instruction, env, { escapeToken })` before executing an instruction;
// it expands exactly the fields Docker expands and leaves RUN/CMD/ENTRYPOINT/SHELL/
// HEALTHCHECK commands to the shell.

export { parseDockerfile, parseDockerfileNodes } from './stages/assemble.js';
export { expandInstruction, expandInstructionWithMatches } from './instructions/expand.js';
export { parseInstructionNode } from './instructions/parse-instruction.js';
export { parseRunMount } from './instructions/mount.js';
export { runCommand } from './instructions/run-script.js';
export { parseExposedPort } from './instructions/expose.js';
export { parseAst } from './ast/parse.js';
export { dumpNode, nodeArguments } from './ast/node.js';
export { dumpDockerfile } from './dump.js';
export { processWord, expandWord, expandWords } from './shell/lexer.js';
export { ShellExpansionError } from './shell/errors.js';
export { DockerfileParseError, renderSnippet } from './errors.js';
export { LINT_RULES } from './lint/rules.js';
export { formatLintWarning } from './lint/format.js';
export { resolveStageArgs } from './stages/args.js';
export { toJsonDocument } from './stages/json.js';
export { platformArgs, defaultPlatform, PROXY_ARGS } from './stages/platform-args.js';
export { INSTRUCTION_KINDS } from './instructions/types.js';

export type { SourceLocation, DockerfileParseErrorOptions } from './errors.js';
export type { Node, Heredoc } from './ast/node.js';
export type { Directive } from './ast/directives.js';
export type { AstResult, SyntaxWarning } from './ast/parse.js';
export type { ShellEnv, ShellLexerOptions, ExpansionResult } from './shell/lexer.js';
export type { ExpandOptions, ExpandedInstruction } from './instructions/expand.js';
export type { RunCommand } from './instructions/run-script.js';
export type { ExposedPort } from './instructions/expose.js';
export type { PlatformSpec } from './stages/platform-args.js';
export type { ParseOptions, ParsedDockerfile, Stage, StageBase } from './stages/types.js';
export type { ParseNodesOptions, SourcedNode } from './stages/assemble.js';
export type { LintRule, LintWarning } from './lint/types.js';
export type { ArgSources } from './stages/args.js';
export type { ParsedDockerfileJson } from './stages/json.js';
export type { LintRuleName } from './lint/rules.js';
export type {
  Instruction,
  InstructionKind,
  CommandForm,
  KeyValuePair,
  ArgDeclaration,
  HeredocFile,
  RunMount,
  FromInstruction,
  RunInstruction,
  CmdInstruction,
  EntrypointInstruction,
  ShellInstruction,
  EnvInstruction,
  LabelInstruction,
  ArgInstruction,
  ExposeInstruction,
  CopyInstruction,
  AddInstruction,
  VolumeInstruction,
  UserInstruction,
  WorkdirInstruction,
  OnbuildInstruction,
  StopsignalInstruction,
  HealthcheckInstruction,
  MaintainerInstruction,
  ExtensionInstruction,
} from './instructions/types.js';
