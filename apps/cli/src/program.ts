import { Command, CommanderError } from 'commander';
import type { BuildOptions, BuildResult } from '@kiln/engine';
import { defineBuildCommand } from './build-command.js';
import { defineCacheCommands } from './cache-commands.js';
import { defineCheckCommand, defineParseCommand } from './dockerfile-commands.js';
import { normalizeBooleanFlags } from './flag-values.js';
import { ExitCode, runBuild } from './run-build.js';
import { UsageError } from './usage-error.js';

export { ExitCode } from './run-build.js';
export { formatBuildError } from './failure-report.js';

export interface CliIo {
  stdout: { write(text: string): unknown };
  /** Progress and errors; a terminal (`isTTY`) gets the live view under --progress=auto. */
  stderr: { write(text: string): unknown; isTTY?: boolean; columns?: number };
  env: NodeJS.ProcessEnv;
  /** Cancels a running build (main.ts aborts it on SIGINT and SIGTERM). */
  signal?: AbortSignal;
  /** The engine's build function; tests replace it to check flag handling alone. */
  build?: (options: BuildOptions) => Promise<BuildResult>;
}

const CLI_VERSION = '0.1.0';

/** Builds the `kiln` command tree; each action reports its exit code through `setExitCode`. */
export function createProgram(io: CliIo, setExitCode: (code: number) => void): Command {
  const program = new Command('kiln')
    .description('Build OCI images from Dockerfiles without a daemon.')
    .version(CLI_VERSION)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: () => undefined,
    });

  const buildCommand = defineBuildCommand(async (flags) => setExitCode(await runBuild(flags, io)));
  buildCommand.copyInheritedSettings(program);
  program.addCommand(buildCommand);
  // `kiln --help` lists the build flags too, because kaniko users call the executor without a command.
  program.addHelpText('after', () => `\nkiln build flags:\n${buildFlagsHelp(buildCommand)}`);
  for (const command of [
    defineParseCommand(io, setExitCode),
    defineCheckCommand(io, setExitCode),
    ...defineCacheCommands(io, setExitCode),
  ]) {
    command.copyInheritedSettings(program);
    program.addCommand(command);
  }
  return program;
}

/** Runs the kiln command line and returns its exit code instead of calling process.exit. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let exitCode: number = ExitCode.Success;
  const program = createProgram(io, (code) => {
    exitCode = code;
  });
  try {
    const options = program.commands.flatMap((command) => command.options);
    await program.parseAsync(normalizeBooleanFlags(argv, options), { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return reportCommanderError(error, argv, io);
    if (error instanceof UsageError) {
      io.stderr.write(`kiln: ${error.message}; ${error.hint}\n`);
      return ExitCode.UsageError;
    }
    throw error;
  }
}

// Commander's message for a value outside `.choices()`, which kiln rewords like its own errors.
const INVALID_CHOICE =
  /^option '(--[a-z0-9-]+)[^']*' argument '(.*)' is invalid\. Allowed choices are (.*)\.$/;

function reportCommanderError(error: CommanderError, argv: string[], io: CliIo): number {
  if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version')
    return ExitCode.Success;
  if (error.code === 'commander.help') return ExitCode.UsageError;
  const message = error.message
    .replace(/^error: /, '')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .join(' ')
    .replace('(Did you mean', '(did you mean');
  const choice = INVALID_CHOICE.exec(message);
  if (choice) {
    const [, flag, value, choices] = choice;
    io.stderr.write(`kiln: invalid ${flag} value "${value}"; give one of ${choices}\n`);
    return ExitCode.UsageError;
  }
  const subcommand = ['build', 'parse', 'check'].includes(argv[0] ?? '') ? `${argv[0]} ` : '';
  const helpCommand = `kiln ${subcommand}--help`;
  io.stderr.write(`kiln: ${message.replace(/\.$/, '')}; run '${helpCommand}' for the flags\n`);
  return ExitCode.UsageError;
}

/** Returns the options section of `kiln build --help`. */
function buildFlagsHelp(buildCommand: Command): string {
  const help = buildCommand.helpInformation();
  return help.slice(help.indexOf('Options:') + 'Options:'.length + 1);
}
