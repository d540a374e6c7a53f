import { Readable } from 'node:stream';
import type { CacheStore } from '@kiln/cache';
import type { Node, RunInstruction } from '@kiln/dockerfile-parser';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type {
  CustomInstruction,
  InstructionContext,
  InstructionHandler,
  PluginInstruction,
} from './instruction.js';
import { API_VERSION, definePlugin, type KilnPlugin } from './plugin.js';

const includePlugin = definePlugin({
  name: 'kiln-plugin-include',
  apiVersion: '^1.0.0',
  instructions: [
    {
      phase: 'expand',
      keyword: 'include',
      async expand(instruction, context) {
        const file = instruction.args[0] ?? '';
        if (context.fileStack.includes(file))
          throw new Error(`include cycle: ${[...context.fileStack, file].join(' -> ')}`);
        return { text: await context.context.readText(file), file };
      },
    },
  ],
});

const echoStore: CacheStore = {
  name: 'memory:test',
  get: async () => ({ status: 'miss' }),
  put: async (key, _source, options) => ({
    key,
    descriptor: { mediaType: options.mediaType, digest: `sha256:${'0'.repeat(64)}`, size: 0 },
    createdAt: new Date(0).toISOString(),
  }),
  delete: async () => false,
};

describe('definePlugin', () => {
  it('returns its input unchanged', () => {
    const plugin = { name: 'p', apiVersion: '^1.0.0' } satisfies KilnPlugin;
    expect(definePlugin(plugin)).toBe(plugin);
    expect(definePlugin(includePlugin)).toBe(includePlugin);
  });

  it('keeps the literal types of the plugin', () => {
    expectTypeOf(includePlugin.name).toEqualTypeOf<'kiln-plugin-include'>();
    expectTypeOf(includePlugin).toExtend<KilnPlugin>();
  });

  it('accepts every extension point', () => {
    const plugin = definePlugin({
      name: 'everything',
      apiVersion: '>=1.0.0 <2',
      instructions: [
        {
          phase: 'build',
          keyword: 'touch',
          effect: 'filesystem',
          cacheInputs: (instruction) => ({
            path: (instruction as CustomInstruction).args.join(' '),
          }),
          async run(_instruction, context) {
            expectTypeOf(context).toEqualTypeOf<InstructionContext>();
            context.emit({ type: 'progress', message: 'touching' });
          },
        },
      ],
      cacheStores: [{ scheme: 'memory', create: () => echoStore }],
      outputs: [
        { type: 'null', create: () => ({ write: async () => ({ location: '/dev/null' }) }) },
      ],
      executors: [
        {
          name: 'fake',
          probe: async () => ({ available: false, reason: 'not on this machine' }),
          create: () => ({ name: 'fake', run: async () => ({ exitCode: 0 }) }),
        },
      ],
      contextSources: [
        {
          name: 'dir',
          matches: (location) => location.startsWith('dir:'),
          open: async (location) => ({ directory: location.slice(4) }),
        },
      ],
    });
    expect(plugin.instructions).toHaveLength(1);
    expect(plugin.cacheStores[0]?.scheme).toBe('memory');
  });

  it('exports the API version as semver', () => {
    expect(API_VERSION).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe('plugin types', () => {
  it('lets a handler replace a built-in with its typed instruction', () => {
    const runReplacement: InstructionHandler = {
      phase: 'build',
      keyword: 'run',
      replaces: true,
      effect: 'filesystem',
      async run(instruction: RunInstruction, context) {
        await context.executor.run({
          rootfs: context.rootfs,
          argv:
            instruction.command.form === 'exec'
              ? instruction.command.args
              : ['/bin/sh', '-c', instruction.command.command],
          env: Object.entries(context.env).map(([name, value]) => `${name}=${value}`),
          cwd: '/',
          user: 'root',
          mounts: [],
          network: 'default',
          onOutput: (stream, line) => context.emit({ type: 'output', stream, line }),
          signal: context.signal,
        });
      },
    };
    expect(runReplacement.keyword).toBe('run');
  });

  it('gives an expand handler a custom instruction', () => {
    const handler = includePlugin.instructions[0];
    expectTypeOf(handler.expand).parameter(0).toEqualTypeOf<CustomInstruction>();
    expectTypeOf<CustomInstruction>().toExtend<PluginInstruction>();
    expectTypeOf<RunInstruction>().toExtend<PluginInstruction>();
  });

  it('rejects plugins missing required fields', () => {
    // @ts-expect-error apiVersion is required
    const missingVersion: KilnPlugin = { name: 'x' };
    // @ts-expect-error a build handler declares its effect
    const missingEffect: InstructionHandler = {
      phase: 'build',
      keyword: 'x',
      run: async () => undefined,
    };
    const wrongPhase: InstructionHandler = {
      phase: 'expand',
      keyword: 'x',
      // @ts-expect-error the phase decides which method a handler has
      run: async () => undefined,
    };
    expect([missingVersion, missingEffect, wrongPhase]).toHaveLength(3);
  });

  it('runs an expand handler', async () => {
    const handler = includePlugin.instructions[0];
    const expansion = await handler.expand(
      {
        kind: 'include',
        keyword: 'INCLUDE',
        original: 'INCLUDE common.Dockerfile',
        args: ['common.Dockerfile'],
        flags: [],
        // The handler reads only `args`, so a partial parse tree node is enough here.
        node: { value: 'include', keyword: 'INCLUDE', startLine: 1, endLine: 1 } as Node,
        location: { startLine: 1, endLine: 1 },
      },
      {
        context: {
          stat: async () => undefined,
          list: async () => [],
          open: async () => Readable.from([]),
          readText: async (path) => `# from ${path}\nRUN true\n`,
        },
        fileStack: ['Dockerfile'],
        args: {},
        logger: { debug() {}, info() {}, warn() {}, error() {} },
        signal: new AbortController().signal,
      },
    );
    expect(expansion).toEqual({
      text: '# from common.Dockerfile\nRUN true\n',
      file: 'common.Dockerfile',
    });
  });
});
