export { TestkitError } from './errors.js';
export { makeTempDir, removeTempDir, requireTool, runCommand } from './process.js';
export { findFreePort, probeStatus } from './ports.js';
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
