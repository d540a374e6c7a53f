import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EngineError } from '../errors.js';
import type { StageRun } from '../stage/stage-run.js';
import {
  assertCopyOutsideKeptPaths,
  explainMissingStageSource,
  recordNoneStage,
  rejectGitSourceOnRoot,
} from './kept-copy.js';

// The checks only read paths and never write, so they run against the real / here; the kept
// paths below do not exist on a test machine, so no symlink changes what they resolve to.
const KEEP = ['/kiln-test-keep', '/kiln-test-ctx/workspace'];

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-kept-copy-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function noneStage(rootfs = '/'): StageRun {
  const run = { rootfs } as StageRun;
  recordNoneStage(run, KEEP);
  return run;
}

async function failureOf(promise: Promise<void>): Promise<EngineError | undefined> {
  return promise.then(
    () => undefined,
    (error: unknown) => error as EngineError,
  );
}

describe('assertCopyOutsideKeptPaths', () => {
  it('rejects a file target under a kept path', async () => {
    const failure = await failureOf(
      assertCopyOutsideKeptPaths(noneStage(), 'copy', [
        { source: '/x', sourceIsDirectory: false, target: '/kiln-test-keep/data.txt' },
      ]),
    );
    expect(failure).toBeInstanceOf(EngineError);
    expect(failure?.code).toBe('COPY_INVALID_DESTINATION');
    expect(failure?.message).toContain('/kiln-test-keep');
    expect(failure?.hint).toContain('WORKDIR');
  });

  it('names the reason of the path', async () => {
    const run = { rootfs: '/' } as StageRun;
    recordNoneStage(run, KEEP, new Map([['/kiln-test-ctx/workspace', 'the build context']]));
    const failure = await failureOf(
      assertCopyOutsideKeptPaths(run, 'copy', [
        { source: '/x', sourceIsDirectory: false, target: '/kiln-test-ctx/workspace/a' },
      ]),
    );
    expect(failure?.message).toContain('writes under /kiln-test-ctx/workspace (the build context)');
  });

  it('rejects a kept path as target', async () => {
    const failure = await failureOf(
      assertCopyOutsideKeptPaths(noneStage(), 'add', [
        { source: undefined, sourceIsDirectory: false, target: '/kiln-test-ctx/workspace' },
      ]),
    );
    expect(failure?.message).toContain('ADD to /kiln-test-ctx/workspace');
  });

  it('rejects a directory that reaches a kept path', async () => {
    await mkdir(path.join(dir, 'kiln-test-ctx', 'workspace'), { recursive: true });
    const failure = await failureOf(
      assertCopyOutsideKeptPaths(noneStage(), 'copy', [
        { source: dir, sourceIsDirectory: true, target: '/' },
      ]),
    );
    expect(failure?.message).toContain('would write /kiln-test-ctx/workspace');
  });

  it('allows targets beside kept paths', async () => {
    await mkdir(path.join(dir, 'kiln-test-ctx', 'other'), { recursive: true });
    const writes = [
      { source: dir, sourceIsDirectory: true, target: '/' },
      { source: '/x', sourceIsDirectory: false, target: '/kiln-test-keep-sibling/file' },
      { source: undefined, sourceIsDirectory: false, target: '/kiln-test-ctx/other' },
    ];
    expect(await failureOf(assertCopyOutsideKeptPaths(noneStage(), 'copy', writes))).toBe(
      undefined,
    );
  });

  it('ignores stages not on /', async () => {
    const writes = [{ source: '/x', sourceIsDirectory: false, target: '/kiln-test-keep/a' }];
    expect(await failureOf(assertCopyOutsideKeptPaths(noneStage(dir), 'copy', writes))).toBe(
      undefined,
    );
    const chrootStage = { rootfs: '/' } as StageRun;
    expect(await failureOf(assertCopyOutsideKeptPaths(chrootStage, 'copy', writes))).toBe(
      undefined,
    );
  });
});

describe('explainMissingStageSource', () => {
  const notFound = new EngineError('CONTEXT_FILE_NOT_FOUND', 'COPY source /x not found', {
    hint: 'Check the path',
  });

  function services(run: StageRun): Parameters<typeof explainMissingStageSource>[0] {
    return { stageNames: new Map([['build', 0]]), stages: new Map([[0, run]]) };
  }

  it('names the kept path of a none stage', () => {
    const explained = explainMissingStageSource(
      services(noneStage(dir)),
      'build',
      '/kiln-test-keep/out/',
      notFound,
    ) as EngineError;
    expect(explained.code).toBe('CONTEXT_FILE_NOT_FOUND');
    expect(explained.message).toContain('/kiln-test-keep is a kept path of --isolation=none');
    expect(explained.message).not.toContain('build context');
    expect(explained.message).toContain('source /kiln-test-keep/out/ is not in stage build');
  });

  it('keeps other errors unchanged', () => {
    const run = noneStage(dir);
    expect(explainMissingStageSource(services(run), 'build', '/out/', notFound)).toBe(notFound);
    expect(explainMissingStageSource(services(run), 'other', '/kiln-test-keep', notFound)).toBe(
      notFound,
    );
    const chrootStage = { rootfs: dir } as StageRun;
    expect(
      explainMissingStageSource(services(chrootStage), '0', '/kiln-test-keep/a', notFound),
    ).toBe(notFound);
  });
});

describe('rejectGitSourceOnRoot', () => {
  it('rejects a git source on /', () => {
    expect(() =>
      rejectGitSourceOnRoot(noneStage(), ['https://127.0.0.1/repo.git#main'], 4),
    ).toThrow(/ADD https:\/\/127\.0\.0\.1\/repo\.git#main \(line 4\) cannot run/);
  });

  it('allows git sources elsewhere', () => {
    expect(() => rejectGitSourceOnRoot(noneStage(dir), ['git://127.0.0.1/r.git'], 1)).not.toThrow();
    const chrootStage = { rootfs: '/' } as StageRun;
    expect(() => rejectGitSourceOnRoot(chrootStage, ['git://127.0.0.1/r.git'], 1)).not.toThrow();
    expect(() => rejectGitSourceOnRoot(noneStage(), ['https://127.0.0.1/f.tar'], 1)).not.toThrow();
  });
});
