import { describe, expect, it } from 'vitest';
import { sha256Digest } from './digest.js';
import { InvalidDocumentError, OciSpecError } from './errors.js';
import { EMPTY_JSON_DIGEST, EMPTY_JSON_SIZE, MediaType } from './media-types.js';
import {
  parseImageConfig,
  parseImageIndex,
  parseImageManifest,
  parseManifestDocument,
  parseOciLayoutFile,
} from './parse.js';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const D3 = `sha256:${'3'.repeat(64)}`;

function ociManifest(): Record<string, unknown> {
  return {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: D1, size: 500 },
    layers: [
      { mediaType: MediaType.OciLayerGzip, digest: D2, size: 1000 },
      {
        mediaType: MediaType.OciLayerZstd,
        digest: D3,
        size: 2000,
        annotations: { 'org.example': 'x' },
      },
    ],
    annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' },
  };
}

function dockerManifest(): Record<string, unknown> {
  return {
    schemaVersion: 2,
    mediaType: MediaType.DockerManifest,
    config: { mediaType: MediaType.DockerConfig, size: 500, digest: D1 },
    layers: [{ mediaType: MediaType.DockerLayerGzip, size: 1000, digest: D2 }],
  };
}

function ociIndex(): Record<string, unknown> {
  return {
    schemaVersion: 2,
    mediaType: MediaType.OciIndex,
    manifests: [
      {
        mediaType: MediaType.OciManifest,
        digest: D1,
        size: 10,
        platform: { os: 'linux', architecture: 'amd64' },
      },
      {
        mediaType: MediaType.OciManifest,
        digest: D2,
        size: 20,
        platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
      },
    ],
  };
}

function expectInvalid(run: () => unknown, path: string): InvalidDocumentError {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(InvalidDocumentError);
  const error = caught as InvalidDocumentError;
  expect(error.code).toBe('INVALID_DOCUMENT');
  expect(error.path).toBe(path);
  expect(error.message).toContain(path);
  return error;
}

