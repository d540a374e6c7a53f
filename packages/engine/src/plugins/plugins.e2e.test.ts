import { lstat, mkdir, readdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { definePlugin } from '@kiln/plugin-api';
import type { KilnPlugin } from '@kiln/plugin-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../build.js';
import { EngineError } from '../errors.js';
import type { BuildEvent } from '../events.js';
import type { BuildOptions } from '../options.js';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const includePlugin = path.join(repoRoot, 'examples/plugins/include/src/index.ts');
const outputDirPlugin = path.join(repoRoot, 'examples/plugins/output-dir/src/index.ts');

let dir: string;
let contexts = 0;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-plugins-e2e-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function makeContext(files: Record<string, string>): Promise<string> {
  contexts += 1;
  const context = path.join(dir, `context-${contexts}`);
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(context, name)), { recursive: true });
    await writeFile(path.join(context, name), content);
  }
  return context;
}

function buildWith(context: string, options: Partial<BuildOptions> = {}) {
  const events: BuildEvent[] = [];
  const workDir = path.join(dir, `work-${contexts}`);
  const result = build({
    context,
    noPush: true,
    reproducible: true,
    workDir,
    onEvent: (event) => events.push(event),
    ...options,
  });
  return { result, events, workDir };
}

async function buildError(promise: Promise<unknown>): Promise<EngineError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(EngineError);
  return error as EngineError;
}

describe('include plugin', () => {
  it('builds a Dockerfile with nested INCLUDEs', async () => {
    const context = await makeContext({
      Dockerfile: 'FROM scratch\nINCLUDE parts/files.Dockerfile\nCMD ["/bin/app"]\n',
      'parts/files.Dockerfile': 'COPY a.txt /a.txt\nINCLUDE nested/env.Dockerfile\n',
      'parts/nested/env.Dockerfile': '# only metadata here\nENV FROM_NESTED=yes\n',
      'parts/empty.Dockerfile': '# nothing\n',
      'a.txt': 'hello\n',
    });
    const { result, events } = buildWith(context, { plugins: [includePlugin] });
    const built = await result;

    expect(built.config.config?.Env).toContain('FROM_NESTED=yes');
    expect(built.config.config?.Cmd).toEqual(['/bin/app']);
    expect(built.manifest.layers).toHaveLength(1);
    const steps = events.flatMap((event) =>
      event.type === 'step-start' ? [event.instruction] : [],
    );
    expect(steps).toEqual(['COPY a.txt /a.txt', 'ENV FROM_NESTED=yes', 'CMD ["/bin/app"]']);
    expect(events).toContainEqual({
      type: 'plugin-loaded',
      plugin: '@kiln-examples/include',
      source: includePlugin,
    });
  });

  it('reports an error with the included file and line', async () => {
    const context = await makeContext({
      Dockerfile: 'FROM scratch\nINCLUDE common.Dockerfile\n',
      'common.Dockerfile': 'ENV A=1\nEXPOSE\n',
    });
    const error = await buildWith(context, { plugins: [includePlugin] }).result.then(
      () => undefined,
      (caught: unknown) => caught as Error,
    );
    expect(error?.message).toMatch(/^common\.Dockerfile:2: /);
  });

  it('names the plugin when an INCLUDE fails', async () => {
    const context = await makeContext({
      Dockerfile: 'FROM scratch\nINCLUDE missing.Dockerfile\n',
    });
    const error = await buildError(buildWith(context, { plugins: [includePlugin] }).result);
    expect(error.code).toBe('PLUGIN_FAILED');
    expect(error.message).toMatch(
      /^Plugin @kiln-examples\/include failed while expanding INCLUDE at Dockerfile:2: Dockerfile:2: /,
    );
  });

  it('rejects INCLUDE without the plugin', async () => {
    const context = await makeContext({ Dockerfile: 'FROM scratch\nINCLUDE x.Dockerfile\n' });
    const error = await buildWith(context).result.then(
      () => undefined,
      (caught: unknown) => caught as Error,
    );
    expect(error?.message).toContain('unknown instruction: INCLUDE');
  });
});

