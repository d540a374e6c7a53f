import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { API_VERSION } from '@kiln/plugin-api';
import type { KilnPlugin } from '@kiln/plugin-api';
import semver from 'semver';
import { EngineError } from '../errors.js';

/** A plugin as the build uses it: the checked default export and where it came from. */
export interface LoadedPlugin {
  plugin: KilnPlugin;
  /** The `--plugin` value or config entry, or `(inline)` for an object passed to `build`. */
  source: string;
}

const LOCAL_FILE = /\.(?:m?js|cjs)$/;

/**
 * Resolves a `--plugin` value: a path ending in .js/.mjs/.cjs (or starting with `.` or `/`) is a
 * local file relative to `baseDir`; anything else is an npm package resolved from `baseDir`.
 */
export function resolvePluginSpecifier(specifier: string, baseDir: string): string {
  if (specifier.trim() === '') {
    throw new EngineError('PLUGIN_LOAD_FAILED', 'Empty plugin name', {
      hint: 'Pass an npm package name or a path to a .js or .mjs file with --plugin.',
    });
  }
  const isPath =
    LOCAL_FILE.test(specifier) || specifier.startsWith('.') || path.isAbsolute(specifier);
  if (isPath) return pathToFileURL(path.resolve(baseDir, specifier)).href;
  try {
    // createRequire needs a file inside the directory; it does not have to exist.
    const require = createRequire(path.join(path.resolve(baseDir), 'noop.js'));
    return pathToFileURL(require.resolve(specifier)).href;
  } catch (error) {
    const esmEntry = resolveImportOnlyPackage(specifier, baseDir, error);
    if (esmEntry !== undefined) return pathToFileURL(esmEntry).href;
    throw new EngineError(
      'PLUGIN_LOAD_FAILED',
      `Plugin ${specifier} not found from ${path.resolve(baseDir)}`,
      {
        hint: `Install it (npm install ${specifier}) in the build directory, or pass a path to its .js file.`,
        cause: error,
      },
    );
  }
}

// require.resolve applies the "require" export condition, so a package that exports only an
// "import" entry fails with ERR_PACKAGE_PATH_NOT_EXPORTED. Its entry is then read from the
// nearest node_modules/<name>/package.json: `exports["."]` ("import", then "default"), else `main`.
function resolveImportOnlyPackage(
  specifier: string,
  baseDir: string,
  error: unknown,
): string | undefined {
  if ((error as NodeJS.ErrnoException).code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED') return undefined;
  for (let dir = path.resolve(baseDir); ; dir = path.dirname(dir)) {
    const packageDir = path.join(dir, 'node_modules', specifier);
    const manifest = readJson(path.join(packageDir, 'package.json'));
    if (manifest !== undefined) {
      const entry = importEntry(manifest.exports) ?? manifest.main;
      return typeof entry === 'string' ? path.join(packageDir, entry) : undefined;
    }
    if (path.dirname(dir) === dir) return undefined;
  }
}

function importEntry(exports: unknown): string | undefined {
  if (typeof exports === 'string') return exports;
  if (typeof exports !== 'object' || exports === null) return undefined;
  const conditions = exports as Record<string, unknown>;
  const root = '.' in conditions ? conditions['.'] : conditions;
  if (typeof root === 'string') return root;
  if (typeof root !== 'object' || root === null) return undefined;
  const map = root as Record<string, unknown>;
  return importEntry(map.import) ?? importEntry(map.default);
}

function readJson(file: string): { exports?: unknown; main?: unknown } | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { exports?: unknown; main?: unknown };
  } catch {
    return undefined;
  }
}

