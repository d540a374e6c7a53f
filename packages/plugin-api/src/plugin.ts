import type { ExecutorFactory } from './executor.js';
import type { InstructionHandler } from './instruction.js';
import type { CacheStoreFactory } from './cache-store.js';
import type { ContextSourceFactory } from './context-source.js';
import type { OutputTargetFactory } from './outputs.js';

/** Version of this API; a plugin's `apiVersion` range must include it for the plugin to load. */
export const API_VERSION = '1.0.0';

/**
 * Default export of a plugin module. Every extension point is optional; the engine checks
 * `apiVersion` before calling anything and reports failures with the plugin's `name`.
 */
export interface KilnPlugin {
  /** Unique name, shown in errors and events; by convention the npm package name. */
  name: string;
  /** Semver range of plugin API versions the plugin works with, such as `^1.0.0`. */
  apiVersion: string;
  instructions?: readonly InstructionHandler[];
  cacheStores?: readonly CacheStoreFactory[];
  outputs?: readonly OutputTargetFactory[];
  executors?: readonly ExecutorFactory[];
  contextSources?: readonly ContextSourceFactory[];
}

/** Returns `plugin` unchanged; it exists so that TypeScript checks and infers the plugin's type. */
export function definePlugin<const P extends KilnPlugin>(plugin: P): P {
  return plugin;
}
