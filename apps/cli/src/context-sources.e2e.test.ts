import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTempDir, removeTempDir, runCommand } from '@kiln/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKiln } from './run-kiln.test-support.js';
import type { KilnRun } from './run-kiln.test-support.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const main = path.join(repoRoot, 'apps/cli/dist/main.js');

let tmp: string;
let source: string;
let bareRepo: string;

/** Runs git with a fixed identity, so commits work on a machine with no git config. */
const git = (args: string[], cwd: string): string =>
  execFileSync(
    'git',
    ['-c', 'user.name=Kiln Test', '-c', 'user.email=test@example.invalid', ...args],
    {
      cwd,
      encoding: 'utf8',
    },
  );

beforeAll(async () => {
  tmp = await makeTempDir('kiln-cli-context-');
  // A context whose Dockerfile sits in app/, so the sub-path and git subdir forms are needed.
  source = path.join(tmp, 'source');
  await mkdir(path.join(source, 'app'), { recursive: true });
  await writeFile(path.join(source, 'app/Dockerfile'), 'FROM scratch\nCOPY main.txt /main.txt\n');
  await writeFile(path.join(source, 'app/main.txt'), 'main branch\n');
  await runCommand('tar', ['-czf', path.join(tmp, 'ctx.tar.gz'), '-C', source, '.']);
  git(['init', '-q', '-b', 'main', source], tmp);
  git(['add', '.'], source);
  git(['commit', '-q', '-m', 'main'], source);
  git(['checkout', '-q', '-b', 'release'], source);
  await writeFile(path.join(source, 'app/main.txt'), 'release branch\n');
  git(['commit', '-q', '-am', 'release'], source);
  bareRepo = path.join(tmp, 'repo.git');
  git(['clone', '-q', '--bare', source, bareRepo], tmp);
});

afterAll(async () => {
  if (tmp) await removeTempDir(tmp);
});

const kiln = (args: string[]): Promise<KilnRun> => runKiln(args, path.join(tmp, 'kiln-dir'));

/** Builds `context` into a new OCI layout named `name` and returns the image's `/main.txt`. */
async function buildMainTxt(name: string, contextArgs: string[]): Promise<string> {
  const layout = path.join(tmp, name);
  const result = await kiln(['build', ...contextArgs, '--no-push', '--oci-layout-path', layout]);
  expect(result.code, result.stderr).toBe(0);
  return mainTxt(layout);
}

/** Reads `/main.txt` from the top layer of the image in an OCI layout. */
async function mainTxt(layout: string): Promise<string> {
  const blob = (digest: string): string =>
    path.join(layout, 'blobs/sha256', digest.slice('sha256:'.length));
  const index = JSON.parse(await readFile(path.join(layout, 'index.json'), 'utf8')) as {
    manifests: Array<{ digest: string }>;
  };
  const manifest = JSON.parse(await readFile(blob(index.manifests[0]!.digest), 'utf8')) as {
    layers: Array<{ digest: string }>;
  };
  const layer = blob(manifest.layers.at(-1)!.digest);
  return (await runCommand('tar', ['-xzOf', layer, 'main.txt'])).stdout;
}

describe('kiln build --context sources', () => {
  it('reads a tar.gz from stdin', async () => {
    const layout = path.join(tmp, 'stdin-layout');
    const child = spawn(
      'node',
      [
        main,
        'build',
        '-c',
        'tar://stdin',
        '--context-sub-path',
        'app',
        '--no-push',
        '--oci-layout-path',
        layout,
      ],
      {
        env: { ...process.env, KILN_DIR: path.join(tmp, 'stdin-kiln-dir') },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    createReadStream(path.join(tmp, 'ctx.tar.gz')).pipe(child.stdin);
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code, stderr).toBe(0);
    expect(await mainTxt(layout)).toBe('main branch\n');
  });

  it('builds a tar.gz file', async () => {
    const archive = path.join(tmp, 'ctx.tar.gz');
    const sub = ['--context-sub-path', 'app'];
    expect(await buildMainTxt('tar-path', ['-c', archive, ...sub])).toBe('main branch\n');
    expect(await buildMainTxt('tar-url', ['-c', `tar://${archive}`, ...sub])).toBe('main branch\n');
  });

  it('builds a git ref subdirectory', async () => {
    const context = `file://${bareRepo}#release:app`;
    expect(await buildMainTxt('git', ['-c', context])).toBe('release branch\n');
  });

  it('opens a plugin scheme', async () => {
    const plugin = path.join(tmp, 'fixture-context.mjs');
    await writeFile(
      plugin,
      `export default {
  name: 'fixture-context',
  apiVersion: '^1.0.0',
  contextSources: [{
    name: 'fixture',
    matches: (location) => location.startsWith('fixture://'),
    open: async (location) => ({ directory: ${JSON.stringify(source)} + '/' + location.slice(10) }),
  }],
};
`,
    );
    git(['checkout', '-q', 'main'], source);
    const args = ['-c', 'fixture://app', '--plugin', plugin];
    expect(await buildMainTxt('plugin', args)).toBe('main branch\n');
  });

  it('reports bad context locations', async () => {
    const missing = await kiln(['build', '-c', `tar://${tmp}/none.tar`, '--no-push']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('none.tar not found');

    const scheme = await kiln(['build', '-c', 'nosuch://thing', '--no-push']);
    expect(scheme.code).not.toBe(0);
    expect(scheme.stderr).toContain('Unsupported build context URL nosuch://thing');

    const noDockerfile = await kiln(['build', '-c', `tar://${tmp}/ctx.tar.gz`, '--no-push']);
    expect(noDockerfile.code).not.toBe(0);
    expect(noDockerfile.stderr).toContain('Dockerfile not found');
    expect(noDockerfile.stderr).toContain(`(context tar://${tmp}/ctx.tar.gz)`);

    const ref = await kiln(['build', '-c', `file://${bareRepo}#no-such-ref`, '--no-push']);
    expect(ref.code).not.toBe(0);
    expect(ref.stderr).toContain('no-such-ref');
  });
});
