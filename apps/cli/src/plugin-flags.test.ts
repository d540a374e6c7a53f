import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOutput, toPluginOptions } from './plugin-flags.js';
import { UsageError } from './usage-error.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-plugin-flags-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const noFlags = { plugin: [], output: [], executorOpt: [] };

describe('toPluginOptions', () => {
  it('returns nothing without flags or config', () => {
    expect(toPluginOptions(noFlags, dir)).toEqual({});
  });

  it('puts --plugin before the config list', async () => {
    const config = path.join(dir, 'conf', 'kiln.json');
    await mkdir(path.dirname(config), { recursive: true });
    await writeFile(config, JSON.stringify({ plugins: ['npm-plugin', './local.mjs'] }));
    const options = toPluginOptions({ ...noFlags, plugin: ['first'], config }, dir);
    expect(options.plugins).toEqual(['first', 'npm-plugin', path.join(dir, 'conf', 'local.mjs')]);
    expect(options.pluginBaseDir).toBe(dir);
  });

  it('reads kiln.config.json from the working directory', async () => {
    const cwd = await mkdtemp(path.join(dir, 'cwd-'));
    await writeFile(path.join(cwd, 'kiln.config.json'), '{"plugins":["from-default"]}');
    expect(toPluginOptions(noFlags, cwd).plugins).toEqual(['from-default']);
  });

  it('rejects a missing --config file', () => {
    expect(() => toPluginOptions({ ...noFlags, config: 'nope.json' }, dir)).toThrow(UsageError);
  });

  it('rejects a plugins field that is not a list', async () => {
    const config = path.join(dir, 'bad.json');
    await writeFile(config, '{"plugins":"include"}');
    expect(() => toPluginOptions({ ...noFlags, config }, dir)).toThrow(
      `invalid "plugins" in ${config}: expected a list of non-empty strings`,
    );
  });

  it('rejects invalid JSON', async () => {
    const config = path.join(dir, 'broken.json');
    await writeFile(config, '{plugins:');
    expect(() => toPluginOptions({ ...noFlags, config }, dir)).toThrow(/^invalid JSON in /);
  });
});

describe('executor flags', () => {
  it('passes the executor and its options', () => {
    const options = toPluginOptions(
      { ...noFlags, executor: 'gvisor', executorOpt: ['platform=ptrace', 'debug=1'] },
      dir,
    );
    expect(options.executor).toBe('gvisor');
    expect(options.executorOptions).toEqual({ platform: 'ptrace', debug: '1' });
  });
});

describe('parseOutput', () => {
  it('splits type and options', () => {
    expect(parseOutput('type=dir,dest=./out,mode=0755')).toEqual({
      type: 'dir',
      options: { dest: './out', mode: '0755' },
    });
  });

  it('rejects a missing type', () => {
    expect(() => parseOutput('dest=./out')).toThrow(
      'invalid --output value "dest=./out": type is missing',
    );
  });
});
