import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseDockerfile } from '@kiln/dockerfile-parser';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EngineError } from '../errors.js';
import type { BuildOptions } from '../options.js';
import { rejectNoneGitSources, rejectNoneInputs } from './none-inputs.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-none-inputs-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function failureOf(options: BuildOptions, kilnDir = '/kiln'): Promise<EngineError> {
  return rejectNoneInputs(options, kilnDir).then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error as EngineError,
  );
}

describe('rejectNoneInputs', () => {
  it('rejects --ssh', async () => {
    const failure = await failureOf({ context: dir, ssh: [{ id: 'default', paths: [] }] });
    expect(failure.code).toBe('INVALID_OPTION');
    expect(failure.message).toContain('--ssh default');
  });

  it('rejects a git context', async () => {
    const failure = await failureOf({ context: 'git://127.0.0.1/repo.git' });
    expect(failure.code).toBe('INVALID_OPTION');
    expect(failure.message).toContain('--context git://127.0.0.1/repo.git');
  });

  it('rejects / as context', async () => {
    const failure = await failureOf({ context: '/' });
    expect(failure.code).toBe('INVALID_OPTION');
    expect(failure.message).toContain('The context / ');
  });

  it('rejects a context that contains kiln', async () => {
    await mkdir(path.join(dir, 'kiln'));
    const failure = await failureOf({ context: dir }, path.join(dir, 'kiln'));
    expect(failure.message).toContain(dir);
  });

  it('accepts a plain context directory', async () => {
    await expect(rejectNoneInputs({ context: dir }, '/kiln')).resolves.toBeUndefined();
    await expect(rejectNoneInputs({ context: '-' }, '/kiln')).resolves.toBeUndefined();
  });
});

describe('rejectNoneGitSources', () => {
  it('rejects ADD of a git repository', () => {
    const parsed = parseDockerfile(
      'FROM scratch\nCOPY a /a\nADD https://127.0.0.1/repo.git#main /src\n',
    );
    expect(() => rejectNoneGitSources(parsed)).toThrow(
      /ADD https:\/\/127\.0\.0\.1\/repo\.git#main \(line 3\)/,
    );
  });

  it('accepts ADD of files and URLs', () => {
    const parsed = parseDockerfile('FROM scratch\nADD a.tar /a\nADD https://127.0.0.1/f /f\n');
    expect(() => rejectNoneGitSources(parsed)).not.toThrow();
  });
});
