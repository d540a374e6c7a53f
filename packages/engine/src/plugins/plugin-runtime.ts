import type { Instruction } from '@kiln/dockerfile-parser';
import type { BuildInstructionHandler, PluginLogger, RunExecutor } from '@kiln/plugin-api';
import type { Platform } from '@kiln/oci-spec';
import type { ContextReader } from './context-reader.js';
import type { PluginSet, Provided } from './plugin-set.js';

/** State the stage runner needs to run plugin build handlers, shared by every stage of a build. */
export interface PluginRuntime {
  set: PluginSet;
  context: ContextReader;
  platform: Platform;
  /** The Dockerfile's escape character, for `expand()`. */
  escapeToken: string;
  /** Runs commands the way RUN does, for handlers that need to. */
  executor: RunExecutor;
  logger(plugin: string): PluginLogger;
}

/** Returns the build handler that serves `instruction`, if a plugin provides one. */
export function buildHandlerFor(
  runtime: PluginRuntime | undefined,
  instruction: Instruction,
): Provided<BuildInstructionHandler> | undefined {
  if (runtime === undefined) return undefined;
  const keyword = instruction.kind === 'extension' ? instruction.name : instruction.kind;
  return runtime.set.buildHandlers.get(keyword);
}
