import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BuildOptions, BuildResult } from '@kiln/engine';
import { RunFailedError } from '@kiln/engine';
import { describe, expect, it } from 'vitest';
import { runCli } from './program.js';
import { RECORDED_BUILD } from './progress/recorded-build.js';

const DIGEST = `sha256:${'3'.repeat(64)}`;
const RESULT = {
  digest: DIGEST,
  configDigest: `sha256:${'4'.repeat(64)}`,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  outputs: [{ kind: 'push', target: 'registry.example/app:1', digest: DIGEST }],
} as unknown as BuildResult;

/** Runs kiln with a build that replays events (up to `failAt`, then throws `failure`). */
async function cli(args: string[], failure?: { at: number; error: Error }) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: {},
    build: async (options: BuildOptions) => {
      for (const [time, event] of RECORDED_BUILD) {
        if (failure && time > failure.at) throw failure.error;
        options.onEvent?.(event);
      }
      return RESULT;
    },
  });
  return { code, stdout, stderr };
}

async function contextDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kiln-cli-run-'));
  await writeFile(
    path.join(dir, 'Dockerfile'),
    'FROM busybox AS builder\n# build\nCOPY src /src\nRUN make\nFROM builder AS final\n',
  );
  return dir;
}

describe('kiln build metadata file', () => {
  it('writes digests, stage timings and cache counts', async () => {
    const dir = await contextDir();
    const file = path.join(dir, 'metadata.json');
    const run = await cli([
      'build',
      '-c',
      dir,
      '-d',
      'registry.example/app:1',
      '--progress',
      'plain',
      '--metadata-file',
      file,
    ]);
    expect(run.code).toBe(0);
    const metadata = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    expect(metadata.imageNames).toEqual(['registry.example/app:1']);
    expect(metadata.digest).toBe(DIGEST);
    expect(metadata.configDigest).toBe(RESULT.configDigest);
    expect(metadata.mediaType).toBe(RESULT.mediaType);
    expect(metadata.cache).toEqual({ hits: 1, misses: 1 });
    expect(metadata.bytesPulled).toBe(2 * 1024 * 1024);
    expect(metadata.bytesPushed).toBe(3 * 1024 * 1024);
    const stages = metadata.stages as Array<{ name: string; durationMs: number }>;
    expect(stages.map((s) => s.name)).toEqual(['builder', 'final']);
    expect(stages.every((s) => typeof s.durationMs === 'number')).toBe(true);
    expect(metadata.steps).toHaveLength(2);
    expect(metadata.layerCache).toBeNull();
  });

  it('includes the cache explanations', async () => {
    const dir = await contextDir();
    const file = path.join(dir, 'metadata.json');
    const cache = {
      store: 'dir:/cache/layers',
      steps: [
        { stage: 0, step: 1, instruction: 'COPY src /src', status: 'miss', key: 'sha256:k1' },
        { stage: 0, step: 2, instruction: 'RUN make', status: 'hit', key: 'sha256:k2' },
      ],
      failedWrites: [],
    };
    const original = RESULT.cache;
    RESULT.cache = cache as BuildResult['cache'];
    try {
      const run = await cli(['build', '-c', dir, '--no-push', '--metadata-file', file]);
      expect(run.code).toBe(0);
    } finally {
      RESULT.cache = original;
    }
    const metadata = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    expect(metadata.layerCache).toEqual(cache);
  });

  it('prints the summary after a plain build', async () => {
    const dir = await contextDir();
    const run = await cli(['build', '-c', dir, '--no-push', '--progress', 'plain']);
    expect(run.stderr).toMatch(/Build finished in [\d.]+s: 2 steps \(1 cached, 1 cache miss\)/);
    expect(run.stdout).toBe(`Built image ${DIGEST}\n`);
  });
});

describe('kiln build failure report', () => {
  it('marks the failing Dockerfile line', async () => {
    const dir = await contextDir();
    const error = new RunFailedError('/bin/sh -c make', 2, 'make: *** No rule');
    const run = await cli(['build', '-c', dir, '--no-push', '--progress', 'plain'], {
      at: 1400,
      error,
    });
    expect(run.code).toBe(1);
    const report = run.stderr.slice(run.stderr.indexOf('kiln: error:'));
    expect(report).toContain('failed with exit code 2');
    expect(report).toContain('Dockerfile:4\n');
    expect(report).toContain('>>> 4 | RUN make');
    expect(report).toContain('    3 | COPY src /src');
    expect(report).toMatch(/hint: Fix the command/);
  });

  it('ends a json stream with an error record', async () => {
    const dir = await contextDir();
    const error = new RunFailedError('/bin/sh -c make', 2, '');
    const run = await cli(['build', '-c', dir, '--no-push', '--progress', 'json'], {
      at: 1400,
      error,
    });
    const records = run.stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { type: string; code?: string });
    expect(records.at(-1)).toMatchObject({ type: 'error', code: 'RUN_FAILED' });
  });

  it('names the cause of a wrapped error', async () => {
    const dir = await contextDir();
    const error = new Error('pushing registry.example/app:1 failed', {
      cause: new Error('401 Unauthorized'),
    });
    const failed = await cli(['build', '-c', dir, '--no-push', '--progress', 'plain'], {
      at: 0,
      error,
    });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('caused by: 401 Unauthorized\n');
  });
});
