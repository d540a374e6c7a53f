export { createProgram, formatBuildError, runCli, ExitCode } from './program.js';
export type { CliIo } from './program.js';
export { defineBuildCommand, toBuildOptions } from './build-command.js';
export type { BuildFlags } from './build-command.js';
export { renderEvent } from './render-events.js';
export type { Verbosity } from './render-events.js';
export { UsageError } from './usage-error.js';
