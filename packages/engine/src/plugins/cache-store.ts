import type { CacheStore } from '@kiln/cache';
import type { LayerCacheOptions } from '../cache/layer-cache.js';
import { pluginFailure } from './plugin-failure.js';
import type { BuildPlugins } from './build-plugins.js';

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;

/**
 * Opens the layer store of `--cache-repo SCHEME://...` through the plugin serving SCHEME.
 * Returns undefined when the cache is off or no plugin serves the scheme, so the built-in
 * stores (registry, `oci:`, `dir:`) handle the location.
 */
export async function openPluginCacheStore(
  plugins: BuildPlugins,
  options: LayerCacheOptions | undefined,
): Promise<CacheStore | undefined> {
  if (!options?.enabled || options.repo === undefined) return undefined;
  const scheme = SCHEME.exec(options.repo)?.[1]?.toLowerCase();
  const provided = scheme === undefined ? undefined : plugins.set.cacheStores.get(scheme);
  if (provided === undefined) return undefined;
  try {
    return await provided.value.create(options.repo, {
      logger: plugins.logger(provided.plugin.name),
      options: {},
    });
  } catch (error) {
    throw pluginFailure(provided.plugin.name, `opening the cache store ${scheme}://`, error);
  }
}
