import { chmod, link, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeTempDir, removeTempDir } from '@kiln/testkit';
import { parseRunMount } from '@kiln/dockerfile-parser';
import { sha256Digest } from '@kiln/oci-spec';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keyServices, writeTree } from './key-sources.fixture.js';
import { bindMountSourcesForKey } from './mount-sources.js';

let tmp: string;

beforeEach(async () => {
  tmp = await makeTempDir('kiln-mount-key-');
});

afterEach(async () => {
  await removeTempDir(tmp);
});

async function contextWith(files: Record<string, string>): Promise<string> {
  const context = path.join(tmp, 'context');
  await writeTree(context, files);
  return context;
}

async function keyOf(context: string, specs: string[], stages: Record<string, string> = {}) {
  const { services } = await keyServices(tmp, context, stages);
  return bindMountSourcesForKey(specs.map(parseRunMount), services);
}

describe('bindMountSourcesForKey', () => {
  it('single file bind lists its digest and mode', async () => {
    const context = await contextWith({ 'go.sum': 'sum one\n', 'main.go': 'package main\n' });
    const sources = await keyOf(context, ['type=bind,source=go.sum,target=go.sum']);
    expect(sources).toHaveLength(1);
    expect(sources[0]?.path).toBe('mount:go.sum');
    expect(sources[0]?.digest).toBe(sha256Digest('sum one\n'));
    expect((sources[0]?.mode ?? 0) & 0o777).toBe(0o644 & ~process.umask());
    expect(sources[0]?.uid).toBeUndefined();
  });

  it('bound file change alters the entry', async () => {
    const context = await contextWith({ 'go.sum': 'sum one\n' });
    const before = await keyOf(context, ['type=bind,source=go.sum,target=go.sum']);
    await writeFile(path.join(context, 'go.sum'), 'sum two\n');
    const after = await keyOf(context, ['type=bind,source=go.sum,target=go.sum']);
    expect(after[0]?.digest).not.toBe(before[0]?.digest);
  });

  it('mode change alters the entry', async () => {
    const context = await contextWith({ 'build.sh': 'echo hi\n' });
    const before = await keyOf(context, ['type=bind,source=build.sh,target=/build.sh']);
    await chmod(path.join(context, 'build.sh'), 0o755);
    const after = await keyOf(context, ['type=bind,source=build.sh,target=/build.sh']);
    expect(after[0]?.digest).toBe(before[0]?.digest);
    expect(after[0]?.mode).not.toBe(before[0]?.mode);
  });

  it('unrelated context file leaves entries equal', async () => {
    const context = await contextWith({ 'go.sum': 'sum\n', 'main.go': 'one\n' });
    const before = await keyOf(context, ['type=bind,source=go.sum,target=go.sum']);
    await writeFile(path.join(context, 'main.go'), 'two\n');
    const after = await keyOf(context, ['type=bind,source=go.sum,target=go.sum']);
    expect(after).toEqual(before);
  });

  it('directory bind walks below source and skips ignored files', async () => {
    const context = await contextWith({
      '.dockerignore': 'src/*.log\n',
      'src/a.txt': 'a\n',
      'src/lib/b.txt': 'b\n',
      'src/debug.log': 'noise\n',
      'other.txt': 'other\n',
    });
    const sources = await keyOf(context, ['type=bind,source=src,target=/work']);
    expect(sources.map((source) => source.path).sort()).toEqual([
      'mount:/work',
      'mount:/work/a.txt',
      'mount:/work/lib',
      'mount:/work/lib/b.txt',
    ]);
  });

  it('whole context bind without source', async () => {
    const context = await contextWith({ 'a.txt': 'a\n' });
    const sources = await keyOf(context, ['type=bind,target=/ctx']);
    expect(sources.map((source) => source.path)).toContain('mount:/ctx/a.txt');
  });

  it('missing or ignored source adds nothing', async () => {
    const context = await contextWith({ '.dockerignore': 'secret.txt\n', 'secret.txt': 's\n' });
    expect(await keyOf(context, ['type=bind,source=absent,target=/x'])).toEqual([]);
    expect(await keyOf(context, ['type=bind,source=secret.txt,target=/x'])).toEqual([]);
  });

  it('non-bind mounts add nothing', async () => {
    const context = await contextWith({ 'a.txt': 'a\n' });
    const sources = await keyOf(context, [
      'type=cache,target=/root/.cache',
      'type=tmpfs,target=/tmp',
      'type=secret,id=token',
    ]);
    expect(sources).toEqual([]);
  });

  it('later mount over same path replaces earlier entry', async () => {
    const context = await contextWith({ 'one/f.txt': 'one\n', 'two/f.txt': 'two\n' });
    const sources = await keyOf(context, [
      'type=bind,source=one,target=/m',
      'type=bind,source=two,target=/m',
    ]);
    const file = sources.find((source) => source.path === 'mount:/m/f.txt');
    expect(file?.digest).toBe(sha256Digest('two\n'));
  });

  it('stage bind lists owners and ignores no file', async () => {
    const context = await contextWith({ '.dockerignore': '*.txt\n' });
    const builder = path.join(tmp, 'builder');
    await writeTree(builder, { 'out/app.txt': 'app\n' });
    const sources = await keyOf(context, ['type=bind,from=builder,source=/out,target=/in'], {
      builder,
    });
    const file = sources.find((source) => source.path === 'mount:/in/app.txt');
    expect(file?.digest).toBe(sha256Digest('app\n'));
    expect(file?.uid).toBe(process.getuid?.());
    expect(file?.gid).toBe(process.getgid?.());
  });

  it('stage bind unpacks queued stage changes first', async () => {
    const context = await contextWith({});
    const builder = path.join(tmp, 'builder');
    await writeTree(builder, {});
    const { services, stages } = await keyServices(tmp, context, { builder });
    const stage = stages.get('builder');
    if (stage === undefined) throw new Error('fixture has no builder stage');
    services.layerCache?.defer(stage, () => writeTree(builder, { 'queued.txt': 'late\n' }));

    const sources = await bindMountSourcesForKey(
      [parseRunMount('type=bind,from=builder,target=/in')],
      services,
    );
    const file = sources.find((source) => source.path === 'mount:/in/queued.txt');
    expect(file?.digest).toBe(sha256Digest('late\n'));
    expect(services.layerCache?.isDeferred(stage)).toBe(false);
  });

  it('hard links share one digest', async () => {
    const context = await contextWith({ 'bin/tool': 'binary\n' });
    await link(path.join(context, 'bin/tool'), path.join(context, 'bin/alias'));
    const sources = await keyOf(context, ['type=bind,source=bin,target=/bin']);
    const alias = sources.find((source) => source.path === 'mount:/bin/alias');
    const tool = sources.find((source) => source.path === 'mount:/bin/tool');
    expect(alias?.digest).toBe(sha256Digest('binary\n'));
    expect(tool?.digest).toBe(sha256Digest('binary\n'));
  });

  it('unknown stage index is rejected', async () => {
    const context = await contextWith({});
    await expect(keyOf(context, ['type=bind,from=3,target=/in'])).rejects.toMatchObject({
      code: 'UNKNOWN_STAGE',
    });
  });
});
