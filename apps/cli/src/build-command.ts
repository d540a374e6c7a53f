import { Command, Option } from 'commander';
import { parseSshSpec } from '@kiln/engine';
import type { BuildOptions, SshSource } from '@kiln/engine';
import { parseReference } from '@kiln/oci-spec';
import {
  collect,
  parseBuildArgs,
  parseLabels,
  parseRegistryMap,
  parseSecrets,
} from './flag-values.js';
import { addCacheFlags, toCacheOptions } from './cache-flags.js';
import type { CacheFlags } from './cache-flags.js';
import { addModeFlags, toModeOptions } from './mode-flags.js';
import type { ModeFlags } from './mode-flags.js';
import { addPluginFlags, toPluginOptions } from './plugin-flags.js';
import type { PluginFlags } from './plugin-flags.js';
import { addRegistryFlags, toRegistryOptions } from './registry-flags.js';
import type { RegistryFlags } from './registry-flags.js';
import { VERBOSITY_LEVELS } from './render-events.js';
import type { Verbosity } from './render-events.js';
import { UsageError } from './usage-error.js';

/** The parsed values of `kiln build`'s flags, as commander returns them. */
export interface BuildFlags extends RegistryFlags, ModeFlags, CacheFlags, PluginFlags {
  context: string;
  dockerfile?: string;
  destination: string[];
  buildArg: string[];
  target?: string;
  push: boolean;
  tarPath?: string;
  ociLayoutPath?: string;
  digestFile?: string;
  imageNameWithDigestFile?: string;
  imageNameTagWithDigestFile?: string;
  ignorePath: string[];
  secret: string[];
  ssh: string[];
  insecure: boolean;
  insecurePull: boolean;
  insecureRegistry: string[];
  skipTlsVerify: boolean;
  registryMap: string[];
  reproducible: boolean;
  compression: 'gzip' | 'zstd';
  compressionLevel?: string;
  customPlatform?: string;
  verbosity: Verbosity;
  label: string[];
}

/** Declares `kiln build` and its flags, with kaniko's names and meanings; `action` runs the build. */
export function defineBuildCommand(action: (flags: BuildFlags) => Promise<void>): Command {
  const command = new Command('build')
    .description('Build an image from a Dockerfile and push it or write it to files.')
    .option(
      '-c, --context <location>',
      'build context: a directory, a .tar/.tar.gz file, tar://PATH, tar://stdin, a git URL (URL.git#REF:DIR) or a plugin URL',
      '.',
    )
    .option('-f, --dockerfile <path>', 'path of the Dockerfile (default: <context>/Dockerfile)')
    .option(
      '-d, --destination <ref>',
      'registry reference to push to; repeat for several (required unless --no-push)',
      collect,
      [],
    )
    .option(
      '--build-arg <key=value>',
      'build argument; KEY alone takes the value from the environment; repeatable',
      collect,
      [],
    )
    .option('--target <stage>', 'name or index of the stage to build (default: the last stage)')
    .option('--no-push', 'build without pushing to the destinations (env KILN_NO_PUSH=true)')
    .option('--tar-path <file>', 'write the image as a `docker load` tarball to this file')
    .option(
      '--oci-layout-path <dir>',
      'write the image into this OCI image layout directory (created or added to)',
    )
    .option('--digest-file <file>', 'write the image manifest digest to this file')
    .option(
      '--image-name-with-digest-file <file>',
      'write REGISTRY/REPO@DIGEST for each destination to this file',
    )
    .option(
      '--image-name-tag-with-digest-file <file>',
      'write REGISTRY/REPO:TAG@DIGEST for each destination to this file',
    )
    .option(
      '--ignore-path <path>',
      'path in the image that RUN snapshots leave out; repeatable',
      collect,
      [],
    )
    .option(
      '--secret <id=ID,src=FILE>',
      'secret for RUN --mount=type=secret (src=FILE or env=VARIABLE); repeatable',
      collect,
      [],
    )
    .option(
      '--ssh <default|ID=SOCKET|ID=KEY[,KEY]>',
      'SSH agent for RUN --mount=type=ssh: $SSH_AUTH_SOCK, an agent socket, or key files; repeatable',
      collect,
      [],
    )
    .option('--insecure', 'push to registries over plain HTTP', false)
    .option('--insecure-pull', 'pull base images over plain HTTP', false)
    .option(
      '--insecure-registry <host>',
      'registry (host:port) to reach over plain HTTP; repeatable',
      collect,
      [],
    )
    .option('--skip-tls-verify', 'do not verify registry TLS certificates when pushing', false)
    .option(
      '--registry-map <from=to>',
      'pull images of registry FROM from host TO; repeatable (env KILN_REGISTRY_MAP, "a=b;c=d")',
      collect,
      [],
    )
    .option(
      '--reproducible',
      'fix timestamps (created, history, file mtimes) so the same inputs give the same digest',
      false,
    )
    .option(
      '--custom-platform <os/arch[/variant]>',
      'platform of the image, for example linux/arm64/v8 (default: the host platform)',
    )
    .addOption(
      new Option('--compression <type>', 'compression of the layers the build writes')
        .choices(['gzip', 'zstd'])
        .default('gzip'),
    )
    .option(
      '--compression-level <level>',
      'compression level: gzip 0-9 (default: 6), zstd 1-22 (default: 3)',
    )
    .addOption(
      new Option('--verbosity <level>', 'log level').choices(VERBOSITY_LEVELS).default('info'),
    )
    .option('--label <key=value>', 'label to set on the image; repeatable', collect, []);
  addRegistryFlags(command);
  addModeFlags(command);
  addCacheFlags(command);
  addPluginFlags(command);
  return command.action(async (flags: BuildFlags) => action(flags));
}

