import { DockerfileParseError } from '../errors.js';
import { expandInstructionWithMatches } from '../instructions/expand.js';
import { suggestClosest } from '../instructions/suggest.js';
import type { Instruction } from '../instructions/types.js';
import { ShellExpansionError } from '../shell/errors.js';
import { processWord } from '../shell/lexer.js';
import { PROXY_ARGS } from '../stages/platform-args.js';
import type { ParsedDockerfile, Stage } from '../stages/types.js';
import type { LintReporter } from './check.js';
import { looksLikeSecret } from './secrets.js';
import { dictionary, ownValue } from '../own.js';

// A loose image reference check: what the FROM line needs to be pullable at all.
const IMAGE_REFERENCE =
  /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@[a-z0-9]+:[a-f0-9]{32,})?$/i;

function tryUnmatched(
  text: string,
  env: Record<string, string>,
  escapeToken: string,
): { result: string; unmatched: Set<string> } | undefined {
  try {
    const { result, unmatched } = processWord(text, env, { escapeToken });
    return { result, unmatched };
  } catch (error) {
    if (error instanceof ShellExpansionError) return undefined;
    throw error;
  }
}

// The " (did you mean X?)" suffix Docker adds; `prefix` is "$" for variables.
function didYouMean(name: string, candidates: Iterable<string>, prefix = ''): string {
  const suggestion = suggestClosest(name, [...candidates]);
  return suggestion === undefined ? '' : ` (did you mean ${prefix}${suggestion}?)`;
}

/** UndefinedArgInFrom, InvalidDefaultArgInFrom, FromPlatformFlagConstDisallowed, RedundantTargetPlatform. */
export function checkFromArgs(parsed: ParsedDockerfile, reporter: LintReporter): void {
  const declared = new Set(
    parsed.metaArgs.flatMap((instruction) => instruction.args.map((arg) => arg.name)),
  );
  const known = new Set([...declared, ...Object.keys(parsed.platformArgs)]);
  const defaults = dictionary(parsed.platformArgs);
  for (const instruction of parsed.metaArgs) {
    for (const arg of instruction.args) {
      const expanded =
        arg.value === undefined ? undefined : tryUnmatched(arg.value, defaults, parsed.escapeToken);
      if (expanded !== undefined) defaults[arg.name] = expanded.result;
    }
  }
  const env = {
    ...parsed.platformArgs,
    ...Object.fromEntries(Object.entries(parsed.metaArgValues).filter(([, v]) => v !== undefined)),
  } as Record<string, string>;

  for (const stage of parsed.stages) {
    const from = stage.fromInstruction;
    for (const text of [from.image, from.platform ?? '']) {
      const expanded = tryUnmatched(text, env, parsed.escapeToken);
      for (const name of expanded?.unmatched ?? []) {
        if (known.has(name)) continue;
        reporter.report(
          'UndefinedArgInFrom',
          `FROM argument '${name}' is not declared${didYouMean(name, known)}`,
          from.location,
        );
      }
    }
    if (from.image.includes('$')) {
      const withDefaults = tryUnmatched(from.image, defaults, parsed.escapeToken);
      if (
        withDefaults === undefined ||
        withDefaults.result === '' ||
        !IMAGE_REFERENCE.test(withDefaults.result)
      ) {
        reporter.report(
          'InvalidDefaultArgInFrom',
          `Default value for ARG ${from.image} results in empty or invalid base image name`,
          from.location,
        );
      }
    }
    if (from.platform !== undefined) {
      if (!from.platform.includes('$')) {
        reporter.report(
          'FromPlatformFlagConstDisallowed',
          `FROM --platform flag should not use constant value "${from.platform}"`,
          from.location,
        );
      } else if (from.platform === '$TARGETPLATFORM' || from.platform === '${TARGETPLATFORM}') {
        reporter.report(
          'RedundantTargetPlatform',
          `Setting platform to predefined ${from.platform} in FROM is redundant as this is the default behavior`,
          from.location,
        );
      }
    }
  }
}