describe('parseImageManifest', () => {
  it('parses an OCI manifest from text, bytes and values', () => {
    const text = JSON.stringify(ociManifest());
    for (const input of [text, new TextEncoder().encode(text), ociManifest()]) {
      const manifest = parseImageManifest(input);
      expect(manifest.layers).toHaveLength(2);
      expect(manifest.layers[1]?.annotations).toEqual({ 'org.example': 'x' });
      expect(manifest.config.digest).toBe(D1);
    }
  });

  it('parses a Docker schema 2 manifest', () => {
    const manifest = parseImageManifest(dockerManifest());
    expect(manifest.mediaType).toBe(MediaType.DockerManifest);
    expect(manifest.layers[0]?.mediaType).toBe(MediaType.DockerLayerGzip);
  });

  it('parses an artifact manifest with subject and empty config', () => {
    const manifest = parseImageManifest({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      artifactType: 'application/vnd.example.sbom+json',
      config: {
        mediaType: MediaType.OciEmptyJson,
        digest: EMPTY_JSON_DIGEST,
        size: EMPTY_JSON_SIZE,
        data: 'e30=',
      },
      layers: [
        { mediaType: MediaType.OciEmptyJson, digest: EMPTY_JSON_DIGEST, size: EMPTY_JSON_SIZE },
      ],
      subject: { mediaType: MediaType.OciManifest, digest: D1, size: 10 },
    });
    expect(manifest.subject?.digest).toBe(D1);
    expect(manifest.artifactType).toBe('application/vnd.example.sbom+json');
  });

  it.each([
    ['schemaVersion', { ...ociManifest(), schemaVersion: 3 }],
    ['mediaType', { ...ociManifest(), mediaType: MediaType.OciIndex }],
    ['config', { ...ociManifest(), config: undefined }],
    ['layers', { ...ociManifest(), layers: 'none' }],
    [
      'layers[0].digest',
      {
        ...ociManifest(),
        layers: [{ mediaType: MediaType.OciLayer, digest: 'sha256:12', size: 1 }],
      },
    ],
    [
      'layers[0].size',
      { ...ociManifest(), layers: [{ mediaType: MediaType.OciLayer, digest: D2, size: -1 }] },
    ],
    [
      'layers[0].size',
      { ...ociManifest(), layers: [{ mediaType: MediaType.OciLayer, digest: D2, size: 1.5 }] },
    ],
    [
      'layers[0].mediaType',
      { ...ociManifest(), layers: [{ mediaType: 'tarball', digest: D2, size: 1 }] },
    ],
    [
      'config.annotations.key',
      {
        ...ociManifest(),
        config: { mediaType: MediaType.OciConfig, digest: D1, size: 1, annotations: { key: 1 } },
      },
    ],
    [
      'config.platform.os',
      {
        ...ociManifest(),
        config: {
          mediaType: MediaType.OciConfig,
          digest: D1,
          size: 1,
          platform: { architecture: 'amd64' },
        },
      },
    ],
    [
      'config.data',
      {
        ...ociManifest(),
        config: { mediaType: MediaType.OciConfig, digest: D1, size: 2, data: 'e30=' },
      },
    ],
    [
      'config.data',
      {
        ...ociManifest(),
        config: {
          mediaType: MediaType.OciConfig,
          digest: EMPTY_JSON_DIGEST,
          size: 3,
          data: 'e30=',
        },
      },
    ],
    [
      'config.data',
      {
        ...ociManifest(),
        config: { mediaType: MediaType.OciConfig, digest: D1, size: 1, data: '***' },
      },
    ],
  ])('names the field %s', (path, document) => {
    expectInvalid(() => parseImageManifest(document), path);
  });

  it('checks Docker manifests against the Docker schema', () => {
    const document = dockerManifest();
    document.config = { mediaType: MediaType.OciConfig, size: 500, digest: D1 };
    const error = expectInvalid(() => parseImageManifest(document), 'config.mediaType');
    expect(error.message).toMatch(/Docker image manifest/);
  });

  it('rejects Docker schema 1 with a hint', () => {
    expect(() =>
      parseImageManifest({ schemaVersion: 1, name: 'x', tag: 'y', fsLayers: [] }),
    ).toThrow(
      expect.objectContaining({
        code: 'UNSUPPORTED_MEDIA_TYPE',
        hint: expect.stringMatching(/schema 2/),
      }),
    );
  });

  it('rejects text that is not JSON', () => {
    expect(() => parseImageManifest('{"schemaVersion":')).toThrow(
      expect.objectContaining({ code: 'INVALID_JSON' }),
    );
  });

  it('counts further problems in the message', () => {
    const error = expectInvalid(() => parseImageManifest({ schemaVersion: 2 }), 'config');
    expect(error.issues.length).toBe(2);
    expect(error.message).toMatch(/and 1 more problems/);
  });
});

describe('parseImageIndex', () => {
  it('parses an OCI index with platforms', () => {
    const index = parseImageIndex(ociIndex());
    expect(index.manifests[1]?.platform).toEqual({
      os: 'linux',
      architecture: 'arm64',
      variant: 'v8',
    });
  });

  it('parses a Docker manifest list', () => {
    const index = parseImageIndex({
      schemaVersion: 2,
      mediaType: MediaType.DockerManifestList,
      manifests: [
        {
          mediaType: MediaType.DockerManifest,
          size: 10,
          digest: D1,
          platform: { architecture: 'amd64', os: 'linux' },
        },
      ],
    });
    expect(index.manifests[0]?.platform?.architecture).toBe('amd64');
  });

  it('requires a platform in Docker manifest list entries', () => {
    expectInvalid(
      () =>
        parseImageIndex({
          schemaVersion: 2,
          mediaType: MediaType.DockerManifestList,
          manifests: [{ mediaType: MediaType.DockerManifest, size: 10, digest: D1 }],
        }),
      'manifests[0].platform',
    );
  });

  it('names the bad entry', () => {
    const document = ociIndex();
    (document.manifests as Array<Record<string, unknown>>)[1]!.digest = 'nope';
    expectInvalid(() => parseImageIndex(document), 'manifests[1].digest');
  });
});

