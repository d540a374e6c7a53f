import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../build.js';

// Each rule below was read in BuildKit's sources: dockerfile2llb `dispatchCopy` and
// `dispatchWorkdir` (frontend/dockerfile/dockerfile2llb/convert.go), the file op backend
// `docopy` (solver/llbsolver/file/backend.go), tonistiigi/fsutil copy/copy.go (`Copy`,
// `prepareTargetDir`, `copier.copy`, `createParentDirs`, `copyDirectoryOnly`), copy/mkdir.go
// (`MkdirAll`), copy/copy_unix.go (`copyFileInfo`, `copyFileTimestamp`), and the image exporter's
// `normalizeLayersAndHistory` (exporter/containerimage/writer.go).

const exec = promisify(execFile);
const OLD = new Date('2001-02-03T04:05:06Z');
let dir: string;
let count = 0;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-copy-rules-test-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface LayerEntry {
  mode: string;
  owner: string;
  /** Modification date, `YYYY-MM-DD` in UTC. */
  date: string;
}

/** Makes a context directory from `files`; every file and directory gets the mtime {@link OLD}. */
async function makeContext(files: Record<string, string>, dirModes: Record<string, number> = {}) {
  count += 1;
  const context = path.join(dir, `context-${count}`);
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(context, name)), { recursive: true });
    await writeFile(path.join(context, name), content, { mode: 0o644 });
  }
  for (const [name, mode] of Object.entries(dirModes)) await chmod(path.join(context, name), mode);
  const { stdout } = await exec('find', [context, '-mindepth', '1']);
  for (const entry of stdout.trim().split('\n').reverse()) await utimes(entry, OLD, OLD);
  return context;
}

/** Builds the context without fixed timestamps and returns the image's layers, each by path. */
async function buildLayers(context: string) {
  const layout = `${context}-layout`;
  const result = await build({
    context,
    noPush: true,
    ociLayoutPath: layout,
    workDir: path.join(dir, 'work'),
  });
  const layers: Array<Map<string, LayerEntry>> = [];
  for (const layer of result.manifest.layers) {
    const blob = path.join(layout, 'blobs/sha256', layer.digest.slice(7));
    const { stdout } = await exec('tar', ['--numeric-owner', '--full-time', '-tvzf', blob], {
      env: { ...process.env, TZ: 'UTC' },
    });
    const entries = new Map<string, LayerEntry>();
    for (const line of stdout.trim().split('\n')) {
      const [mode = '', owner = '', , date = '', , ...name] = line.split(/\s+/);
      entries.set(name.join(' ').replace(/\/$/, ''), { mode, owner, date });
    }
    layers.push(entries);
  }
  return { layers, config: result.config };
}

describe('COPY directory modes', () => {
  it('leaves --chmod off the destination directory itself', async () => {
    // prepareTargetDir creates the destination with MkdirAll(0755, chown); copier.copy then only
    // restores the source directory's times on it (copyFileInfo runs for what copyDirectory creates).
    const context = await makeContext(
      {
        Dockerfile: 'FROM scratch\nCOPY --chown=65534:65534 --chmod=750 src/sub/ /dest/owned/\n',
        'src/sub/deep/file.txt': 'deep',
        'src/sub/top.txt': 'top',
      },
      { 'src/sub': 0o700 },
    );
    const { layers } = await buildLayers(context);
    const layer = layers.at(-1) as Map<string, LayerEntry>;

    expect(layer.get('dest/owned')?.mode).toBe('drwxr-xr-x');
    expect(layer.get('dest/owned')?.owner).toBe('65534/65534');
    expect(layer.get('dest/owned')?.date).toBe('2001-02-03');
    expect(layer.get('dest/owned/deep')?.mode).toBe('drwxr-x---');
    expect(layer.get('dest/owned/deep')?.date).toBe('2001-02-03');
    expect(layer.get('dest/owned/deep/file.txt')?.mode).toBe('-rwxr-x---');
    expect(layer.get('dest/owned/top.txt')?.owner).toBe('65534/65534');
  });

  it('gives an existing destination the source times only', async () => {
    const context = await makeContext({
      Dockerfile: 'FROM scratch\nCOPY one.txt /dest/\nCOPY --chmod=700 src/ /dest/\n',
      'one.txt': 'one',
      'src/two.txt': 'two',
    });
    const { layers } = await buildLayers(context);
    const layer = layers.at(-1) as Map<string, LayerEntry>;

    expect(layer.get('dest')?.mode).toBe('drwxr-xr-x');
    expect(layer.get('dest')?.date).toBe('2001-02-03');
    expect(layer.get('dest/two.txt')?.mode).toBe('-rwx------');
  });
});

