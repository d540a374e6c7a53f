import type { KilnPlugin } from '@kiln/plugin-api';
import type { BuildEvent } from '../events.js';
import { checkPlugin, loadPlugin } from './load-plugin.js';
import type { LoadedPlugin } from './load-plugin.js';
import { PluginSet } from './plugin-set.js';

/**
 * Loads the plugins in order (a string is resolved from `baseDir`, an object is checked as it
 * is) and combines them, rejecting conflicts. The first failure stops loading.
 */
export async function loadPluginSet(
  sources: ReadonlyArray<string | KilnPlugin>,
  baseDir: string,
  emit: (event: BuildEvent) => void,
): Promise<PluginSet> {
  const loaded: LoadedPlugin[] = [];
  for (const source of sources) {
    const entry =
      typeof source === 'string'
        ? await loadPlugin(source, baseDir)
        : { plugin: checkPlugin(source, '(inline)'), source: '(inline)' };
    loaded.push(entry);
  }
  const set = new PluginSet(loaded);
  for (const entry of loaded) {
    emit({ type: 'plugin-loaded', plugin: entry.plugin.name, source: entry.source });
  }
  return set;
}
