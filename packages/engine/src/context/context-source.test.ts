import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContextSourceFactory } from '@kiln/plugin-api';
import { EngineError } from '../errors.js';
import { openBuildContext } from './context-source.js';
import type { OpenedBuildContext } from './context-source.js';
import { makeGitFixture } from './git-fixture.test-support.js';

let tmp: string;
let source: string;
let bareRepo: string;

const tar = (args: string[]): string => execFileSync('tar', args, { encoding: 'utf8' });

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-context-source-'));
  // A bare repository with two branches, cloned through file:// as a remote one would be.
  ({ source, bareRepo } = await makeGitFixture(tmp));
  tar(['-cf', path.join(tmp, 'ctx.tar'), '--exclude=./.git', '-C', source, '.']);
  tar(['-czf', path.join(tmp, 'ctx.tar.gz'), '--exclude=./.git', '-C', source, '.']);
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function withContext(
  location: string,
  check: (opened: OpenedBuildContext) => Promise<void>,
  options: Parameters<typeof openBuildContext>[1] = {},
): Promise<string> {
  const opened = await openBuildContext(location, options);
  try {
    await check(opened);
  } finally {
    await opened.cleanup();
  }
  return opened.directory;
}

const read = (dir: string, file: string): Promise<string> => readFile(path.join(dir, file), 'utf8');

async function expectCode(promise: Promise<unknown>, code: string): Promise<EngineError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EngineError);
  expect((error as EngineError).code).toBe(code);
  expect((error as EngineError).hint).toBeTruthy();
  return error as EngineError;
}

describe('openBuildContext', () => {
  it('uses a directory in place and removes nothing', async () => {
    const dir = await withContext(source, async (opened) => {
      expect(opened.directory).toBe(source);
    });
    await access(path.join(dir, 'Dockerfile'));
  });

  it.each(['ctx.tar', 'ctx.tar.gz'])('unpacks %s given as a path and as tar://', async (name) => {
    for (const location of [path.join(tmp, name), `tar://${path.join(tmp, name)}`]) {
      const dir = await withContext(location, async (opened) => {
        expect(opened.directory).not.toBe(source);
        expect(await read(opened.directory, 'app/main.txt')).toBe('main branch\n');
        expect(await read(opened.directory, 'Dockerfile')).toContain('FROM scratch');
      });
      await expect(access(dir)).rejects.toThrow();
    }
  });

  it('reads tar://stdin from a stream', async () => {
    await withContext(
      'tar://stdin',
      async (opened) => {
        expect(await read(opened.directory, 'app/main.txt')).toBe('main branch\n');
      },
      { stdin: createReadStream(path.join(tmp, 'ctx.tar.gz')) },
    );
  });

  it('applies a sub-path inside an unpacked tar', async () => {
    await withContext(
      path.join(tmp, 'ctx.tar'),
      async (opened) => {
        expect(await read(opened.directory, 'main.txt')).toBe('main branch\n');
      },
      { subPath: 'app' },
    );
  });

  it('clones the default branch of a git repository', async () => {
    await withContext(`file://${bareRepo}`, async (opened) => {
      expect(await read(opened.directory, 'app/main.txt')).toBe('main branch\n');
      await expect(access(path.join(opened.directory, '.git'))).rejects.toThrow();
    });
  });

  it('clones a ref with a subdirectory', async () => {
    await withContext(`file://${bareRepo}#feature:app`, async (opened) => {
      expect(await read(opened.directory, 'main.txt')).toBe('feature branch\n');
    });
    await withContext(`file://${bareRepo}#refs/heads/feature`, async (opened) => {
      expect(await read(opened.directory, 'app/main.txt')).toBe('feature branch\n');
    });
  });

  it('opens a plugin source location', async () => {
    let cleaned = false;
    const factory: ContextSourceFactory = {
      name: 'fixture',
      matches: (location) => location.startsWith('fixture://'),
      open: async (location) => ({
        directory: path.join(source, location.slice('fixture://'.length)),
        cleanup: async () => {
          cleaned = true;
        },
      }),
    };
    await withContext(
      'fixture://app',
      async (opened) => {
        expect(await read(opened.directory, 'main.txt')).toBe('main branch\n');
      },
      { pluginSources: [{ plugin: 'fixture-plugin', factory }] },
    );
    expect(cleaned).toBe(true);
  });

  it('names a failing plugin source', async () => {
    const factory: ContextSourceFactory = {
      name: 'broken',
      matches: () => true,
      open: () => Promise.reject(new Error('bucket gone')),
    };
    const error = await expectCode(
      openBuildContext('s3://bucket/key', { pluginSources: [{ plugin: 'p', factory }] }),
      'PLUGIN_FAILED',
    );
    expect(error.message).toContain('p');
    expect(error.message).toContain('bucket gone');
  });

  it('rejects missing paths', async () => {
    await expectCode(openBuildContext(`tar://${tmp}/none.tar`), 'CONTEXT_NOT_FOUND');
    await expectCode(openBuildContext(path.join(tmp, 'none')), 'CONTEXT_NOT_FOUND');
    await expectCode(openBuildContext(source, { subPath: 'nope' }), 'CONTEXT_NOT_FOUND');
  });

  it.each([
    ['nonexist', 'does not exist'],
    ['missing.tar.gz', 'does not exist'],
  ])('names missing context %s as such', async (name, problem) => {
    const location = path.join(tmp, name);
    const error = await expectCode(openBuildContext(location), 'CONTEXT_NOT_FOUND');
    expect(error.message).toBe(`Build context ${location} ${problem}`);
  });

  it('names a missing sub-path as missing', async () => {
    const error = await expectCode(
      openBuildContext(source, { subPath: 'nope' }),
      'CONTEXT_NOT_FOUND',
    );
    expect(error.message).toBe(`Context sub-path nope does not exist in the context ${source}`);
  });

  it('names a plain file context as no archive', async () => {
    const location = path.join(tmp, 'notes.txt');
    await writeFile(location, 'not a context\n');
    const error = await expectCode(openBuildContext(location), 'CONTEXT_NOT_FOUND');
    expect(error.message).toContain('is a file but not a .tar, .tar.gz or .tgz archive');
  });

  it('rejects unknown schemes without credentials', async () => {
    const error = await expectCode(
      openBuildContext('s3://user:secret@bucket/key'),
      'CONTEXT_INVALID',
    );
    expect(error.message).not.toContain('secret');
  });

  it('rejects a git ref that does not exist', async () => {
    const error = await expectCode(
      openBuildContext(`file://${bareRepo}#no-such-branch`),
      'CONTEXT_GIT_FAILED',
    );
    expect(error.message).toContain('no-such-branch');
  });

  it('rejects a tar escaping with ..', async () => {
    const hostile = path.join(tmp, 'hostile.tar');
    const packer = pack();
    packer.entry({ name: 'Dockerfile' }, 'FROM scratch\n');
    packer.entry({ name: '../escape' }, 'pwned');
    packer.finalize();
    const chunks: Buffer[] = [];
    for await (const chunk of packer) chunks.push(chunk as Buffer);
    await writeFile(hostile, Buffer.concat(chunks));
    const error = await expectCode(openBuildContext(hostile), 'CONTEXT_INVALID');
    expect(error.message).toContain('../escape');
    await expect(access(path.join(os.tmpdir(), 'escape'))).rejects.toThrow();
  });
});