describe('COPY parent directories', () => {
  it('creates missing parents 0755 at build time', async () => {
    // MkdirAll(dest parent, 0755, chown, utime) with no utime: the build's clock, root or --chown.
    const context = await makeContext({
      Dockerfile:
        'FROM scratch\nCOPY file.txt /a/b/\nCOPY --chown=1000:1000 --chmod=600 file.txt /c/d/file.txt\n',
      'file.txt': 'x',
    });
    const { layers } = await buildLayers(context);
    const first = layers.at(-2) as Map<string, LayerEntry>;
    const second = layers.at(-1) as Map<string, LayerEntry>;

    expect(first.get('a')).toMatchObject({ mode: 'drwxr-xr-x', owner: '0/0' });
    expect(first.get('a/b')).toMatchObject({ mode: 'drwxr-xr-x', owner: '0/0' });
    expect(first.get('a/b')?.date).not.toBe('2001-02-03');
    expect(first.get('a/b/file.txt')?.date).toBe('2001-02-03');
    expect(second.get('c/d')).toMatchObject({ mode: 'drwxr-xr-x', owner: '1000/1000' });
    expect(second.get('c/d/file.txt')).toMatchObject({ mode: '-rw-------', owner: '1000/1000' });
  });

  it('copies source directories for --parents', async () => {
    // With --parents the pivot is copied with include patterns, and createParentDirs makes each
    // directory on the way with copyFileInfo: source mode with --chmod applied, --chown owner.
    const context = await makeContext(
      {
        Dockerfile:
          'FROM scratch\nCOPY --parents --chown=7:7 app/private/*.txt /out/\nCOPY --parents --chmod=750 lib/./x/y.txt /chmod/\n',
        'app/private/key.txt': 'k',
        'lib/x/y.txt': 'y',
      },
      { 'app/private': 0o700, app: 0o711 },
    );
    const { layers } = await buildLayers(context);
    const first = layers.at(-2) as Map<string, LayerEntry>;
    const second = layers.at(-1) as Map<string, LayerEntry>;

    expect(first.get('out')).toMatchObject({ mode: 'drwxr-xr-x', owner: '7/7' });
    expect(first.get('out/app')).toMatchObject({ mode: 'drwx--x--x', owner: '7/7' });
    expect(first.get('out/app/private')).toMatchObject({ mode: 'drwx------', owner: '7/7' });
    expect(first.get('out/app/private/key.txt')?.owner).toBe('7/7');
    expect(second.get('chmod/x')?.mode).toBe('drwxr-x---');
    expect(second.has('chmod/lib')).toBe(false);
  });

  it('matches --exclude below the copied directory', async () => {
    // copier.copy checks exclude patterns against the path relative to the copied source.
    const context = await makeContext({
      Dockerfile: 'FROM scratch\nCOPY --exclude=*.md --exclude=tmp src/ /out/\n',
      'src/keep.txt': 'keep',
      'src/notes.md': 'notes',
      'src/tmp/x.txt': 'x',
      'src/deep/more.md': 'more',
    });
    const { layers } = await buildLayers(context);
    const layer = layers.at(-1) as Map<string, LayerEntry>;

    expect(layer.has('out/keep.txt')).toBe(true);
    expect(layer.has('out/notes.md')).toBe(false);
    expect(layer.has('out/tmp')).toBe(false);
    // `*.md` has no `**`, so it matches only at the top of the copied directory.
    expect(layer.has('out/deep/more.md')).toBe(true);
  });

  it('applies --exclude to wildcard matches', async () => {
    // The Dockerfile reference's example: COPY --exclude=*.txt hom* /mydir/ copies no .txt file.
    const context = await makeContext({
      Dockerfile: 'FROM scratch\nCOPY --exclude=*.txt hom* /mydir/\n',
      'home.txt': 'txt',
      'homer.md': 'md',
      'homes/inner.txt': 'inner',
    });
    const { layers } = await buildLayers(context);
    const layer = layers.at(-1) as Map<string, LayerEntry>;

    expect(layer.has('mydir/home.txt')).toBe(false);
    expect(layer.has('mydir/homer.md')).toBe(true);
    expect(layer.has('mydir/inner.txt')).toBe(false);
  });
});

