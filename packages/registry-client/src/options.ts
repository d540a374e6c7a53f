import type { RegistryEvent } from './events.js';

/** Plain credentials, or a registry token used as-is in `Authorization: Bearer`. */
export type Credentials = { username: string; password: string } | { token: string };

/** `true` for every registry, or a list of registry hosts (`host[:port]`). */
export type HostSelector = boolean | string[];

export interface RetryOptions {
  /** Retries after the first attempt. Default 5. */
  retries?: number;
  /** First backoff delay in ms; it doubles each retry (with full jitter). Default 250. */
  baseDelayMs?: number;
  /** Upper bound of one delay in ms, also for Retry-After. Default 30000. */
  maxDelayMs?: number;
}

export interface RegistryClientOptions {
  /** Plain HTTP instead of HTTPS, for pulls and pushes. */
  insecure?: HostSelector;
  /** Plain HTTP for pulls only. */
  insecurePull?: HostSelector;
  /** Plain HTTP for pushes only. */
  insecurePush?: HostSelector;
  /** Accept any TLS certificate, for pulls and pushes. */
  skipTlsVerify?: HostSelector;
  skipTlsVerifyPull?: HostSelector;
  skipTlsVerifyPush?: HostSelector;
  /** Extra CA certificate (PEM file) per registry host, trusted beside the system CAs. */
  registryCertificates?: Record<string, string>;
  /** Client certificate and key (PEM files) per registry host. */
  registryClientCerts?: Record<string, { cert: string; key: string }>;
  /**
   * Replacement hosts per registry for pulls, tried in order before the registry itself.
   * A value may carry a path prefix: `mirror.example.com/dockerhub`. `docker.io` also matches
   * `index.docker.io`.
   */
  registryMap?: Record<string, string[]>;
  /** Mirrors for docker.io pulls, tried in order before docker.io itself. */
  registryMirrors?: string[];
  /** Do not fall back to the registry itself when every mapped host or mirror fails. */
  skipDefaultRegistryFallback?: boolean;
  /** Explicit credentials per registry host; they win over the docker config. */
  credentials?: Record<string, Credentials>;
  /** Directory with `config.json`; default `$DOCKER_CONFIG` or `~/.docker`. `false` skips it. */
  dockerConfigDir?: string | false;
  /** Retries, or a number of retries, for pulls and pushes alike. */
  retries?: number | RetryOptions;
  /** Retries of pull requests (manifests and blobs); default the `retries` count. */
  pullRetries?: number;
  /**
   * Retries of push requests (uploads, mounts, manifest puts); default the `retries` count. The
   * requests, resumed chunks and restarted uploads of one blob share this count.
   */
  pushRetries?: number;
  /** Blob transfers running at once. Default 4. */
  concurrency?: number;
  /** Bytes per PATCH when uploading in chunks; unset means one monolithic PUT per blob. */
  chunkSize?: number;
  /** Milliseconds to wait for response headers and between body chunks. Default 60000. */
  timeoutMs?: number;
  userAgent?: string;
  /** Receives progress, retry and fallback events; the client never prints. */
  onEvent?: (event: RegistryEvent) => void;
}

/** Returns true when the `HostSelector` selects `host`. */
export function selects(selector: HostSelector | undefined, host: string): boolean {
  if (selector === undefined || selector === false) return false;
  if (selector === true) return true;
  return selector.some((entry) => normalizeHost(entry) === normalizeHost(host));
}

/** Lower-cases a registry host and maps Docker Hub's aliases to `docker.io`. */
export function normalizeHost(host: string): string {
  const stripped = host
    .replace(/^[a-z]+:\/\//i, '')
    .replace(/\/.*$/, '')
    .toLowerCase();
  if (stripped === 'index.docker.io' || stripped === 'registry-1.docker.io') return 'docker.io';
  return stripped;
}