// Names a stage can see without declaring them: the proxy args are passed to RUN implicitly.
const IMPLICIT_NAMES = new Set(PROXY_ARGS);

// The ENV of a base image as `KEY=value` strings, keyed by the image as FROM names it.
type BaseImageEnv = Readonly<Record<string, readonly string[]>>;

// Whether the stage's environment is fully known: it starts from scratch or from an image
// whose ENV the caller supplied, directly or through earlier stages.
function knownBase(parsed: ParsedDockerfile, stage: Stage, baseImageEnv: BaseImageEnv): boolean {
  if (stage.from.scratch) return true;
  if (stage.from.stageRef === undefined)
    return ownValue(baseImageEnv, stage.from.image) !== undefined;
  return knownBase(parsed, parsed.stages[stage.from.stageRef] as Stage, baseImageEnv);
}

function envFromList(list: readonly string[] | undefined): Record<string, string> {
  const env = dictionary<string>();
  for (const entry of list ?? []) {
    const equals = entry.indexOf('=');
    if (equals < 0) env[entry] = '';
    else env[entry.slice(0, equals)] = entry.slice(equals + 1);
  }
  return env;
}

interface StageScope {
  env: Record<string, string>;
  absoluteWorkdir: boolean;
  /** A SHELL instruction ran in this stage or a parent stage. */
  customShell: boolean;
}

function checkInstructionVars(
  instruction: Instruction,
  scope: StageScope,
  parsed: ParsedDockerfile,
  reporter: LintReporter,
): void {
  let unmatched: Set<string>;
  try {
    unmatched = expandInstructionWithMatches(instruction, scope.env, {
      escapeToken: parsed.escapeToken,
    }).unmatched;
  } catch (error) {
    if (error instanceof DockerfileParseError) return;
    throw error;
  }
  for (const name of unmatched) {
    if (IMPLICIT_NAMES.has(name)) continue;
    reporter.report(
      'UndefinedVar',
      `Usage of undefined variable '$${name}'${didYouMean(name, Object.keys(scope.env), '$')}`,
      instruction.location,
    );
  }
}

// Applies ENV and ARG to the scope after the instruction is checked. Every value of one line
// is expanded before any is assigned, so `ENV a=1 b=$a` gives b the old value of a, as in Docker.
function updateScope(instruction: Instruction, scope: StageScope, parsed: ParsedDockerfile): void {
  const expand = (text: string): string =>
    tryUnmatched(text, scope.env, parsed.escapeToken)?.result ?? '';
  let assignments: Array<[string, string]> = [];
  if (instruction.kind === 'env') {
    assignments = instruction.pairs.map((pair) => [pair.key, expand(pair.value)]);
  } else if (instruction.kind === 'arg') {
    assignments = instruction.args.map((arg) => {
      const global =
        ownValue(parsed.metaArgValues, arg.name) ?? ownValue(parsed.platformArgs, arg.name);
      return [arg.name, arg.value === undefined ? (global ?? '') : expand(arg.value)];
    });
  }
  for (const [name, value] of assignments) scope.env[name] = value;
}

