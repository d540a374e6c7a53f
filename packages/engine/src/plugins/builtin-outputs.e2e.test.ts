import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { skopeoInspect } from '@kiln/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../build.js';
import { EngineError } from '../errors.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-builtin-outputs-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('oci output through the plugin contract', () => {
  it('writes a layout that skopeo reads', async () => {
    const context = path.join(dir, 'context');
    await mkdir(context, { recursive: true });
    await writeFile(path.join(context, 'Dockerfile'), 'FROM scratch\nCOPY a.txt /a.txt\n');
    await writeFile(path.join(context, 'a.txt'), 'layout\n');
    const dest = path.join(dir, 'layout');

    const result = await build({
      context,
      noPush: true,
      reproducible: true,
      workDir: path.join(dir, 'work'),
      outputs: [{ type: 'oci', options: { dest, name: 'v1' } }],
    });

    expect(result.outputs).toContainEqual({
      kind: 'plugin',
      type: 'oci',
      target: dest,
      digest: result.digest,
    });
    const inspected = (await skopeoInspect(`oci:${dest}:v1`, { raw: true })) as {
      layers: Array<{ digest: string }>;
    };
    expect(inspected.layers.map((layer) => layer.digest)).toEqual(
      result.manifest.layers.map((layer) => layer.digest),
    );
  });

  it('rejects an oci output without dest', async () => {
    const context = path.join(dir, 'context-no-dest');
    await mkdir(context, { recursive: true });
    await writeFile(path.join(context, 'Dockerfile'), 'FROM scratch\n');
    const error = await build({
      context,
      noPush: true,
      workDir: path.join(dir, 'work-no-dest'),
      outputs: [{ type: 'oci', options: {} }],
    }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).message).toBe('Missing dest in --output type=oci');
  });
});
