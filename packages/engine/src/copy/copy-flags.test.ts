import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../build.js';

const exec = promisify(execFile);
let dir: string;
let count = 0;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-copy-flags-test-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Builds `dockerfile` over a context of `files` and lists its last layer as `mode path` lines. */
async function lastLayer(dockerfile: string, files: Record<string, string>): Promise<string[]> {
  count += 1;
  const context = path.join(dir, `context-${count}`);
  for (const [name, content] of Object.entries({ Dockerfile: dockerfile, ...files })) {
    await mkdir(path.dirname(path.join(context, name)), { recursive: true });
    await writeFile(path.join(context, name), content, { mode: 0o644 });
  }
  const layout = `${context}-layout`;
  const result = await build({
    context,
    noPush: true,
    ociLayoutPath: layout,
    reproducible: true,
    workDir: path.join(dir, 'work'),
  });
  const digest = result.manifest.layers.at(-1)?.digest.slice(7) as string;
  const { stdout } = await exec('tar', ['-tvzf', path.join(layout, 'blobs/sha256', digest)]);
  return stdout
    .trim()
    .split('\n')
    .map((line) => {
      const parts = line.split(/\s+/);
      return `${parts[0]} ${parts.slice(5).join(' ')}`;
    });
}

const TREE = {
  'src/app/main.js': 'main',
  'src/app/readme.md': 'readme',
  'src/lib/util.js': 'util',
  'notes.md': 'notes',
};

describe('COPY flags', () => {
  it('leaves out what --exclude matches', async () => {
    const layer = await lastLayer(
      'FROM scratch\nCOPY --exclude=**/*.md --exclude=src/lib . /out/\n',
      TREE,
    );
    expect(layer).toEqual([
      'drwxr-xr-x out/',
      '-rw-r--r-- out/Dockerfile',
      'drwxr-xr-x out/src/',
      'drwxr-xr-x out/src/app/',
      '-rw-r--r-- out/src/app/main.js',
    ]);
  });

  it('keeps source paths with --parents, below a /./ pivot when given', async () => {
    const layer = await lastLayer(
      'FROM scratch\nCOPY --parents src/*/main.js src/./lib/util.js /out/\n',
      TREE,
    );
    expect(layer).toEqual([
      'drwxr-xr-x out/',
      'drwxr-xr-x out/lib/',
      '-rw-r--r-- out/lib/util.js',
      'drwxr-xr-x out/src/',
      'drwxr-xr-x out/src/app/',
      '-rw-r--r-- out/src/app/main.js',
    ]);
  });

  it('applies a symbolic --chmod to each source mode', async () => {
    const layer = await lastLayer('FROM scratch\nCOPY --chmod=u+x,go-r src/app/ /app/\n', TREE);
    expect(layer).toEqual([
      'drwxr-xr-x app/',
      '-rwx------ app/main.js',
      '-rwx------ app/readme.md',
    ]);
  });
});

describe('COPY special files', () => {
  it('recreates FIFOs and device nodes as Docker does', async () => {
    count += 1;
    const context = path.join(dir, `context-${count}`);
    await mkdir(path.join(context, 'special'), { recursive: true });
    await writeFile(path.join(context, 'Dockerfile'), 'FROM scratch\nCOPY special/ /special/\n');
    await exec('mkfifo', [path.join(context, 'special/pipe')]);
    await exec('mknod', [path.join(context, 'special/null'), 'c', '1', '3']);
    const layout = `${context}-layout`;
    const result = await build({
      context,
      noPush: true,
      ociLayoutPath: layout,
      reproducible: true,
      workDir: path.join(dir, 'work'),
    });
    const digest = result.manifest.layers.at(-1)?.digest.slice(7) as string;
    const { stdout } = await exec('tar', ['-tvzf', path.join(layout, 'blobs/sha256', digest)]);
    const lines = stdout.trim().split('\n');
    expect(lines.find((line) => line.endsWith('special/pipe'))).toMatch(/^p/);
    expect(lines.find((line) => line.endsWith('special/null'))).toMatch(/^c.* 1,3 /);
  });
});

describe('COPY hardlinks', () => {
  it('keeps names of one file linked', async () => {
    count += 1;
    const context = path.join(dir, `context-${count}`);
    await mkdir(path.join(context, 'tree'), { recursive: true });
    await writeFile(path.join(context, 'Dockerfile'), 'FROM scratch\nCOPY tree/ /tree/\n');
    await writeFile(path.join(context, 'tree/a'), 'same');
    await exec('ln', [path.join(context, 'tree/a'), path.join(context, 'tree/b')]);
    const layout = `${context}-layout`;
    const result = await build({
      context,
      noPush: true,
      ociLayoutPath: layout,
      reproducible: true,
      workDir: path.join(dir, 'work'),
    });
    const digest = result.manifest.layers.at(-1)?.digest.slice(7) as string;
    const { stdout } = await exec('tar', ['-tvzf', path.join(layout, 'blobs/sha256', digest)]);
    expect(stdout).toMatch(/^h.* tree\/b link to tree\/a$/m);
  });
});
