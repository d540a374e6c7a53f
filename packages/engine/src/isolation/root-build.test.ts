import type { ParsedDockerfile } from '@kiln/dockerfile-parser';
import { describe, expect, it } from 'vitest';
import { EngineError } from '../errors.js';
import { isStageReadLater, noneIsolation, prepareNoneBuild } from './root-build.js';

// These cases fail on the option checks, which come before the container guard; none builds.
async function failureOf(options: Parameters<typeof prepareNoneBuild>[0]): Promise<unknown> {
  const isolation =
    typeof options.isolation === 'object' ? options.isolation : { mode: 'none' as const };
  return prepareNoneBuild(options, isolation).catch((error: unknown) => error);
}

describe('prepareNoneBuild', () => {
  it('rejects a work dir outside kiln', async () => {
    const failure = await failureOf({
      context: '/workspace',
      workDir: '/tmp/work',
      isolation: { mode: 'none', kilnDir: '/kiln' },
    });
    expect(failure).toBeInstanceOf(EngineError);
    expect((failure as EngineError).code).toBe('INVALID_OPTION');
    expect((failure as EngineError).message).toContain('/tmp/work');
  });

  it('rejects / as kiln directory', async () => {
    const failure = await prepareNoneBuild(
      { context: '/workspace', workDir: '/' },
      { mode: 'none', kilnDir: '/' },
    ).catch((error: unknown) => error);
    expect((failure as EngineError).code).toBe('INVALID_OPTION');
  });

  it('rejects a plugin executor', async () => {
    const failure = await failureOf({ context: '/workspace', workDir: '/kiln', executor: 'bwrap' });
    expect((failure as EngineError).code).toBe('INVALID_OPTION');
    expect((failure as EngineError).message).toContain('bwrap');
  });
});

describe('noneIsolation', () => {
  it('returns settings only for none', () => {
    expect(noneIsolation({ context: '.' })).toBeUndefined();
    expect(noneIsolation({ context: '.', isolation: 'chroot' })).toBeUndefined();
    expect(noneIsolation({ context: '.', isolation: { mode: 'none' } })).toEqual({ mode: 'none' });
  });
});

describe('isStageReadLater', () => {
  it('finds stages that others depend on', () => {
    const parsed = {
      stages: [
        { index: 0, dependsOn: [] },
        { index: 1, dependsOn: [0] },
        { index: 2, dependsOn: [1] },
      ],
    } as unknown as ParsedDockerfile;
    expect(isStageReadLater(parsed, 0)).toBe(true);
    expect(isStageReadLater(parsed, 1)).toBe(true);
    expect(isStageReadLater(parsed, 2)).toBe(false);
  });
});
