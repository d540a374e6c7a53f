import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  chrootRun,
  makeTempDir,
  pushBusybox,
  removeTempDir,
  skopeoCopy,
  skopeoInspect,
  startRegistry,
  umociUnpack,
} from '@kiln/testkit';
import type { TestRegistry } from '@kiln/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../build.js';

let registry: TestRegistry;
let work: string;

beforeAll(async () => {
  registry = await startRegistry();
  await pushBusybox(registry);
  work = await makeTempDir('kiln-media-types');
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  if (work) await removeTempDir(work);
});

describe('Docker media types', () => {
  it('pushes a v2 schema 2 image that skopeo, umoci and chroot read back', async () => {
    const context = path.join(work, 'context');
    await mkdir(context, { recursive: true });
    await writeFile(
      path.join(context, 'Dockerfile'),
      'FROM busybox\nRUN echo hello > /hello.txt\nCMD ["cat", "/hello.txt"]\n',
    );
    const destination = `${registry.host}/media/docker:1`;
    const result = await build({
      context,
      destinations: [destination],
      insecure: true,
      insecurePull: true,
      insecureRegistries: [registry.host],
      registryMap: { 'docker.io': [registry.host] },
      mediaTypes: 'docker',
      workDir: path.join(work, 'kiln'),
    });

    const manifest = (await skopeoInspect(destination, { raw: true })) as {
      mediaType: string;
      config: { mediaType: string };
      layers: Array<{ mediaType: string }>;
    };
    expect(manifest.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(manifest.config.mediaType).toBe('application/vnd.docker.container.image.v1+json');
    expect(new Set(manifest.layers.map((layer) => layer.mediaType))).toEqual(
      new Set(['application/vnd.docker.image.rootfs.diff.tar.gzip']),
    );

    // skopeo converts the manifest for an OCI layout; umoci then unpacks the same layers.
    const layout = path.join(work, 'layout');
    await skopeoCopy(destination, `oci:${layout}:docker`);
    const rootfs = await umociUnpack(layout, 'docker', path.join(work, 'bundle'));
    const run = await chrootRun(rootfs, result.config.config?.Cmd ?? []);
    expect(run.stdout).toBe('hello\n');
  }, 120_000);
});