/** Rejects a destination that is not a valid image reference before any step runs. */
function checkDestination(destination: string): void {
  try {
    parseReference(destination);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new UsageError(
      `invalid --destination "${destination}": ${reason}`,
      'write it as REGISTRY/REPOSITORY:TAG with a lower-case repository, for example 127.0.0.1:5000/team/app:1.0',
    );
  }
}

const PLATFORM_SHAPE = /^[a-z0-9._-]+\/[a-z0-9._-]+(\/[a-z0-9._-]+)?$/i;

/** Turns the flags into engine options, checking what commander cannot. */
export function toBuildOptions(flags: BuildFlags, env: NodeJS.ProcessEnv): BuildOptions {
  const noPush = !flags.push || env.KILN_NO_PUSH === 'true';
  if (!noPush && flags.destination.length === 0) {
    throw new UsageError(
      'no --destination given',
      'pass --destination REGISTRY/REPO:TAG, or --no-push to only build',
    );
  }
  for (const destination of flags.destination) checkDestination(destination);
  const mode = toModeOptions(flags);
  const cache = toCacheOptions(flags);
  // The engine checks the names; this only rejects what cannot be a platform at all.
  if (typeof mode.platform === 'string' && !PLATFORM_SHAPE.test(mode.platform)) {
    throw new UsageError(
      `invalid --custom-platform "${mode.platform}"`,
      'write it as OS/ARCH[/VARIANT], for example linux/amd64',
    );
  }
  const level = flags.compressionLevel === undefined ? undefined : Number(flags.compressionLevel);
  const maxLevel = flags.compression === 'zstd' ? 22 : 9;
  const minLevel = flags.compression === 'zstd' ? 1 : 0;
  if (level !== undefined && (!Number.isInteger(level) || level < minLevel || level > maxLevel)) {
    throw new UsageError(
      `invalid --compression-level "${flags.compressionLevel}"`,
      `give an integer from ${minLevel} to ${maxLevel} for ${flags.compression}`,
    );
  }
  return {
    context: mode.context,
    ...(mode.contextSubPath === undefined ? {} : { contextSubPath: mode.contextSubPath }),
    compression: flags.compression,
    ...(level === undefined ? {} : { compressionLevel: level }),
    ...(flags.dockerfile === undefined ? {} : { dockerfile: flags.dockerfile }),
    destinations: flags.destination,
    buildArgs: parseBuildArgs(flags.buildArg, env),
    ...(flags.target === undefined ? {} : { target: flags.target }),
    noPush,
    ...(flags.tarPath === undefined ? {} : { tarPath: flags.tarPath }),
    ...(flags.ociLayoutPath === undefined ? {} : { ociLayoutPath: flags.ociLayoutPath }),
    ...(flags.digestFile === undefined ? {} : { digestFile: flags.digestFile }),
    ...(flags.imageNameWithDigestFile === undefined
      ? {}
      : { imageNameWithDigestFile: flags.imageNameWithDigestFile }),
    ...(flags.imageNameTagWithDigestFile === undefined
      ? {}
      : { imageNameTagWithDigestFile: flags.imageNameTagWithDigestFile }),
    ignorePaths: flags.ignorePath,
    secrets: parseSecrets(flags.secret),
    ...(flags.ssh.length === 0 ? {} : { ssh: flags.ssh.map(parseSshFlag) }),
    labels: parseLabels(flags.label),
    insecure: flags.insecure,
    insecurePull: flags.insecurePull,
    insecureRegistries: flags.insecureRegistry,
    skipTlsVerify: flags.skipTlsVerify,
    registryMap: parseRegistryMap(flags.registryMap, env.KILN_REGISTRY_MAP),
    ...(mode.platform === undefined ? {} : { platform: mode.platform }),
    ...(mode.isolation === undefined ? {} : { isolation: mode.isolation }),
    ...(mode.imageFsExtractRetry === undefined
      ? {}
      : { imageFsExtractRetry: mode.imageFsExtractRetry }),
    registry: toRegistryOptions(flags, env, flags.skipTlsVerify),
    singleSnapshot: flags.singleSnapshot,
    snapshotMode: flags.snapshotMode,
    checkPushPermission: !flags.skipPushPermissionCheck,
    pushIgnoreImmutableTagErrors: flags.pushIgnoreImmutableTagErrors,
    reproducible: flags.reproducible,
    ...(cache === undefined ? {} : { cache }),
    ...(env.KILN_DIR ? { workDir: env.KILN_DIR } : {}),
    ...toPluginOptions(flags, process.cwd()),
  };
}

/** Parses one `--ssh` value, reporting a malformed one as a usage error. */
function parseSshFlag(value: string): SshSource {
  try {
    return parseSshSpec(value);
  } catch {
    throw new UsageError(
      `invalid --ssh value "${value}"`,
      'write it as --ssh default, --ssh ID=SOCKET or --ssh ID=KEYFILE[,KEYFILE]',
    );
  }
}
