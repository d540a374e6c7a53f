import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeTempDir, pushBusybox, removeTempDir, startRegistry } from '@kiln/testkit';
import type { TestRegistry } from '@kiln/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKiln } from './run-kiln.test-support.js';
import type { KilnRun } from './run-kiln.test-support.js';

let registry: TestRegistry;
let tmp: string;

beforeAll(async () => {
  registry = await startRegistry();
  await pushBusybox(registry);
  tmp = await makeTempDir('kiln-cli-cache-e2e-');
});

afterAll(async () => {
  await registry?.stop();
  if (tmp) await removeTempDir(tmp);
});

/** Runs `kiln ARGS` in process with KILN_DIR under the test's temp dir. */
const kiln = (args: string[]): Promise<KilnRun> => runKiln(args, path.join(tmp, 'kiln-dir'));

const registryFlags = (): string[] => [
  '--insecure-registry',
  registry.host,
  '--registry-map',
  `docker.io=${registry.host}`,
];

describe('kiln cache commands', () => {
  it('warm then build with --explain-cache', async () => {
    const context = path.join(tmp, 'context');
    await mkdir(context, { recursive: true });
    await writeFile(
      path.join(context, 'Dockerfile'),
      'FROM busybox\nCOPY a.txt /a.txt\nRUN cat /a.txt > /b.txt\n',
    );
    await writeFile(path.join(context, 'a.txt'), 'one\n');
    const cacheDir = path.join(tmp, 'cache');

    const warm = await kiln([
      'warm',
      '--cache-dir',
      cacheDir,
      '--dockerfile',
      path.join(context, 'Dockerfile'),
      ...registryFlags(),
    ]);
    expect(warm.stderr).toBe('');
    expect(warm.code).toBe(0);
    expect(warm.stdout).toMatch(/^busybox sha256:[0-9a-f]{64} \(\d+ blobs fetched\)/);

    const build = ['build', '--no-push', '-c', context, '--cache', '--cache-dir', cacheDir];
    const first = await kiln([...build, '--explain-cache', ...registryFlags()]);
    expect(first.code).toBe(0);
    expect(first.stderr).toContain('cache miss at stage 0 step 1');

    await writeFile(path.join(context, 'a.txt'), 'two\n');
    const logBefore = (await readFile(registry.logPath, 'utf8')).length;
    const second = await kiln([...build, '--explain-cache', ...registryFlags()]);
    expect(second.code).toBe(0);
    expect(second.stderr).toContain('by sources.a.txt changed');
    const requests = (await readFile(registry.logPath, 'utf8')).slice(logBefore);
    expect(requests).not.toMatch(/GET \/v2\/library\/busybox\/blobs\//);

    const prune = await kiln(['cache', 'prune', '--cache-dir', cacheDir, '--max-size', '0']);
    expect(prune.code).toBe(0);
    expect(prune.stdout).toMatch(/^Removed \d+ entries/);
  });
});
