import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { definePlugin } from '@kiln/plugin-api';
import type { KilnPlugin } from '@kiln/plugin-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineError } from '../errors.js';
import { checkPlugin, loadPlugin } from './load-plugin.js';
import { PluginSet } from './plugin-set.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-plugin-load-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function pluginFile(name: string, source: string): Promise<string> {
  await writeFile(path.join(dir, name), source);
  return `./${name}`;
}

async function loadError(specifier: string): Promise<EngineError> {
  const error = await loadPlugin(specifier, dir).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(EngineError);
  return error as EngineError;
}

describe('loadPlugin', () => {
  it('loads a local .mjs plugin', async () => {
    const file = await pluginFile(
      'good.mjs',
      "export default { name: 'good', apiVersion: '^1.0.0', outputs: [] };\n",
    );
    const loaded = await loadPlugin(file, dir);
    expect(loaded.plugin.name).toBe('good');
    expect(loaded.source).toBe(file);
  });

  it('resolves an npm package with an import-only export', async () => {
    const packageDir = path.join(dir, 'node_modules', 'esm-only-plugin');
    await mkdir(packageDir, { recursive: true });
    await writeFile(
      path.join(packageDir, 'package.json'),
      JSON.stringify({
        name: 'esm-only-plugin',
        type: 'module',
        exports: { '.': { import: './main.js' } },
      }),
    );
    await writeFile(
      path.join(packageDir, 'main.js'),
      "export default { name: 'esm-only-plugin', apiVersion: '^1.0.0' };\n",
    );
    const nested = path.join(dir, 'project', 'sub');
    await mkdir(nested, { recursive: true });
    const loaded = await loadPlugin('esm-only-plugin', nested);
    expect(loaded.plugin.name).toBe('esm-only-plugin');
  });

  it('reports a missing npm package', async () => {
    const error = await loadError('kiln-plugin-that-does-not-exist');
    expect(error.code).toBe('PLUGIN_LOAD_FAILED');
    expect(error.message).toContain('Plugin kiln-plugin-that-does-not-exist not found');
    expect(error.hint).toContain('npm install kiln-plugin-that-does-not-exist');
  });

  it('reports a missing local file', async () => {
    const error = await loadError('./missing.mjs');
    expect(error.code).toBe('PLUGIN_LOAD_FAILED');
    expect(error.message).toMatch(/^Plugin \.\/missing\.mjs failed to load: /);
  });

  it('reports a module that throws on import', async () => {
    const file = await pluginFile('throws.mjs', "throw new Error('boom at import');\n");
    const error = await loadError(file);
    expect(error.code).toBe('PLUGIN_LOAD_FAILED');
    expect(error.message).toContain('boom at import');
  });

  it('rejects a module without a default export', async () => {
    const file = await pluginFile('named.mjs', "export const plugin = { name: 'x' };\n");
    const error = await loadError(file);
    expect(error.code).toBe('PLUGIN_INVALID');
    expect(error.message).toBe(`Plugin ${file} has no default export object (got undefined)`);
  });

  it('rejects an incompatible apiVersion', async () => {
    const file = await pluginFile(
      'future.mjs',
      "export default { name: 'future', apiVersion: '^2.0.0' };\n",
    );
    const error = await loadError(file);
    expect(error.code).toBe('PLUGIN_INCOMPATIBLE');
    expect(error.message).toBe(
      'Plugin future requires plugin API ^2.0.0, but this Kiln provides 1.0.0',
    );
  });
});

describe('checkPlugin', () => {
  it('rejects an apiVersion that is not a range', () => {
    expect(() => checkPlugin({ name: 'p', apiVersion: 'latest' }, 'p.mjs')).toThrow(
      'Plugin p.mjs (p) has an invalid apiVersion "latest": expected a semver range such as "^1.0.0"',
    );
  });

  it('rejects a handler without its function', () => {
    const plugin = {
      name: 'p',
      apiVersion: '^1.0.0',
      instructions: [{ phase: 'build', keyword: 'x' }],
    };
    expect(() => checkPlugin(plugin, 'p.mjs')).toThrow('instruction x has no run() function');
  });

  it('rejects a missing name', () => {
    expect(() => checkPlugin({ apiVersion: '^1.0.0' }, 'p.mjs')).toThrow(/has no name/);
  });
});

const metadataHandler = (keyword: string, replaces?: boolean) => ({
  phase: 'build' as const,
  keyword,
  effect: 'metadata' as const,
  ...(replaces === undefined ? {} : { replaces }),
  run: async () => {},
});

function set(...plugins: KilnPlugin[]): PluginSet {
  return new PluginSet(plugins.map((plugin) => ({ plugin, source: plugin.name })));
}

describe('PluginSet', () => {
  it('rejects two plugins serving one keyword', () => {
    const a = definePlugin({
      name: 'a',
      apiVersion: '^1',
      instructions: [metadataHandler('greet')],
    });
    const b = definePlugin({
      name: 'b',
      apiVersion: '^1',
      instructions: [metadataHandler('greet')],
    });
    expect(() => set(a, b)).toThrow('Plugins a and b both provide the instruction greet');
  });

  it('rejects a built-in keyword without replaces', () => {
    const a = definePlugin({
      name: 'a',
      apiVersion: '^1',
      instructions: [metadataHandler('label')],
    });
    expect(() => set(a)).toThrow(
      'Plugin a handles the built-in instruction LABEL without replaces: true',
    );
  });

  it('accepts a replaced built-in and lists only new keywords', () => {
    const a = definePlugin({
      name: 'a',
      apiVersion: '^1',
      instructions: [metadataHandler('label', true), metadataHandler('greet')],
    });
    const plugins = set(a);
    expect(plugins.buildHandlers.has('label')).toBe(true);
    expect(plugins.extensionKeywords()).toEqual(['greet']);
  });

  it('loads the same plugin object once', () => {
    const a = definePlugin({
      name: 'a',
      apiVersion: '^1',
      instructions: [metadataHandler('greet')],
    });
    expect(set(a, a).plugins).toHaveLength(1);
  });

  it('rejects a plugin output named like a built-in', () => {
    const a = definePlugin({
      name: 'a',
      apiVersion: '^1',
      outputs: [{ type: 'oci', create: () => ({ write: async () => ({ location: '' }) }) }],
    });
    expect(() => set(a)).toThrow('Plugin a provides the output type oci, which is built in');
  });

  it('rejects two different plugins of one name', () => {
    const a = definePlugin({ name: 'same', apiVersion: '^1' });
    const b = definePlugin({ name: 'same', apiVersion: '^1' });
    expect(() => set(a, b)).toThrow('are both named same');
  });
});