function checkSimpleRules(
  instruction: Instruction,
  scope: StageScope,
  reporter: LintReporter,
): void {
  switch (instruction.kind) {
    case 'shell':
      scope.customShell = true;
      break;
    case 'cmd':
    case 'entrypoint':
      // With a custom SHELL the shell form is a deliberate choice, so Docker does not warn.
      if (instruction.command.form === 'shell' && !scope.customShell) {
        reporter.report(
          'JSONArgsRecommended',
          `JSON arguments recommended for ${instruction.kind.toUpperCase()} to prevent unintended behavior related to OS signals`,
          instruction.location,
        );
      }
      break;
    case 'maintainer':
      reporter.report(
        'MaintainerDeprecated',
        'Maintainer instruction is deprecated in favor of using label',
        instruction.location,
      );
      break;
    case 'env':
    case 'label':
      if (instruction.legacyForm) {
        const upper = instruction.kind.toUpperCase();
        reporter.report(
          'LegacyKeyValueFormat',
          `"${upper} key=value" should be used instead of legacy "${upper} key value" format`,
          instruction.location,
        );
      }
      break;
    case 'workdir':
      if (instruction.path.startsWith('/') || instruction.path.startsWith('$'))
        scope.absoluteWorkdir = true;
      else if (!scope.absoluteWorkdir) {
        reporter.report(
          'WorkdirRelativePath',
          `Relative workdir "${instruction.path}" can have unexpected results if the base image changes`,
          instruction.location,
        );
      }
      break;
    case 'expose':
      for (const port of instruction.ports) {
        if (port.includes(':')) {
          reporter.report(
            'ExposeInvalidFormat',
            `EXPOSE instruction should not define an IP address or host-port mapping, found '${port}'`,
            instruction.location,
          );
        }
        const protocol = port.split('/')[1];
        if (protocol !== undefined && protocol !== protocol.toLowerCase()) {
          reporter.report(
            'ExposeProtoCasing',
            `Defined protocol '${port}' in EXPOSE instruction should be lowercase`,
            instruction.location,
          );
        }
      }
      break;
    default:
      break;
  }
}

/** Per-stage rules: JSON args, deprecated MAINTAINER, workdirs, variables, repeats, secrets. */
export function checkStageContents(
  parsed: ParsedDockerfile,
  reporter: LintReporter,
  baseImageEnv: BaseImageEnv = {},
): void {
  const scopes: StageScope[] = [];
  for (const instruction of parsed.metaArgs) {
    for (const arg of instruction.args) {
      if (looksLikeSecret(arg.name)) {
        reporter.report(
          'SecretsUsedInArgOrEnv',
          `Do not use ARG or ENV instructions for sensitive data (ARG "${arg.name}")`,
          instruction.location,
        );
      }
    }
  }

  for (const stage of parsed.stages) {
    const parent = stage.from.stageRef === undefined ? undefined : scopes[stage.from.stageRef];
    const baseEnv =
      parent === undefined ? envFromList(ownValue(baseImageEnv, stage.from.image)) : undefined;
    const scope: StageScope = {
      env: dictionary(parent?.env, baseEnv),
      absoluteWorkdir: parent?.absoluteWorkdir ?? false,
      customShell: parent?.customShell ?? false,
    };
    scopes[stage.index] = scope;
    // Without the base image's ENV, variables such as $PATH would be reported, so UndefinedVar
    // is skipped in stages whose base environment is unknown.
    const checkUndefined = knownBase(parsed, stage, baseImageEnv);
    const repeated = new Map<string, Instruction[]>();

    for (const instruction of stage.instructions) {
      if (checkUndefined) checkInstructionVars(instruction, scope, parsed, reporter);
      checkSimpleRules(instruction, scope, reporter);
      if (instruction.kind === 'env' || instruction.kind === 'arg') {
        const names =
          instruction.kind === 'env'
            ? instruction.pairs.map((pair) => pair.key)
            : instruction.args.map((arg) => arg.name);
        for (const name of names) {
          if (looksLikeSecret(name)) {
            reporter.report(
              'SecretsUsedInArgOrEnv',
              `Do not use ARG or ENV instructions for sensitive data (${instruction.kind.toUpperCase()} "${name}")`,
              instruction.location,
            );
          }
        }
      }
      if (
        instruction.kind === 'cmd' ||
        instruction.kind === 'entrypoint' ||
        instruction.kind === 'healthcheck'
      ) {
        repeated.set(instruction.kind, [...(repeated.get(instruction.kind) ?? []), instruction]);
      }
      updateScope(instruction, scope, parsed);
    }

    for (const [kind, list] of repeated) {
      for (const instruction of list.slice(0, -1)) {
        reporter.report(
          'MultipleInstructionsDisallowed',
          `Multiple ${kind.toUpperCase()} instructions should not be used in the same stage because only the last one will be used`,
          instruction.location,
        );
      }
    }
  }
}