describe('COPY --chown owners', () => {
  it('takes the passwd gid for a user name alone', async () => {
    // BuildKit's `readUser` (solver/llbsolver/ops/user_linux.go) sets both UID and GID from the
    // passwd entry of a user given by name; only a numeric user without a group gets gid = uid.
    const context = await makeContext({
      Dockerfile:
        'FROM scratch\nCOPY passwd /etc/passwd\nCOPY --chown=app a.txt /by-name/\nCOPY --chown=1234 a.txt /by-id/\n',
      passwd: 'root:x:0:0::/root:/bin/sh\napp:x:1234:2345::/home/app:/bin/sh\n',
      'a.txt': 'a',
    });
    const { layers } = await buildLayers(context);

    expect(layers[1]?.get('by-name/a.txt')).toMatchObject({ owner: '1234/2345' });
    expect(layers[2]?.get('by-id/a.txt')).toMatchObject({ owner: '1234/1234' });
  });
});

describe('ADD archives', () => {
  it('ignores --chmod for unpacked members', async () => {
    // The file op `unpack` (solver/llbsolver/file) untars with the --chown owner and no mode.
    const context = await makeContext({ Dockerfile: '', 'payload/bin/tool': '#!/bin/sh\n' });
    await chmod(path.join(context, 'payload/bin/tool'), 0o755);
    await exec('tar', [
      '-czf',
      path.join(context, 'payload.tar.gz'),
      '-C',
      path.join(context, 'payload'),
      '.',
    ]);
    await writeFile(
      path.join(context, 'Dockerfile'),
      'FROM scratch\nADD --chmod=600 --chown=7:7 payload.tar.gz /opt/\n',
    );
    const { layers } = await buildLayers(context);
    const layer = layers.at(-1) as Map<string, LayerEntry>;

    expect(layer.get('opt/bin/tool')).toMatchObject({ mode: '-rwxr-xr-x', owner: '7/7' });
    expect(layer.get('opt')).toMatchObject({ mode: 'drwxr-xr-x', owner: '7/7' });
  });
});

describe('WORKDIR layers', () => {
  it('adds no layer for an existing directory', async () => {
    // dispatchWorkdir always adds a mkdir file op; on an existing directory it changes nothing, and
    // normalizeLayersAndHistory drops the empty layer and marks its history entry empty_layer.
    const context = await makeContext({
      Dockerfile: 'FROM scratch\nCOPY file.txt /srv/\nWORKDIR /srv\nWORKDIR /srv/new\n',
      'file.txt': 'x',
    });
    const { layers, config } = await buildLayers(context);
    const history = config.history ?? [];

    expect(layers).toHaveLength(2);
    expect(history.map((entry) => [entry.created_by, entry.empty_layer ?? false])).toEqual([
      ['COPY file.txt /srv/ # buildkit', false],
      ['WORKDIR /srv', true],
      ['WORKDIR /srv/new', false],
    ]);
    expect(layers[1]?.get('srv/new')).toMatchObject({ mode: 'drwxr-xr-x', owner: '0/0' });
  });
});
