import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTempDir, removeTempDir } from '@kiln/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKiln } from './run-kiln.test-support.js';
import type { KilnRun } from './run-kiln.test-support.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const includePlugin = path.join(repoRoot, 'examples/plugins/include/src/index.ts');
const outputDirPlugin = path.join(repoRoot, 'examples/plugins/output-dir/src/index.ts');

let tmp: string;

beforeAll(async () => {
  tmp = await makeTempDir('kiln-cli-plugins-');
});

afterAll(async () => {
  if (tmp) await removeTempDir(tmp);
});

/** Runs `kiln ARGS` in process with KILN_DIR under the test's temp dir. */
const kiln = (args: string[]): Promise<KilnRun> => runKiln(args, path.join(tmp, 'kiln-dir'));

describe('kiln build with plugins', () => {
  it('loads plugins from --plugin and --config', async () => {
    const context = path.join(tmp, 'context');
    await mkdir(path.join(context, 'parts'), { recursive: true });
    await writeFile(
      path.join(context, 'Dockerfile'),
      'FROM scratch\nINCLUDE parts/app.Dockerfile\n',
    );
    await writeFile(path.join(context, 'parts/app.Dockerfile'), 'COPY app.txt /app.txt\n');
    await writeFile(path.join(context, 'app.txt'), 'from the include\n');
    const config = path.join(tmp, 'kiln.config.json');
    await writeFile(config, JSON.stringify({ plugins: [includePlugin] }));
    const dest = path.join(tmp, 'rootfs');

    const result = await kiln([
      'build',
      '--context',
      context,
      '--no-push',
      '--config',
      config,
      '--plugin',
      outputDirPlugin,
      '--output',
      `type=dir,dest=${dest}`,
    ]);

    expect(result.stderr).not.toContain('error');
    expect(result.code).toBe(0);
    expect(await readFile(path.join(dest, 'app.txt'), 'utf8')).toBe('from the include\n');
  });

  it('reports a plugin that is not installed', async () => {
    const context = path.join(tmp, 'plain');
    await mkdir(context, { recursive: true });
    await writeFile(path.join(context, 'Dockerfile'), 'FROM scratch\n');

    const result = await kiln([
      'build',
      '--context',
      context,
      '--no-push',
      '--plugin',
      'kiln-plugin-missing',
    ]);

    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('Plugin kiln-plugin-missing not found');
  });
});