describe('parseManifestDocument', () => {
  it.each([
    ['the Content-Type', { ...ociIndex(), mediaType: undefined }, MediaType.OciIndex, 'index'],
    [
      'the Content-Type with parameters',
      ociManifest(),
      `${MediaType.OciManifest}; charset=utf-8`,
      'manifest',
    ],
    ['the mediaType field', dockerManifest(), undefined, 'manifest'],
    ['the mediaType field over a generic Content-Type', ociIndex(), 'application/json', 'index'],
    ['the shape of an index', { ...ociIndex(), mediaType: undefined }, undefined, 'index'],
    ['the shape of a manifest', { ...ociManifest(), mediaType: undefined }, undefined, 'manifest'],
  ])('picks the kind from %s', (_name, document, mediaType, kind) => {
    const parsed = parseManifestDocument(JSON.stringify(document), mediaType);
    expect(parsed.kind).toBe(kind);
    if (parsed.kind === 'index') expect(parsed.index.manifests).toHaveLength(2);
    else expect(parsed.manifest.config.digest).toBe(D1);
  });

  it('rejects a mediaType that contradicts the Content-Type', () => {
    expect(() => parseManifestDocument(ociManifest(), MediaType.OciIndex)).toThrow(
      expect.objectContaining({
        code: 'INVALID_DOCUMENT',
        message: expect.stringMatching(/declares .* but was served as/),
      }),
    );
  });

  it('rejects unknown manifest media types', () => {
    const document = { ...ociManifest(), mediaType: 'application/vnd.example+json' };
    expect(() => parseManifestDocument(document)).toThrow(
      expect.objectContaining({ code: 'UNSUPPORTED_MEDIA_TYPE' }),
    );
  });
});

describe('parseImageConfig', () => {
  const config = {
    created: '2024-01-01T00:00:00Z',
    architecture: 'amd64',
    os: 'linux',
    config: {
      User: '1000:1000',
      Env: ['PATH=/usr/bin'],
      Entrypoint: null,
      Cmd: ['sh'],
      ExposedPorts: { '80/tcp': {} },
      Volumes: { '/data': {} },
      Labels: null,
      OnBuild: null,
      Healthcheck: { Test: ['CMD', 'true'], Interval: 30_000_000_000, Retries: 3 },
      StopSignal: 'SIGTERM',
      Hostname: 'legacy',
    },
    rootfs: { type: 'layers', diff_ids: [D1, D2] },
    history: [
      { created_by: '/bin/sh -c #(nop) ADD file:x', empty_layer: false },
      { created_by: 'CMD', empty_layer: true },
    ],
    docker_version: '24.0.0',
  };

  it('parses Docker nulls as unset and keeps unknown fields', () => {
    const parsed = parseImageConfig(JSON.stringify(config));
    expect(parsed.config?.Entrypoint).toBeUndefined();
    expect(parsed.config).toBeDefined();
    expect(Object.keys(parsed.config!)).not.toContain('Labels');
    expect(parsed.config?.Cmd).toEqual(['sh']);
    expect(parsed.config?.Healthcheck?.Interval).toBe(30_000_000_000);
    expect(parsed.config?.['Hostname']).toBe('legacy');
    expect(parsed['docker_version']).toBe('24.0.0');
    expect(parsed.rootfs.diff_ids).toEqual([D1, D2]);
    expect(parsed.history?.[1]?.empty_layer).toBe(true);
  });

  it.each([
    ['rootfs.type', { ...config, rootfs: { type: 'snapshot', diff_ids: [] } }],
    ['rootfs.diff_ids[1]', { ...config, rootfs: { type: 'layers', diff_ids: [D1, 'x'] } }],
    ['architecture', { ...config, architecture: '' }],
    ['os', { ...config, os: undefined }],
    ['config.Env[0]', { ...config, config: { Env: [1] } }],
    ['config.Healthcheck.Retries', { ...config, config: { Healthcheck: { Retries: -1 } } }],
    ['history[0].empty_layer', { ...config, history: [{ empty_layer: 'yes' }] }],
  ])('names the field %s', (path, document) => {
    expectInvalid(() => parseImageConfig(document), path);
  });

  it('round-trips through JSON without losing fields', () => {
    const parsed = parseImageConfig(config);
    const again = parseImageConfig(JSON.stringify(parsed));
    expect(again).toEqual(parsed);
    expect(sha256Digest(JSON.stringify(again))).toBe(sha256Digest(JSON.stringify(parsed)));
  });
});

describe('parseOciLayoutFile', () => {
  it('parses the layout version', () => {
    expect(parseOciLayoutFile('{"imageLayoutVersion":"1.0.0"}').imageLayoutVersion).toBe('1.0.0');
  });

  it('rejects a missing version', () => {
    expect(() => parseOciLayoutFile('{}')).toThrow(OciSpecError);
  });
});
