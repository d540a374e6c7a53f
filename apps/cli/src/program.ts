import { Command, CommanderError } from 'commander';
import type { BuildOptions, BuildResult } from '@kiln/engine';
import { defineBuildCommand, toBuildOptions } from './build-command.js';
import type { BuildFlags } from './build-command.js';
import { renderEvent, verbosityAllows } from './render-events.js';
import { UsageError } from './usage-error.js';

/** Exit codes of the kiln command. */
export const ExitCode = { Success: 0, BuildError: 1, UsageError: 2, Interrupted: 130 } as const;

export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
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
  return program;
}

/** Runs the kiln command line and returns its exit code instead of calling process.exit. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let exitCode: number = ExitCode.Success;
  const program = createProgram(io, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return reportCommanderError(error, argv, io);
    throw error;
  }
}

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
  const helpCommand = argv[0] === 'build' ? 'kiln build --help' : 'kiln --help';
  io.stderr.write(`kiln: ${message}; run '${helpCommand}' for the flags\n`);
  return ExitCode.UsageError;
}

async function runBuild(flags: BuildFlags, io: CliIo): Promise<number> {
  let options: BuildOptions;
  try {
    options = toBuildOptions(flags, io.env);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`kiln: ${error.message}; ${error.hint}\n`);
      return ExitCode.UsageError;
    }
    throw error;
  }

  const verbosity = flags.verbosity;
  if (io.signal) options.signal = io.signal;
  options.onEvent = (event) => {
    const line = renderEvent(event, verbosity);
    if (line !== undefined) io.stderr.write(`${line}\n`);
  };
  try {
    // The engine loads only for a build, so `--help` and flag errors need nothing else built.
    const build = io.build ?? (await import('@kiln/engine')).build;
    const result = await build(options);
    io.stdout.write(`Built image ${result.digest}\n`);
    return ExitCode.Success;
  } catch (error) {
    io.stderr.write(formatBuildError(error, verbosityAllows(verbosity, 'debug')));
    const cancelled = (error as { code?: unknown }).code === 'BUILD_CANCELLED';
    return cancelled ? ExitCode.Interrupted : ExitCode.BuildError;
  }
}

/** Formats a build failure: message and hint, plus the stack and causes only when debugging. */
export function formatBuildError(error: unknown, withStack: boolean): string {
  if (!(error instanceof Error)) return `kiln: error: ${String(error)}\n`;
  const hint = (error as { hint?: unknown }).hint;
  let text = `kiln: error: ${error.message}\n`;
  if (typeof hint === 'string' && hint !== '') text += `hint: ${hint}\n`;
  if (withStack) {
    let current: unknown = error;
    while (current instanceof Error) {
      text += `${current.stack ?? current.message}\n`;
      current = current.cause;
      if (current instanceof Error) text += 'caused by: ';
    }
  }
  return text;
}
