import type { ParsedDockerfile } from '@kiln/dockerfile-parser';
import type { Platform } from '@kiln/oci-spec';
import type { PluginLogger } from '@kiln/plugin-api';
import type { DirectoryContext } from '../context/build-context.js';
import { dockerfileParseOptions, parseDockerfileText } from '../dockerfile-input.js';
import type { BuildEvent } from '../events.js';
import type { BuildOptions } from '../options.js';
import { createChrootExecutor } from './chroot-executor.js';
import { ContextReader } from './context-reader.js';
import { parseWithPlugins } from './expand-phase.js';
import { loadPluginSet } from './load-plugins.js';
import { prepareOutputs } from './output-targets.js';
import type { PreparedOutput } from './output-targets.js';
import { createPluginLogger, knownSecretValues } from './plugin-logger.js';
import type { PluginRuntime } from './plugin-runtime.js';
import type { PluginSet } from './plugin-set.js';
import { selectExecutor } from './run-executor.js';
import type { SelectedExecutor } from './run-executor.js';

/** The plugins of one build, loaded and checked, with the output targets they will write. */
export interface BuildPlugins {
  set: PluginSet;
  context: ContextReader;
  outputs: PreparedOutput[];
  /** The plugin executor `executor` selects; undefined for the built-in chroot. */
  executor: SelectedExecutor | undefined;
  signal: AbortSignal;
  logger(plugin: string): PluginLogger;
}

/**
 * Loads the build's plugins and creates the requested plugin outputs; this runs before the work
 * directory exists, so a plugin that fails here leaves nothing behind.
 */
export async function openBuildPlugins(
  options: BuildOptions,
  context: DirectoryContext,
  emit: (event: BuildEvent) => void,
  loaded?: PluginSet,
): Promise<BuildPlugins> {
  const set =
    loaded ??
    (await loadPluginSet(options.plugins ?? [], options.pluginBaseDir ?? process.cwd(), emit));
  const secrets = knownSecretValues(options.secrets ?? {});
  const plugins: BuildPlugins = {
    set,
    context: new ContextReader(context),
    outputs: await prepareOutputs(options.outputs ?? [], set),
    executor: undefined,
    signal: options.signal ?? new AbortController().signal,
    logger: (plugin) => createPluginLogger(plugin, emit, secrets),
  };
  plugins.executor = await selectExecutor(plugins, options.executor, options.executorOptions ?? {});
  return plugins;
}

/** Parses the Dockerfile, running the expand phase first when a plugin needs it. */
export async function parseBuildDockerfile(
  plugins: BuildPlugins,
  options: BuildOptions,
  dockerfile: { file: string; text: string },
  platform: Platform,
): Promise<ParsedDockerfile> {
  if (plugins.set.plugins.length === 0) return parseDockerfileText(options, dockerfile, platform);
  return parseWithPlugins(
    dockerfile,
    dockerfileParseOptions(options, dockerfile, platform),
    plugins.set,
    {
      context: plugins.context,
      args: options.buildArgs ?? {},
      logger: plugins.logger,
      signal: plugins.signal,
    },
  );
}

/** Returns what stages need to run plugin build handlers, or undefined when none is loaded. */
export function pluginRuntime(
  plugins: BuildPlugins,
  parsed: ParsedDockerfile,
  platform: Platform,
  scratchDir: string,
): PluginRuntime | undefined {
  if (plugins.set.buildHandlers.size === 0) return undefined;
  return {
    set: plugins.set,
    context: plugins.context,
    platform,
    escapeToken: parsed.escapeToken,
    executor: plugins.executor?.executor ?? createChrootExecutor(scratchDir),
    logger: plugins.logger,
  };
}