describe('output-dir plugin', () => {
  it('writes the root filesystem to a directory', async () => {
    const context = await makeContext({
      Dockerfile: 'FROM scratch\nCOPY a.txt /data/a.txt\nCOPY b.txt /data/b.txt\n',
      'a.txt': 'first\n',
      'b.txt': 'second\n',
    });
    const dest = path.join(dir, 'rootfs-out');
    const { result } = buildWith(context, {
      plugins: [outputDirPlugin],
      outputs: [{ type: 'dir', options: { dest } }],
    });
    const built = await result;

    expect(await readFile(path.join(dest, 'data/a.txt'), 'utf8')).toBe('first\n');
    expect(await readFile(path.join(dest, 'data/b.txt'), 'utf8')).toBe('second\n');
    const output = built.outputs.find((entry) => entry.kind === 'plugin');
    expect(output?.type).toBe('dir');
    expect(output?.digest).toBe(built.digest);
  });

  it('rejects an output type no plugin serves', async () => {
    const context = await makeContext({ Dockerfile: 'FROM scratch\n' });
    const { result, workDir } = buildWith(context, {
      outputs: [{ type: 'dir', options: { dest: path.join(dir, 'never') } }],
    });
    const error = await buildError(result);
    expect(error.code).toBe('INVALID_OPTION');
    expect(error.message).toBe('Unknown output type dir');
    expect(await lstat(workDir).catch(() => undefined)).toBeUndefined();
  });
});

describe('build instruction handlers', () => {
  const greet = definePlugin({
    name: 'greet',
    apiVersion: '^1.0.0',
    instructions: [
      {
        phase: 'build',
        keyword: 'greet',
        effect: 'filesystem',
        async run(instruction, context) {
          const name = context.expand(
            instruction.kind === 'greet' && 'args' in instruction
              ? String(instruction.args[0])
              : '',
          );
          await mkdir(path.join(context.rootfs, 'greetings'), { recursive: true });
          await writeFile(path.join(context.rootfs, 'greetings', name), `hello ${name}\n`);
          await context.addLayer({
            root: context.rootfs,
            entries: [
              { path: 'greetings', kind: 'add' },
              { path: `greetings/${name}`, kind: 'add' },
            ],
          });
          context.imageConfig.config = {
            ...context.imageConfig.config,
            Labels: { ...context.imageConfig.config?.Labels, greeted: name },
          };
          context.emit({ type: 'progress', message: `greeted ${name}` });
          context.emit({ type: 'warning', message: 'greetings are loud' });
          if (context.cache !== undefined) throw new Error('no cache was configured');
          context.logger.warn(`used token ${process.env.KILN_PLUGIN_TEST_TOKEN ?? ''}`);
        },
      },
      {
        phase: 'build',
        keyword: 'label',
        replaces: true,
        effect: 'metadata',
        async run(instruction, context) {
          // CustomInstruction's kind is any string, so narrow on the field LABEL has.
          if (!('pairs' in instruction)) return;
          const config = context.imageConfig.config ?? {};
          config.Labels = { ...config.Labels, 'replaced-label': String(instruction.pairs.length) };
          context.imageConfig.config = config;
        },
      },
    ],
  });

  it('runs a new instruction and a replaced built-in', async () => {
    const context = await makeContext({
      Dockerfile: 'FROM scratch\nARG WHO=world\nGREET $WHO\nLABEL a=1 b=2\n',
    });
    process.env.KILN_PLUGIN_TEST_TOKEN = 'hunter2-secret';
    const { result, events } = buildWith(context, {
      plugins: [greet],
      secrets: { token: { env: 'KILN_PLUGIN_TEST_TOKEN' } },
    });
    const built = await result.finally(() => delete process.env.KILN_PLUGIN_TEST_TOKEN);

    expect(built.manifest.layers).toHaveLength(1);
    expect(built.config.config?.Labels).toEqual({ greeted: 'world', 'replaced-label': '2' });
    expect(built.config.history?.map((entry) => entry.created_by)).toEqual([
      'ARG WHO=world',
      'GREET $WHO',
      'LABEL a=1 b=2',
    ]);
    expect(events).toContainEqual({
      type: 'plugin-event',
      plugin: 'greet',
      stage: 0,
      step: 2,
      event: { type: 'progress', message: 'greeted world' },
    });
    expect(events).toContainEqual({
      type: 'warning',
      message: 'greet: greetings are loud',
      file: 'Dockerfile',
      line: 3,
    });
    expect(events).toContainEqual({
      type: 'warning',
      message: 'greet: used token ***',
      file: undefined,
      line: undefined,
    });
    expect(JSON.stringify(events)).not.toContain('hunter2-secret');
  });

  it('stops the build when a handler throws', async () => {
    const failing: KilnPlugin = {
      name: 'failing',
      apiVersion: '^1.0.0',
      instructions: [
        {
          phase: 'build',
          keyword: 'explode',
          effect: 'metadata',
          run: () => Promise.reject(new Error('the fuse was lit')),
        },
      ],
    };
    const context = await makeContext({ Dockerfile: 'FROM scratch\nENV A=1\nEXPLODE now\n' });
    const { result, workDir } = buildWith(context, { plugins: [failing] });
    const error = await buildError(result);
    expect(error.code).toBe('PLUGIN_FAILED');
    expect(error.message).toBe(
      'Plugin failing failed while running EXPLODE at Dockerfile:3 (stage 0, step 2): the fuse was lit',
    );
    // The per-build scratch directories under builds/ are removed on failure too.
    expect(await readdir(path.join(workDir, 'builds'))).toEqual([]);
  });

  it('rejects a plugin with an incompatible apiVersion before building', async () => {
    const file = path.join(dir, 'old-plugin.mjs');
    await writeFile(file, "export default { name: 'old', apiVersion: '0.x' };\n");
    const context = await makeContext({ Dockerfile: 'FROM scratch\n' });
    const error = await buildError(buildWith(context, { plugins: [file] }).result);
    expect(error.code).toBe('PLUGIN_INCOMPATIBLE');
    expect(error.message).toBe('Plugin old requires plugin API 0.x, but this Kiln provides 1.0.0');
  });
});

