import { MediaType, layerCompressionOf, layerMediaType, sha256Digest } from '@kiln/oci-spec';
import type {
  ContainerConfig,
  Descriptor,
  HistoryEntry,
  ImageConfig,
  ImageManifest,
  Platform,
} from '@kiln/oci-spec';

/** Docker's default PATH, added to an image whose config has none. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The comment Kiln writes on the history entries it adds. */
const HISTORY_COMMENT = 'kiln.dockerfile.v0';

export interface AssembledImage {
  config: ImageConfig;
  configBytes: Uint8Array;
  configDescriptor: Descriptor;
  manifest: ImageManifest;
  manifestBytes: Uint8Array;
  digest: string;
  mediaType: string;
}

export interface BaseImage {
  config: ImageConfig;
  layers: Descriptor[];
}

/** An image being built: the stage's config, its layers (base first) and history, one entry per instruction. */
export class ImageBuilder {
  readonly layers: Descriptor[];
  readonly diffIds: string[];
  readonly history: HistoryEntry[];
  /** The runtime config (Env, Cmd, ...) that instructions change. */
  containerConfig: ContainerConfig;
  /** MAINTAINER of the image, kept from the base unless the Dockerfile sets one. */
  author: string | undefined;
  private readonly platform: Platform;

  constructor(
    base: BaseImage | undefined,
    platform: Platform,
    private readonly created: string,
  ) {
    this.layers = (base?.layers ?? []).map(toOciLayerDescriptor);
    this.diffIds = [...(base?.config.rootfs.diff_ids ?? [])];
    this.history = [...(base?.config.history ?? [])];
    this.containerConfig = structuredClone(base?.config.config ?? {});
    this.author = base?.config.author;
    this.platform = base
      ? {
          os: base.config.os,
          architecture: base.config.architecture,
          ...(base.config.variant ? { variant: base.config.variant } : {}),
        }
      : platform;
    const env = this.containerConfig.Env ?? [];
    if (!env.some((entry) => entry.startsWith('PATH=')))
      this.containerConfig.Env = [...env, `PATH=${DEFAULT_PATH}`];
  }

  addLayer(
    layer: { digest: string; size: number; diffId: string; mediaType: string },
    createdBy: string,
  ): void {
    this.layers.push({ mediaType: layer.mediaType, digest: layer.digest, size: layer.size });
    this.diffIds.push(layer.diffId);
    this.history.push({ created: this.created, created_by: createdBy, comment: HISTORY_COMMENT });
  }

  addEmptyLayerHistory(createdBy: string): void {
    this.history.push({
      created: this.created,
      created_by: createdBy,
      comment: HISTORY_COMMENT,
      empty_layer: true,
    });
  }

  /**
   * Serialises config and manifest; the manifest digest is the image's identity. `docker` writes
   * Docker's v2 schema 2 media types for manifest, config and layers (the blobs stay the same).
   */
  assemble(mediaTypes: 'oci' | 'docker' = 'oci'): AssembledImage {
    const docker = mediaTypes === 'docker';
    const config: ImageConfig = {
      created: this.created,
      ...(this.author === undefined ? {} : { author: this.author }),
      architecture: this.platform.architecture,
      os: this.platform.os,
      ...(this.platform.variant ? { variant: this.platform.variant } : {}),
      config: this.containerConfig,
      rootfs: { type: 'layers', diff_ids: [...this.diffIds] },
      history: [...this.history],
    };
    const configBytes = new TextEncoder().encode(JSON.stringify(config));
    const configDescriptor: Descriptor = {
      mediaType: docker ? MediaType.DockerConfig : MediaType.OciConfig,
      digest: sha256Digest(configBytes),
      size: configBytes.byteLength,
    };
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: docker ? MediaType.DockerManifest : MediaType.OciManifest,
      config: configDescriptor,
      layers: this.layers.map((layer) => withLayerFamily(layer, mediaTypes)),
    };
    const manifestBytes = new TextEncoder().encode(JSON.stringify(manifest));
    return {
      config,
      configBytes,
      configDescriptor,
      manifest,
      manifestBytes,
      digest: sha256Digest(manifestBytes),
      mediaType: manifest.mediaType as string,
    };
  }
}

/** Maps a base layer's Docker media type to its OCI equivalent; the blob itself is the same. */
function toOciLayerDescriptor(layer: Descriptor): Descriptor {
  return withLayerFamily(layer, 'oci');
}

/** Gives a layer descriptor the media type of `family` for its compression; foreign layers keep theirs. */
function withLayerFamily(layer: Descriptor, family: 'oci' | 'docker'): Descriptor {
  const compression = layerCompressionOf(layer.mediaType);
  const mediaType =
    compression === undefined ? layer.mediaType : layerMediaType(compression, family);
  return { mediaType, digest: layer.digest, size: layer.size };
}
