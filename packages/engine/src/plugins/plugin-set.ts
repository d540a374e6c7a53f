import { INSTRUCTION_KINDS } from '@kiln/dockerfile-parser';
import type {
  BuildInstructionHandler,
  CacheStoreFactory,
  ContextSourceFactory,
  ExecutorFactory,
  ExpandInstructionHandler,
  KilnPlugin,
  OutputTargetFactory,
} from '@kiln/plugin-api';
import { EngineError } from '../errors.js';
import { BUILTIN_OUTPUTS } from './builtin-outputs.js';
import type { LoadedPlugin } from './load-plugin.js';

/** An extension point together with the plugin that provides it, for messages and events. */
export interface Provided<T> {
  plugin: KilnPlugin;
  value: T;
}

const BUILT_IN_KEYWORDS: ReadonlySet<string> = new Set(INSTRUCTION_KINDS);

/**
 * The extension points of the loaded plugins, by keyword, scheme, type and name. Two plugins
 * serving the same one are an error, and so is a handler for a built-in keyword without
 * `replaces: true`, so that no plugin silently shadows another or a built-in.
 */
export class PluginSet {
  readonly plugins: readonly KilnPlugin[];
  readonly expandHandlers = new Map<string, Provided<ExpandInstructionHandler>>();
  readonly buildHandlers = new Map<string, Provided<BuildInstructionHandler>>();
  readonly cacheStores = new Map<string, Provided<CacheStoreFactory>>();
  readonly outputs = new Map<string, Provided<OutputTargetFactory>>();
  readonly executors = new Map<string, Provided<ExecutorFactory>>();
  /** Context sources in plugin order; the first whose `matches` accepts a location opens it. */
  readonly contextSources: Array<{ plugin: string; factory: ContextSourceFactory }> = [];

  constructor(loaded: readonly LoadedPlugin[]) {
    const byName = new Map<string, LoadedPlugin>();
    for (const entry of loaded) {
      const earlier = byName.get(entry.plugin.name);
      // The same module named twice (say by --plugin and the config file) loads once.
      if (earlier?.plugin === entry.plugin) continue;
      if (earlier !== undefined) {
        throw conflict(
          `Plugins ${earlier.source} and ${entry.source} are both named ${entry.plugin.name}`,
        );
      }
      byName.set(entry.plugin.name, entry);
    }
    this.plugins = [...byName.values()].map((entry) => entry.plugin);
    for (const plugin of this.plugins) this.register(plugin);
  }

  static empty(): PluginSet {
    return new PluginSet([]);
  }

  /** Keywords of build handlers that are not Docker instructions, for the parser. */
  extensionKeywords(): string[] {
    return [...this.buildHandlers.keys()].filter((keyword) => !BUILT_IN_KEYWORDS.has(keyword));
  }

  private register(plugin: KilnPlugin): void {
    for (const handler of plugin.instructions ?? []) {
      const keyword = handler.keyword.toLowerCase();
      if (handler.phase === 'expand') {
        if (BUILT_IN_KEYWORDS.has(keyword)) {
          throw conflict(
            `Plugin ${plugin.name} declares an expand handler for the built-in instruction ${keyword.toUpperCase()}`,
            'Expand handlers serve new instructions only; replace a built-in with a build handler and replaces: true.',
          );
        }
        if (this.buildHandlers.has(keyword))
          throw duplicate('instruction', keyword, plugin, this.buildHandlers.get(keyword)!.plugin);
        add(this.expandHandlers, keyword, plugin, handler, 'instruction');
        continue;
      }
      if (BUILT_IN_KEYWORDS.has(keyword) && handler.replaces !== true) {
        throw conflict(
          `Plugin ${plugin.name} handles the built-in instruction ${keyword.toUpperCase()} without replaces: true`,
          'Set replaces: true on the handler to replace the built-in one, or pick a new keyword.',
        );
      }
      if (this.expandHandlers.has(keyword))
        throw duplicate('instruction', keyword, plugin, this.expandHandlers.get(keyword)!.plugin);
      add(this.buildHandlers, keyword, plugin, handler, 'instruction');
    }
    for (const factory of plugin.cacheStores ?? [])
      add(this.cacheStores, factory.scheme.toLowerCase(), plugin, factory, 'cache store scheme');
    for (const factory of plugin.outputs ?? []) {
      if (BUILTIN_OUTPUTS.has(factory.type)) {
        throw conflict(
          `Plugin ${plugin.name} provides the output type ${factory.type}, which is built in`,
          'Give the plugin output another type name.',
        );
      }
    }
    for (const factory of plugin.outputs ?? [])
      add(this.outputs, factory.type, plugin, factory, 'output type');
    for (const factory of plugin.contextSources ?? [])
      this.contextSources.push({ plugin: plugin.name, factory });
    for (const factory of plugin.executors ?? [])
      add(this.executors, factory.name, plugin, factory, 'executor');
  }
}

function add<T>(
  map: Map<string, Provided<T>>,
  key: string,
  plugin: KilnPlugin,
  value: T,
  what: string,
): void {
  const earlier = map.get(key);
  if (earlier !== undefined) throw duplicate(what, key, plugin, earlier.plugin);
  map.set(key, { plugin, value });
}

function duplicate(
  what: string,
  key: string,
  plugin: KilnPlugin,
  earlier: KilnPlugin,
): EngineError {
  return conflict(`Plugins ${earlier.name} and ${plugin.name} both provide the ${what} ${key}`);
}

function conflict(message: string, hint = 'Load only one of the plugins.'): EngineError {
  return new EngineError('PLUGIN_CONFLICT', message, { hint });
}