describe('plugin executors', () => {
  const recording = (available: boolean): KilnPlugin => ({
    name: 'fake-executor',
    apiVersion: '^1.0.0',
    executors: [
      {
        name: 'fake',
        probe: async () =>
          available ? { available: true } : { available: false, reason: 'no fake runtime here' },
        create: () => ({
          name: 'fake',
          async run(request) {
            // Stands in for a real sandbox: it records the request in the root filesystem.
            const record = { argv: request.argv, cwd: request.cwd, network: request.network };
            await writeFile(path.join(request.rootfs, 'ran-by-fake.json'), JSON.stringify(record));
            request.onOutput('stdout', 'fake ran');
            return { exitCode: request.argv.includes('exit 3') ? 3 : 0 };
          },
        }),
      },
    ],
  });

  it('runs RUN through the selected executor', async () => {
    const context = await makeContext({
      Dockerfile: 'FROM scratch\nWORKDIR /work\nRUN --network=none echo hi\n',
    });
    const dest = path.join(dir, 'executor-rootfs');
    const { result, events } = buildWith(context, {
      plugins: [recording(true), outputDirPlugin],
      executor: 'fake',
      outputs: [{ type: 'dir', options: { dest } }],
    });
    await result;

    const record = JSON.parse(await readFile(path.join(dest, 'ran-by-fake.json'), 'utf8'));
    expect(record).toEqual({
      argv: ['/bin/sh', '-c', 'echo hi'],
      cwd: '/work',
      network: 'none',
    });
    const output = events.find((event) => event.type === 'step-output');
    expect(output).toMatchObject({ line: 'fake ran', stream: 'stdout' });
  });

  it('fails RUN with the executor exit code', async () => {
    const context = await makeContext({ Dockerfile: 'FROM scratch\nRUN exit 3\n' });
    const error = await buildError(
      buildWith(context, { plugins: [recording(true)], executor: 'fake' }).result,
    );
    expect(error.code).toBe('RUN_FAILED');
    expect(error.message).toBe('RUN /bin/sh -c exit 3 failed with exit code 3:\nfake ran');
  });

  it('rejects an executor whose probe fails', async () => {
    const context = await makeContext({ Dockerfile: 'FROM scratch\n' });
    const error = await buildError(
      buildWith(context, { plugins: [recording(false)], executor: 'fake' }).result,
    );
    expect(error.code).toBe('PLUGIN_FAILED');
    expect(error.message).toBe(
      'Executor fake of plugin fake-executor is not available: no fake runtime here',
    );
  });

  it('rejects an unknown executor', async () => {
    const context = await makeContext({ Dockerfile: 'FROM scratch\n' });
    const error = await buildError(buildWith(context, { executor: 'gvisor' }).result);
    expect(error.code).toBe('INVALID_OPTION');
    expect(error.message).toBe('Unknown executor gvisor');
  });
});
