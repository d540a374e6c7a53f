import type { Command } from 'commander';
import type { BuildOptions } from '@kiln/engine';
import { collect, parseCount, splitKeyValue } from './flag-values.js';
import { UsageError } from './usage-error.js';

/** The parsed values of kaniko's TLS, certificate, mirror and retry flags. */
export interface RegistryFlags {
  skipTlsVerifyPull: boolean;
  skipTlsVerifyRegistry: string[];
  registryCertificate: string[];
  registryClientCert: string[];
  registryMirror: string[];
  skipDefaultRegistryFallback: boolean;
  pushRetry?: string;
  imageDownloadRetry?: string;
  imageFsExtractRetry?: string;
  pushIgnoreImmutableTagErrors: boolean;
  skipPushPermissionCheck: boolean;
}

/** Adds kaniko's TLS, certificate, mirror and retry flags to `kiln build`. */
export function addRegistryFlags(command: Command): Command {
  return command
    .option('--skip-tls-verify-pull', 'do not verify TLS certificates when pulling', false)
    .option(
      '--skip-tls-verify-registry <host>',
      'registry (host:port) whose TLS certificate is not verified; repeatable',
      collect,
      [],
    )
    .option(
      '--registry-certificate <host=file>',
      'PEM CA certificate file trusted for one registry; repeatable',
      collect,
      [],
    )
    .option(
      '--registry-client-cert <host=cert,key>',
      'PEM client certificate and key files for one registry; repeatable',
      collect,
      [],
    )
    .option(
      '--registry-mirror <host[/path]>',
      'mirror for docker.io pulls, tried in order before docker.io; repeatable (env KILN_REGISTRY_MIRROR, "a;b")',
      collect,
      [],
    )
    .option(
      '--skip-default-registry-fallback',
      'fail when every mirror and mapped host fails instead of pulling from the registry itself',
      false,
    )
    .option(
      '--push-retry <count>',
      'retries of a failed push request: blob uploads, mounts and manifest puts (default: 5)',
    )
    .option(
      '--image-download-retry <count>',
      'retries of a failed pull request: base image manifests and blobs (default: 5)',
    )
    .option(
      '--image-fs-extract-retry <count>',
      'retries of a failed base layer extraction (default: 0)',
    )
    .option(
      '--push-ignore-immutable-tag-errors',
      'warn instead of failing when a registry rejects a tag as immutable (MANIFEST_INVALID, TAG_INVALID or DENIED saying "immutable")',
      false,
    )
    .option(
      '--skip-push-permission-check',
      'do not check before the build that the credentials may push to each destination',
      false,
    );
}

/**
 * Turns the registry flags into registry client settings: TLS, certificates, mirrors, the
 * docker config directory (`DOCKER_CONFIG`) and separate retry counts for pushes and pulls.
 */
export function toRegistryOptions(
  flags: RegistryFlags,
  env: NodeJS.ProcessEnv,
  skipTlsVerifyPush: boolean,
): NonNullable<BuildOptions['registry']> {
  // As in kaniko, --skip-tls-verify covers pushes, --skip-tls-verify-pull pulls, and
  // --skip-tls-verify-registry both directions for the hosts it names.
  const registry: NonNullable<BuildOptions['registry']> = {
    skipTlsVerify: flags.skipTlsVerifyRegistry,
    skipTlsVerifyPull: flags.skipTlsVerifyPull,
    skipTlsVerifyPush,
  };

  if (flags.registryCertificate.length > 0) {
    registry.registryCertificates = Object.fromEntries(
      flags.registryCertificate.map((value) => splitKeyValue(value, '--registry-certificate')),
    );
  }
  if (flags.registryClientCert.length > 0) {
    registry.registryClientCerts = parseClientCerts(flags.registryClientCert);
  }

  const fromEnv = (env.KILN_REGISTRY_MIRROR ?? '').split(';').map((m) => m.trim());
  const mirrors = [...fromEnv, ...flags.registryMirror].filter((m) => m !== '');
  if (mirrors.length > 0) registry.registryMirrors = mirrors;
  if (flags.skipDefaultRegistryFallback) registry.skipDefaultRegistryFallback = true;

  const pushRetries = parseCount(flags.pushRetry, '--push-retry');
  if (pushRetries !== undefined) registry.pushRetries = pushRetries;
  const pullRetries = parseCount(flags.imageDownloadRetry, '--image-download-retry');
  if (pullRetries !== undefined) registry.pullRetries = pullRetries;
  // The environment given to the CLI, not the process's, names the docker config.
  if (env.DOCKER_CONFIG) registry.dockerConfigDir = env.DOCKER_CONFIG;
  return registry;
}

function parseClientCerts(values: string[]): Record<string, { cert: string; key: string }> {
  const certs: Record<string, { cert: string; key: string }> = {};
  for (const value of values) {
    const [host, files] = splitKeyValue(value, '--registry-client-cert');
    const [cert, key, extra] = files.split(',');
    if (!cert || !key || extra !== undefined) {
      throw new UsageError(
        `invalid --registry-client-cert value "${value}"`,
        'write it as --registry-client-cert HOST=CERT_FILE,KEY_FILE',
      );
    }
    certs[host] = { cert, key };
  }
  return certs;
}