/** Imports a plugin module and checks its default export; every failure names the plugin. */
export async function loadPlugin(specifier: string, baseDir: string): Promise<LoadedPlugin> {
  const url = resolvePluginSpecifier(specifier, baseDir);
  let module: { default?: unknown };
  try {
    module = (await import(url)) as { default?: unknown };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new EngineError('PLUGIN_LOAD_FAILED', `Plugin ${specifier} failed to load: ${reason}`, {
      hint: 'Check that the file exists and is an ES module that imports without errors.',
      cause: error,
    });
  }
  return { plugin: checkPlugin(module.default, specifier), source: specifier };
}

/** Checks a plugin object's shape and `apiVersion` against this engine's plugin API version. */
export function checkPlugin(value: unknown, source: string): KilnPlugin {
  if (typeof value !== 'object' || value === null) {
    throw invalid(source, `has no default export object (got ${describe(value)})`);
  }
  const candidate = value as Partial<Record<keyof KilnPlugin, unknown>>;
  if (typeof candidate.name !== 'string' || candidate.name.trim() === '') {
    throw invalid(source, 'has no name: the default export needs a non-empty `name` string');
  }
  const name = candidate.name;
  if (
    typeof candidate.apiVersion !== 'string' ||
    semver.validRange(candidate.apiVersion) === null
  ) {
    throw invalid(
      source,
      `(${name}) has an invalid apiVersion ${describe(candidate.apiVersion)}: expected a semver range such as "^1.0.0"`,
    );
  }
  if (!semver.satisfies(API_VERSION, candidate.apiVersion)) {
    throw new EngineError(
      'PLUGIN_INCOMPATIBLE',
      `Plugin ${name} requires plugin API ${candidate.apiVersion}, but this Kiln provides ${API_VERSION}`,
      { hint: `Use a version of ${name} written for plugin API ${API_VERSION}.` },
    );
  }
  for (const field of [
    'instructions',
    'cacheStores',
    'outputs',
    'executors',
    'contextSources',
  ] as const) {
    const list = candidate[field];
    if (list !== undefined && !Array.isArray(list)) {
      throw invalid(source, `(${name}) has a ${field} field that is not an array`);
    }
  }
  checkEntries(name, source, candidate.instructions, 'instructions', ['keyword', 'phase']);
  checkEntries(name, source, candidate.cacheStores, 'cacheStores', ['scheme']);
  checkEntries(name, source, candidate.outputs, 'outputs', ['type']);
  checkEntries(name, source, candidate.executors, 'executors', ['name']);
  checkEntries(name, source, candidate.contextSources, 'contextSources', ['name']);
  for (const handler of (candidate.instructions ?? []) as Array<Record<string, unknown>>) {
    const method = handler.phase === 'expand' ? 'expand' : 'run';
    if (handler.phase !== 'expand' && handler.phase !== 'build') {
      throw invalid(
        source,
        `(${name}) instruction ${String(handler.keyword)} has phase ${describe(handler.phase)}: expected "expand" or "build"`,
      );
    }
    if (typeof handler[method] !== 'function') {
      throw invalid(
        source,
        `(${name}) instruction ${String(handler.keyword)} has no ${method}() function`,
      );
    }
  }
  return value as KilnPlugin;
}

function checkEntries(
  name: string,
  source: string,
  list: unknown,
  field: string,
  keys: readonly string[],
): void {
  for (const [index, entry] of ((list ?? []) as unknown[]).entries()) {
    if (typeof entry !== 'object' || entry === null) {
      throw invalid(source, `(${name}) ${field}[${index}] is ${describe(entry)}, not an object`);
    }
    for (const key of keys) {
      const value = (entry as Record<string, unknown>)[key];
      if (typeof value !== 'string' || value === '') {
        throw invalid(source, `(${name}) ${field}[${index}] has no ${key} string`);
      }
    }
  }
}

function invalid(source: string, problem: string): EngineError {
  return new EngineError('PLUGIN_INVALID', `Plugin ${source} ${problem}`, {
    hint: 'Export the plugin with `export default definePlugin({ name, apiVersion, ... })` from @kiln/plugin-api.',
  });
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  return typeof value === 'string' ? JSON.stringify(value) : typeof value;
}
