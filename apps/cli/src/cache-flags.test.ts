import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { BuildOptions, BuildResult } from '@kiln/engine';
import { makeTempDir, removeTempDir } from '@kiln/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatCacheExplanation, parseDuration, parseSize } from './cache-flags.js';
import { runCli } from './program.js';

let tmp: string;
beforeAll(async () => {
  tmp = await makeTempDir('kiln-cache-flags-');
});
afterAll(async () => {
  if (tmp) await removeTempDir(tmp);
});

async function kiln(args: string[]) {
  let stdout = '';
  let stderr = '';
  let options: BuildOptions | undefined;
  const code = await runCli(args, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: {},
    build: async (given) => {
      options = given;
      return { digest: `sha256:${'0'.repeat(64)}` } as BuildResult;
    },
  });
  return { code, stdout, stderr, options };
}

describe('cache flags', () => {
  it('map to the engine cache options', async () => {
    const { code, options, stderr } = await kiln([
      'build',
      '--no-push',
      '--cache',
      '--cache-repo',
      'registry.example.com/team/cache',
      '--cache-dir',
      '/var/cache/kiln',
      '--cache-ttl',
      '1h30m',
      '--cache-copy-layers=false',
    ]);
    expect(stderr).not.toContain('kiln:');
    expect(code).toBe(0);
    expect(options?.cache).toEqual({
      enabled: true,
      repo: 'registry.example.com/team/cache',
      dir: '/var/cache/kiln',
      ttlMs: 5_400_000,
      runLayers: true,
      copyLayers: false,
    });
  });

  it('leave the cache out when none is set', async () => {
    const { options } = await kiln(['build', '--no-push']);
    expect(options?.cache).toBeUndefined();
  });

  it('reject an invalid --cache-ttl', async () => {
    const { code, stderr } = await kiln([
      'build',
      '--no-push',
      '--cache',
      '--cache-ttl',
      '2 weeks',
    ]);
    expect(code).toBe(2);
    expect(stderr).toContain('invalid --cache-ttl value "2 weeks"');
  });
});

describe('parseDuration and parseSize', () => {
  it('parse Go-style durations', () => {
    expect(parseDuration('336h', '--x')).toBe(336 * 3_600_000);
    expect(parseDuration('90s', '--x')).toBe(90_000);
    expect(parseDuration('1d12h', '--x')).toBe(36 * 3_600_000);
    expect(() => parseDuration('10', '--x')).toThrow('invalid --x value');
  });

  it('parse decimal and binary sizes', () => {
    expect(parseSize('10GB', '--x')).toBe(10_000_000_000);
    expect(parseSize('512MiB', '--x')).toBe(512 * 1024 ** 2);
    expect(parseSize('2k', '--x')).toBe(2048);
    expect(parseSize('100', '--x')).toBe(100);
    expect(() => parseSize('10 parsecs', '--x')).toThrow('invalid --x value');
  });
});

describe('formatCacheExplanation', () => {
  it('names the differing inputs of a miss', () => {
    const line = formatCacheExplanation({
      type: 'step-done',
      stage: 0,
      step: 3,
      cache: 'miss',
      durationMs: 5,
      layer: undefined,
      explanation: {
        kind: 'nearest',
        store: 'local:/c',
        record: { key: 'k', descriptor: { mediaType: 'm', digest: 'd', size: 1 }, createdAt: 't' },
        differences: [{ field: 'args.VERSION', change: 'changed' }],
      },
    });
    expect(line).toBe(
      'cache miss at stage 0 step 3: differs from the nearest entry in local:/c by args.VERSION changed',
    );
  });

  it('ignores hits', () => {
    const line = formatCacheExplanation({
      type: 'step-done',
      stage: 0,
      step: 3,
      cache: 'hit',
      durationMs: 5,
      layer: undefined,
    });
    expect(line).toBeUndefined();
  });
});

describe('kiln cache prune', () => {
  it('removes entries older than --max-age', async () => {
    const dir = path.join(tmp, 'prune');
    const key = path.join(dir, 'layers', 'keys', 'ab');
    await mkdir(key, { recursive: true });
    await writeFile(path.join(key, 'old.json'), '{}');
    const { code, stdout } = await kiln(['cache', 'prune', '--cache-dir', dir, '--max-age', '0s']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Removed 1 entries/);
    expect(await readdir(key)).toEqual([]);
  });

  it('needs a limit', async () => {
    const { code, stderr } = await kiln(['cache', 'prune', '--cache-dir', tmp]);
    expect(code).toBe(2);
    expect(stderr).toContain('no limit given');
  });
});
