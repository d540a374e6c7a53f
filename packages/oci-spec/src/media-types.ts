/** Media types of the OCI image spec v1.1 and of Docker's image manifest v2 schema 2. */
export const MediaType = {
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  OciLayer: 'application/vnd.oci.image.layer.v1.tar',
  OciLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OciLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  OciLayerNondistributable: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  OciLayerNondistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  OciLayerNondistributableZstd: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  OciEmptyJson: 'application/vnd.oci.empty.v1+json',
  OciLayoutHeader: 'application/vnd.oci.layout.header.v1+json',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  DockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  DockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  DockerLayerZstd: 'application/vnd.docker.image.rootfs.diff.tar.zstd',
  DockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  DockerPluginConfig: 'application/vnd.docker.plugin.v1+json',
} as const;

export type MediaTypeName = keyof typeof MediaType;
export type KnownMediaType = (typeof MediaType)[MediaTypeName];

/** Version written to and expected in a layout's `oci-layout` file. */
export const OCI_LAYOUT_VERSION = '1.0.0';

/** Digest and size of the OCI empty JSON blob `{}`, used as config of artifacts without one. */
export const EMPTY_JSON_DIGEST =
  'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';
export const EMPTY_JSON_SIZE = 2;

export type LayerCompression = 'none' | 'gzip' | 'zstd';

const layerCompression: Record<string, LayerCompression> = {
  [MediaType.OciLayer]: 'none',
  [MediaType.OciLayerGzip]: 'gzip',
  [MediaType.OciLayerZstd]: 'zstd',
  [MediaType.OciLayerNondistributable]: 'none',
  [MediaType.OciLayerNondistributableGzip]: 'gzip',
  [MediaType.OciLayerNondistributableZstd]: 'zstd',
  [MediaType.DockerLayer]: 'none',
  [MediaType.DockerLayerGzip]: 'gzip',
  [MediaType.DockerLayerZstd]: 'zstd',
  [MediaType.DockerForeignLayerGzip]: 'gzip',
};

/** Returns true for the OCI and Docker layer media types listed in `MediaType`. */
export function isLayerMediaType(mediaType: string): boolean {
  return mediaType in layerCompression;
}

/** Returns the compression a layer media type declares, or undefined for a type that is not a layer. */
export function layerCompressionOf(mediaType: string): LayerCompression | undefined {
  return layerCompression[mediaType];
}

/** Returns the layer media type for a compression in the OCI or Docker family. */
export function layerMediaType(
  compression: LayerCompression,
  family: 'oci' | 'docker' = 'oci',
): string {
  if (family === 'docker') {
    if (compression === 'gzip') return MediaType.DockerLayerGzip;
    if (compression === 'zstd') return MediaType.DockerLayerZstd;
    return MediaType.DockerLayer;
  }
  if (compression === 'gzip') return MediaType.OciLayerGzip;
  if (compression === 'zstd') return MediaType.OciLayerZstd;
  return MediaType.OciLayer;
}

/** Returns true for manifest list / index media types (OCI and Docker). */
export function isIndexMediaType(mediaType: string): boolean {
  return mediaType === MediaType.OciIndex || mediaType === MediaType.DockerManifestList;
}

/** Returns true for single-image manifest media types (OCI and Docker). */
export function isManifestMediaType(mediaType: string): boolean {
  return mediaType === MediaType.OciManifest || mediaType === MediaType.DockerManifest;
}
