import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifyingStream } from './digest.js';
import { MediaType, OCI_LAYOUT_VERSION } from './media-types.js';
import {
  parseImageConfig,
  parseImageIndex,
  parseManifestDocument,
  parseOciLayoutFile,
} from './parse.js';

const run = promisify(execFile);

// Documents written by umoci (OCI) and by skopeo (Docker schema 2) must parse and their blobs verify.
describe('documents written by umoci and skopeo', () => {
  let work: string;
  let layout: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'kiln-oci-spec-'));
    layout = join(work, 'layout');
    await run('umoci', ['init', '--layout', layout]);
    await run('umoci', ['new', '--image', `${layout}:t`]);
    await run('umoci', [
      'config',
      '--image',
      `${layout}:t`,
      '--config.cmd',
      'sh',
      '--config.env',
      'A=1',
      '--config.label',
      'x=y',
    ]);
    await mkdir(join(work, 'files'));
    await writeFile(join(work, 'files', 'hello'), 'hello\n');
    await run('umoci', [
      'insert',
      '--image',
      `${layout}:t`,
      join(work, 'files', 'hello'),
      '/hello',
    ]);
    await run('skopeo', [
      'copy',
      '--format',
      'v2s2',
      `oci:${layout}:t`,
      `dir:${join(work, 'docker')}`,
    ]);
  });

  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  function blobPath(digest: string): string {
    const [algorithm, encoded] = digest.split(':') as [string, string];
    return join(layout, 'blobs', algorithm, encoded);
  }

  async function verifyBlob(path: string, digest: string, size: number): Promise<boolean> {
    const verifier = createVerifyingStream({ digest, size });
    await pipeline(
      createReadStream(path),
      verifier,
      new Writable({ write: (_c, _e, callback) => callback() }),
    );
    return verifier.verified;
  }

  it('parses the OCI layout, manifest and config', async () => {
    const layoutFile = parseOciLayoutFile(await readFile(join(layout, 'oci-layout')));
    expect(layoutFile.imageLayoutVersion).toBe(OCI_LAYOUT_VERSION);

    const index = parseImageIndex(await readFile(join(layout, 'index.json')));
    const entry = index.manifests[0]!;
    expect(entry.annotations?.['org.opencontainers.image.ref.name']).toBe('t');

    const manifestBytes = await readFile(blobPath(entry.digest));
    const document = parseManifestDocument(manifestBytes, entry.mediaType);
    expect(document.kind).toBe('manifest');
    if (document.kind !== 'manifest') return;
    expect(document.manifest.layers).toHaveLength(1);

    const config = parseImageConfig(await readFile(blobPath(document.manifest.config.digest)));
    expect(config.config?.Cmd).toEqual(['sh']);
    expect(config.config?.Env).toContain('A=1');
    expect(config.config?.Labels).toEqual({ x: 'y' });
    expect(config.rootfs.diff_ids).toHaveLength(1);
  });

  it('verifies every blob of the layout', async () => {
    const index = parseImageIndex(await readFile(join(layout, 'index.json')));
    const entry = index.manifests[0]!;
    expect(await verifyBlob(blobPath(entry.digest), entry.digest, entry.size)).toBe(true);
    const document = parseManifestDocument(await readFile(blobPath(entry.digest)));
    if (document.kind !== 'manifest') throw new Error('expected a manifest');
    for (const descriptor of [document.manifest.config, ...document.manifest.layers]) {
      expect(
        await verifyBlob(blobPath(descriptor.digest), descriptor.digest, descriptor.size),
      ).toBe(true);
    }
  });

  it('fails verification of a blob under a wrong digest', async () => {
    const index = parseImageIndex(await readFile(join(layout, 'index.json')));
    const entry = index.manifests[0]!;
    const wrong = `sha256:${'0'.repeat(64)}`;
    await expect(verifyBlob(blobPath(entry.digest), wrong, entry.size)).rejects.toMatchObject({
      code: 'DIGEST_MISMATCH',
    });
  });

  it('parses the Docker schema 2 manifest and config skopeo wrote', async () => {
    const document = parseManifestDocument(await readFile(join(work, 'docker', 'manifest.json')));
    expect(document.kind).toBe('manifest');
    if (document.kind !== 'manifest') return;
    expect(document.manifest.mediaType).toBe(MediaType.DockerManifest);
    expect(document.manifest.layers[0]?.mediaType).toBe(MediaType.DockerLayerGzip);
    const configName = document.manifest.config.digest.split(':')[1]!;
    const config = parseImageConfig(await readFile(join(work, 'docker', configName)));
    expect(config.config?.Cmd).toEqual(['sh']);
  });
});
