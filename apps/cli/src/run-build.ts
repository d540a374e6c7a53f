import path from 'node:path';
import type { BuildOptions } from '@kiln/engine';
import type { BuildFlags } from './build-command.js';
import { toBuildOptions } from './build-command.js';
import { failingStepSnippet, formatBuildError } from './failure-report.js';
import { buildMetadata, writeMetadataFile } from './metadata-file.js';
import { resolveProgressMode } from './mode-flags.js';
import type { CliIo } from './program.js';
import { formatCacheExplanation } from './cache-flags.js';
import { BuildRecord } from './progress/build-record.js';
import { JsonProgress } from './progress/json.js';
import { PlainProgress } from './progress/plain.js';
import type { ProgressRenderer } from './progress/renderer.js';
import { formatSummary } from './progress/summary.js';
import { TtyProgress } from './progress/tty.js';
import { verbosityAllows } from './render-events.js';
import { UsageError } from './usage-error.js';
import { ExitCode, buildExitCode } from './build-exit-code.js';

export { ExitCode } from './build-exit-code.js';

/**
 * Runs `kiln build`: checks the flags, renders the engine's events, prints the summary, writes
 * the metadata file and returns the exit code.
 */
export async function runBuild(flags: BuildFlags, io: CliIo): Promise<number> {
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
  const record = new BuildRecord();
  const mode = resolveProgressMode(flags.progress, flags.logFormat, io.stderr, io.env);
  const json = mode === 'json' ? new JsonProgress(io.stderr) : undefined;
  const renderer: ProgressRenderer =
    json ??
    (mode === 'tty'
      ? new TtyProgress(io.stderr, { verbosity, record })
      : new PlainProgress(io.stderr, verbosity, flags.logTimestamp));
  if (io.signal) options.signal = io.signal;
  options.onEvent = (event) => {
    record.record(event);
    renderer.event(event);
    const explanation = flags.explainCache ? formatCacheExplanation(event) : undefined;
    if (explanation !== undefined) io.stderr.write(`${explanation}\n`);
  };

  try {
    // The engine loads only for a build, so `--help` and flag errors need nothing else built.
    const build = io.build ?? (await import('@kiln/engine')).build;
    const result = await build(options);
    renderer.finish();
    if (!json && verbosityAllows(verbosity, 'info')) io.stderr.write(formatSummary(record));
    if (flags.metadataFile !== undefined) {
      const metadata = buildMetadata(result, record, flags.destination);
      await writeMetadataFile(flags.metadataFile, metadata);
    }
    io.stdout.write(`Built image ${result.digest}\n`);
    return ExitCode.Success;
  } catch (error) {
    renderer.finish();
    const step = record.currentStep;
    // NOTE: a tar, git or plugin context is gone by now, so its Dockerfile lines are not shown.
    const contextDir = path.join(options.context, options.contextSubPath ?? '');
    const snippet = step && (await failingStepSnippet(step, contextDir, options.dockerfile));
    const code = (error as { code?: unknown }).code;
    if (json && error instanceof Error) {
      const hint = (error as { hint?: unknown }).hint;
      json.error(
        error.message,
        typeof code === 'string' ? code : undefined,
        typeof hint === 'string' ? hint : undefined,
      );
    }
    io.stderr.write(formatBuildError(error, verbosityAllows(verbosity, 'debug'), snippet));
    return buildExitCode(error);
  }
}
