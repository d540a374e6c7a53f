import path from 'node:path';
import { Option } from 'commander';
import type { Command } from 'commander';
import type { BuildOptions } from '@kiln/engine';
import { parseCount } from './flag-values.js';
import { UsageError } from './usage-error.js';

export const PROGRESS_MODES = ['auto', 'tty', 'plain', 'json'] as const;
export type ProgressMode = (typeof PROGRESS_MODES)[number];
export const LOG_FORMATS = ['text', 'color', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** The parsed values of the flags that choose how a build runs and reports. */
export interface ModeFlags {
  contextSubPath?: string;
  platform?: string;
  skipUnusedStages: boolean;
  singleSnapshot: boolean;
  snapshotMode: 'full' | 'redo' | 'time';
  ignoreVarRun: boolean;
  cleanup: boolean;
  isolation: 'chroot' | 'none';
  force: boolean;
  progress: ProgressMode;
  metadataFile?: string;
  logFormat: LogFormat;
  logTimestamp: boolean;
}

/** Adds kaniko's context, stage and snapshot flags and kiln's isolation and report flags. */
export function addModeFlags(command: Command): Command {
  return command
    .option(
      '--context-sub-path <dir>',
      'directory inside --context that is the actual build context',
    )
    .option('--platform <os/arch[/variant]>', 'alias of --custom-platform')
    .option(
      '--skip-unused-stages',
      'build only the stages the target needs (kiln always does; accepted for kaniko compatibility)',
      false,
    )
    .option(
      '--single-snapshot',
      'one layer per stage with all its changes, taken after its last instruction; turns the layer cache off',
      false,
    )
    .addOption(
      new Option(
        '--snapshot-mode <mode>',
        'how a file tree walk detects changed files: full (every stat field, content where stat cannot tell), redo (mode, owner, size, mtime), time (mtime only); overlay snapshots ignore it',
      )
        .choices(['full', 'redo', 'time'])
        .default('full'),
    )
    .option('--ignore-var-run', 'with --isolation=none, leave /var/run out of snapshots', true)
    .option('--no-ignore-var-run', 'with --isolation=none, snapshot /var/run too')
    .option(
      '--cleanup',
      'with --isolation=none, remove the built file system after the build (kiln always removes its work files)',
      false,
    )
    .addOption(
      new Option(
        '--isolation <mode>',
        'where stages run: chroot (a root filesystem per stage, RUN in a private mount namespace and chroot); none (on / itself, emptied before each stage: only in a dedicated container)',
      )
        .choices(['chroot', 'none'])
        .default('chroot'),
    )
    .option(
      '--force',
      'with --isolation=none, build even when kiln finds no sign that it runs in a container',
      false,
    )
    .addOption(
      new Option(
        '--progress <mode>',
        'progress display on stderr: tty (live view), plain (lines), json (one event per line), auto (tty on a terminal, else plain)',
      )
        .choices([...PROGRESS_MODES])
        .default('auto'),
    )
    .option(
      '--metadata-file <file>',
      'write a JSON summary of the build (image, digests, stage timings, cache hits) to this file',
    )
    .addOption(
      new Option('--log-format <format>', 'format of log lines; json implies --progress=json')
        .choices([...LOG_FORMATS])
        .default('color'),
    )
    .option('--log-timestamp', 'start each plain progress line with the time', false);
}

/** The build options that the mode flags set. */
export type ModeOptions = Pick<
  BuildOptions,
  'context' | 'contextSubPath' | 'platform' | 'ignorePaths' | 'isolation' | 'imageFsExtractRetry'
>;

/** Returns the build options that the mode flags set, checking what commander cannot. */
export function toModeOptions(
  flags: ModeFlags & {
    customPlatform?: string | undefined;
    context: string;
    imageFsExtractRetry?: string | undefined;
  },
): ModeOptions {
  if (flags.force && flags.isolation !== 'none') {
    throw new UsageError('--force applies only to --isolation=none', 'leave out --force');
  }
  if (
    flags.platform !== undefined &&
    flags.customPlatform !== undefined &&
    flags.platform !== flags.customPlatform
  ) {
    throw new UsageError(
      `--platform "${flags.platform}" and --custom-platform "${flags.customPlatform}" differ`,
      'pass only one of them',
    );
  }

  const options: ModeOptions = { context: flags.context };
  if (flags.isolation === 'none') {
    options.isolation = {
      mode: 'none',
      ignoreVarRun: flags.ignoreVarRun,
      force: flags.force,
      cleanup: flags.cleanup,
    };
  }
  const retries = parseCount(flags.imageFsExtractRetry, '--image-fs-extract-retry');
  if (retries !== undefined) options.imageFsExtractRetry = retries;
  const platform = flags.customPlatform ?? flags.platform;
  if (platform !== undefined) options.platform = platform;
  if (flags.contextSubPath !== undefined) {
    const sub = path.normalize(flags.contextSubPath);
    if (path.isAbsolute(sub) || sub === '..' || sub.startsWith(`..${path.sep}`)) {
      throw new UsageError(
        `invalid --context-sub-path "${flags.contextSubPath}"`,
        'give a relative directory inside --context',
      );
    }
    // The engine applies it, because the context may be a tar or git URL rather than a directory.
    options.contextSubPath = sub;
  }
  return options;
}

/** Picks the progress renderer for `auto`: json logs, a live view on a terminal, else plain lines. */
export function resolveProgressMode(
  mode: ProgressMode,
  logFormat: LogFormat,
  stream: { isTTY?: boolean },
  env: NodeJS.ProcessEnv,
): Exclude<ProgressMode, 'auto'> {
  if (mode !== 'auto') return mode;
  if (logFormat === 'json') return 'json';
  return stream.isTTY === true && env.TERM !== 'dumb' ? 'tty' : 'plain';
}
