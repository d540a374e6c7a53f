import { createHash } from 'node:crypto';
import {
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { OutputContext, OutputTargetFactory, PluginEvent } from '@kiln/plugin-api';
import { umociUnpack } from '@kiln/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirectoryOutput } from './dir-output.js';
import { OutputDirError } from './errors.js';
import outputDirPlugin from './index.js';
import { parseOutputDirOptions } from './options.js';
import { makeHandMadeImage, type HandMadeImage } from './testing/hand-made-image.js';

let workDir: string;
let handMade: HandMadeImage;

beforeEach(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'kiln-output-dir-'));
  handMade = await makeHandMadeImage(workDir);
});

afterEach(async () => {
  await rm(workDir, { recursive: true, force: true });
});

function outputContext(
  events: PluginEvent[] = [],
  signal = new AbortController().signal,
): OutputContext {
  return {
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    emit: (event) => events.push(event),
    signal,
  };
}

// Lists a tree as `path type mode size content-or-target`, sorted, without owners or times.
async function listTree(root: string, relative = ''): Promise<string[]> {
  const lines: string[] = [];
  for (const name of (await readdir(join(root, relative))).sort()) {
    const path = relative === '' ? name : `${relative}/${name}`;
    const info = await lstat(join(root, path));
    const mode = (info.mode & 0o7777).toString(8);
    if (info.isDirectory()) {
      lines.push(`${path} dir ${mode}`);
      lines.push(...(await listTree(root, path)));
    } else if (info.isSymbolicLink()) {
      lines.push(`${path} symlink -> ${await readlink(join(root, path))}`);
    } else {
      const digest = createHash('sha256')
        .update(await readFile(join(root, path)))
        .digest('hex');
      lines.push(`${path} file ${mode} ${info.size} ${digest.slice(0, 12)}`);
    }
  }
  return lines;
}

async function writeTo(
  dest: string,
  options: Record<string, string> = {},
  events: PluginEvent[] = [],
) {
  const target = new DirectoryOutput(parseOutputDirOptions({ dest, ...options }));
  return target.write(handMade.image, outputContext(events));
}

async function failure(promise: Promise<unknown>): Promise<OutputDirError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(OutputDirError);
  return error as OutputDirError;
}

describe('dir output', () => {
  it('writes the root filesystem of all layers', async () => {
    const dest = join(workDir, 'rootfs');
    const result = await writeTo(dest);
    expect(result).toEqual({ location: dest, digest: handMade.image.manifestDescriptor.digest });

    expect(await readFile(join(dest, 'bin/hello'), 'utf8')).toBe('#!/bin/sh\necho hello v2\n');
    expect(await readFile(join(dest, 'bin/hello-v1'), 'utf8')).toBe('#!/bin/sh\necho hello v1\n');
    expect((await lstat(join(dest, 'bin/hello'))).mode & 0o777).toBe(0o755);
    expect(await readdir(join(dest, 'etc'))).toEqual(['motd']);
    expect(await readdir(join(dest, 'data'))).toEqual(['new.txt']);
    expect(await readlink(join(dest, 'lib/hello'))).toBe('../bin/hello');
    expect((await lstat(dest)).mode & 0o777).toBe(0o755);
  });

  it('matches umoci unpack of the same image', async () => {
    const dest = join(workDir, 'rootfs');
    await writeTo(dest);
    const umociRootfs = await umociUnpack(
      handMade.layoutDir,
      handMade.tag,
      join(workDir, 'bundle'),
    );
    const ours = await listTree(dest);
    expect(ours.length).toBeGreaterThan(8);
    expect(ours).toEqual(await listTree(umociRootfs));
  });

  it('reports progress once per layer', async () => {
    const events: PluginEvent[] = [];
    await writeTo(join(workDir, 'rootfs'), {}, events);
    expect(events).toEqual(
      handMade.image.layers.map((layer, index) => ({
        type: 'progress',
        message: `extracting layer ${layer.descriptor.digest}`,
        current: index + 1,
        total: 3,
        unit: 'layers',
      })),
    );
  });

  it('fills an existing empty directory', async () => {
    const dest = join(workDir, 'empty');
    await mkdir(dest);
    await writeTo(dest);
    expect(await readdir(join(dest, 'etc'))).toEqual(['motd']);
  });

  it('rejects a non-empty destination', async () => {
    const dest = join(workDir, 'used');
    await mkdir(dest);
    await writeFile(join(dest, 'keep.txt'), 'mine');
    const error = await failure(writeTo(dest));
    expect(error.code).toBe('DESTINATION_NOT_EMPTY');
    expect(error.message).toContain(dest);
    expect(await readdir(dest)).toEqual(['keep.txt']);
  });

  it('replaces a destination with overwrite=true', async () => {
    const dest = join(workDir, 'used');
    await mkdir(dest);
    await writeFile(join(dest, 'stale.txt'), 'old build');
    await writeTo(dest, { overwrite: 'true' });
    expect((await readdir(dest)).sort()).toEqual(['bin', 'data', 'etc', 'lib']);
    expect(await readdir(workDir)).not.toContain(expect.stringMatching(/kiln-old/));
  });
});

