export { TestkitError } from './errors.js';
export { makeTempDir, removeTempDir, requireTool, runCommand } from './process.js';
export { findFreePort, probePort, probeStatus } from './ports.js';
export { repoRoot, cacheDir } from './paths.js';
export { startRegistry } from './registry.js';
export { busyboxLayout, pushBusybox } from './busybox.js';
export { chrootRun, skopeoCopy, skopeoInspect, umociUnpack } from './checks.js';

export type { RunOptions, RunResult } from './process.js';
export type {
  RegistryCredentials,
  RegistryTlsOptions,
  RegistryTokenAuthOptions,
  StartRegistryOptions,
  TestRegistry,
} from './registry.js';
export type { BusyboxLayout } from './busybox.js';
export type {
  ChrootRunOptions,
  SkopeoAuthOptions,
  SkopeoCopyOptions,
  SkopeoInspectOptions,
} from './checks.js';
export { makeTlsFixtures, makeTokenSigningKey } from './tls.js';
export { parseScope, startTokenServer } from './token-server.js';
export { startFaultProxy } from './fault-proxy.js';
export type { TlsFixtures } from './tls.js';
export type {
  StartTokenServerOptions,
  TestTokenServer,
  TokenRequestRecord,
  TokenScope,
} from './token-server.js';
export type { Fault, FaultProxy, FaultRule, ProxyLogEntry } from './fault-proxy.js';
export { makeRandomImage } from './random-image.js';
export type { BlobFile, RandomImage, RandomImageOptions } from './random-image.js';
export { debianLayout, pushDebian } from './debian/debian.js';
export type { DebianLayout, DebianLayoutOptions } from './debian/debian.js';
export { buildahBudArgs, buildahBuild, createBuildahStorage } from './buildah/buildah.js';
export type { BuildahBuildOptions, BuildahBuildResult, BuildahStorage } from './buildah/buildah.js';
export { compareImages, compareTrees, formatDifference } from './compare/compare.js';
export type {
  CompareImagesOptions,
  EntryDifference,
  ImageComparison,
  ImageDifference,
  ImageSide,
  PresenceDifference,
} from './compare/compare.js';
export { compareConfigs } from './compare/config-diff.js';
export type { ConfigDifference, ConfigField } from './compare/config-diff.js';
export { BUILD_NOISE_IGNORES, globToRegExp } from './compare/ignore.js';
export type { IgnoreRule } from './compare/ignore.js';
export { readLayoutImage } from './compare/layout.js';
export type { LayoutImage } from './compare/layout.js';
export { readTree } from './compare/tree.js';
export type { EntryField, EntryType, TreeEntry } from './compare/tree.js';
