import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { BuildOptions } from '@kiln/engine';
import { collect, splitKeyValue } from './flag-values.js';
import { UsageError } from './usage-error.js';

/** Name of the optional config file read from the working directory when `--config` is not given. */
export const CONFIG_FILE_NAME = 'kiln.config.json';

/** The parsed values of the plugin flags. */
export interface PluginFlags {
  plugin: string[];
  config?: string;
  output: string[];
  executor?: string;
  executorOpt: string[];
}

/** Adds `--plugin`, `--config`, `--output`, `--executor` and `--executor-opt` to `kiln build`. */
export function addPluginFlags(command: Command): Command {
  return command
    .option(
      '--plugin <name|path>',
      'plugin to load: an npm package name or a .js/.mjs file, resolved from the working directory; repeatable',
      collect,
      [],
    )
    .option(
      '--config <file>',
      `config file with a "plugins" list (default: ./${CONFIG_FILE_NAME} when it exists)`,
    )
    .option(
      '--output <type=NAME,key=value,...>',
      'write the image through a plugin output, such as type=dir,dest=./rootfs; repeatable',
      collect,
      [],
    )
    .option('--executor <name>', 'RUN executor: chroot (default) or one that a plugin provides')
    .option('--executor-opt <key=value>', 'option for a plugin executor; repeatable', collect, []);
}

/**
 * Turns the plugin flags and the config file into engine options: `--plugin` values first, then
 * the config file's `plugins`, whose relative paths are taken from the config file's directory.
 */
export function toPluginOptions(
  flags: PluginFlags,
  cwd: string,
): Pick<BuildOptions, 'plugins' | 'pluginBaseDir' | 'outputs' | 'executor' | 'executorOptions'> {
  const fromConfig = readConfigPlugins(flags.config, cwd);
  const plugins = [...flags.plugin, ...fromConfig];
  const outputs = flags.output.map(parseOutput);
  const executorOptions = Object.fromEntries(
    flags.executorOpt.map((text) => splitKeyValue(text, '--executor-opt')),
  );
  return {
    ...(flags.executor === undefined ? {} : { executor: flags.executor }),
    ...(flags.executorOpt.length === 0 ? {} : { executorOptions }),
    ...(plugins.length === 0 ? {} : { plugins, pluginBaseDir: cwd }),
    ...(outputs.length === 0 ? {} : { outputs }),
  };
}

/** Parses `type=NAME,key=value,...` as Docker's `--output` writes it. */
export function parseOutput(text: string): { type: string; options: Record<string, string> } {
  const options: Record<string, string> = {};
  for (const part of text.split(',')) {
    const [key, value] = splitKeyValue(part.trim(), '--output');
    options[key] = value;
  }
  const { type, ...rest } = options;
  if (type === undefined || type === '') {
    throw new UsageError(
      `invalid --output value "${text}": type is missing`,
      'write it as --output type=NAME,key=value',
    );
  }
  return { type, options: rest };
}

function readConfigPlugins(configFlag: string | undefined, cwd: string): string[] {
  const file = path.resolve(cwd, configFlag ?? CONFIG_FILE_NAME);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    // Only the default file is optional; a file named with --config must exist.
    if (configFlag === undefined && (error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new UsageError(
      `cannot read the config file ${file}: ${(error as Error).message}`,
      'check the --config path',
    );
  }

  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (error) {
    throw new UsageError(
      `invalid JSON in ${file}: ${(error as Error).message}`,
      'fix the JSON syntax of the config file',
    );
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new UsageError(
      `invalid config file ${file}: expected a JSON object`,
      'write it as { "plugins": ["name-or-path"] }',
    );
  }
  const plugins = (config as { plugins?: unknown }).plugins;
  if (plugins === undefined) return [];
  if (
    !Array.isArray(plugins) ||
    !plugins.every((entry) => typeof entry === 'string' && entry !== '')
  ) {
    throw new UsageError(
      `invalid "plugins" in ${file}: expected a list of non-empty strings`,
      'write it as { "plugins": ["name-or-path"] }',
    );
  }
  const dir = path.dirname(file);
  return plugins.map((entry: string) => (isPathLike(entry) ? path.resolve(dir, entry) : entry));
}

function isPathLike(entry: string): boolean {
  return entry.startsWith('.') || path.isAbsolute(entry) || /\.(?:m?js|cjs)$/.test(entry);
}