describe('dir output failures', () => {
  it('rejects a corrupt layer and leaves nothing behind', async () => {
    const dest = join(workDir, 'rootfs');
    const corrupt = handMade.image.layers[2]!.descriptor.digest;
    const image = {
      ...handMade.image,
      openBlob: async (digest: string) => {
        if (digest !== corrupt) return handMade.image.openBlob(digest);
        const bytes = Buffer.from(await readAll(await handMade.image.openBlob(digest)));
        bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff;
        return Readable.from([bytes]);
      },
    };
    const target = new DirectoryOutput(parseOutputDirOptions({ dest }));
    const error = await failure(target.write(image, outputContext()));
    expect(error.code).toBe('LAYER_FAILED');
    expect(error.message).toContain(corrupt);
    expect((await readdir(workDir)).filter((name) => name.includes('rootfs'))).toEqual([]);
  });

  it('rejects a layer whose diffID differs from the config', async () => {
    const dest = join(workDir, 'rootfs');
    const layers = handMade.image.layers.map((layer, index) =>
      index === 1 ? { ...layer, diffId: `sha256:${'0'.repeat(64)}` } : layer,
    );
    const target = new DirectoryOutput(parseOutputDirOptions({ dest }));
    const error = await failure(target.write({ ...handMade.image, layers }, outputContext()));
    expect(error.code).toBe('DIFF_ID_MISMATCH');
    await expect(lstat(dest)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('stops when the build is cancelled', async () => {
    const controller = new AbortController();
    controller.abort(new Error('cancelled by the user'));
    const target = new DirectoryOutput(parseOutputDirOptions({ dest: join(workDir, 'rootfs') }));
    const error = await failure(target.write(handMade.image, outputContext([], controller.signal)));
    expect(error.code).toBe('ABORTED');
  });
});

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

describe('dir output options', () => {
  it('resolves a relative destination', () => {
    expect(parseOutputDirOptions({ dest: 'out/rootfs' }, '/work')).toEqual({
      dest: '/work/out/rootfs',
      overwrite: false,
    });
    expect(parseOutputDirOptions({ dest: '/x', overwrite: 'true', ownership: 'false' })).toEqual({
      dest: '/x',
      overwrite: true,
      preserveOwnership: false,
    });
  });

  it.each([
    [{}, /needs a destination/],
    [{ dest: '/x', mode: 'fast' }, /unknown dir output option mode/],
    [{ dest: '/x', overwrite: 'yes' }, /invalid dir output option overwrite=yes/],
  ])('rejects %o', (options, message) => {
    expect(() => parseOutputDirOptions(options)).toThrow(message);
  });

  it('is offered as the dir output type', async () => {
    const factory: OutputTargetFactory = outputDirPlugin.outputs[0];
    expect(factory.type).toBe('dir');
    const target = await factory.create({ dest: join(workDir, 'via-factory') });
    await target.write(handMade.image, outputContext());
    expect(await readdir(join(workDir, 'via-factory', 'etc'))).toEqual(['motd']);
  });
});
