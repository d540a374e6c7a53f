import { describe, expect, it } from 'vitest';
import { sha256Digest } from './digest.js';
import {
  EMPTY_JSON_DIGEST,
  EMPTY_JSON_SIZE,
  isIndexMediaType,
  isLayerMediaType,
  isManifestMediaType,
  layerCompressionOf,
  layerMediaType,
  MediaType,
} from './media-types.js';

describe('media types', () => {
  it('empty JSON constants describe "{}"', () => {
    expect(sha256Digest('{}')).toBe(EMPTY_JSON_DIGEST);
    expect(EMPTY_JSON_SIZE).toBe(2);
  });

  it.each([
    [MediaType.OciLayer, 'none'],
    [MediaType.OciLayerGzip, 'gzip'],
    [MediaType.OciLayerZstd, 'zstd'],
    [MediaType.DockerLayerGzip, 'gzip'],
    [MediaType.DockerForeignLayerGzip, 'gzip'],
    [MediaType.OciConfig, undefined],
  ])('compression of %s is %s', (mediaType, compression) => {
    expect(layerCompressionOf(mediaType)).toBe(compression);
    expect(isLayerMediaType(mediaType)).toBe(compression !== undefined);
  });

  it('layerMediaType round-trips with layerCompressionOf', () => {
    for (const family of ['oci', 'docker'] as const) {
      for (const compression of ['none', 'gzip', 'zstd'] as const) {
        expect(layerCompressionOf(layerMediaType(compression, family))).toBe(compression);
      }
    }
    expect(layerMediaType('gzip')).toBe(MediaType.OciLayerGzip);
    expect(layerMediaType('gzip', 'docker')).toBe(MediaType.DockerLayerGzip);
  });

  it('classifies manifests and indexes', () => {
    expect(isManifestMediaType(MediaType.DockerManifest)).toBe(true);
    expect(isManifestMediaType(MediaType.OciIndex)).toBe(false);
    expect(isIndexMediaType(MediaType.DockerManifestList)).toBe(true);
    expect(isIndexMediaType(MediaType.OciManifest)).toBe(false);
  });
});
