import { Command } from 'commander';
import { parseDuration, parseSize } from './cache-flags.js';
import { formatBuildError } from './failure-report.js';
import { collect, parseBuildArgs, parseRegistryMap } from './flag-values.js';
import type { CliIo } from './program.js';
import { ExitCode } from './run-build.js';
import { UsageError } from './usage-error.js';

interface WarmFlags {
  cacheDir: string;
  image: string[];
  dockerfile: string[];
  buildArg: string[];
  customPlatform?: string;
  insecurePull: boolean;
  insecureRegistry: string[];
  skipTlsVerifyPull: boolean;
  registryMap: string[];
}

interface PruneFlags {
  cacheDir: string;
  maxSize?: string;
  maxAge?: string;
}

/** Declares `kiln warm` and `kiln cache prune`, which fill and trim a `--cache-dir`. */
export function defineCacheCommands(io: CliIo, setExitCode: (code: number) => void): Command[] {
  const warm = new Command('warm')
    .description(
      'Pull base images into a cache directory, so that builds with --cache-dir pull nothing.',
    )
    .requiredOption('--cache-dir <dir>', 'cache directory to fill (base images go to <dir>/base)')
    .option('--image <ref>', 'image to pull; repeatable', collect, [])
    .option(
      '--dockerfile <file>',
      "pull the images of this Dockerfile's FROM lines; repeatable",
      collect,
      [],
    )
    .option(
      '--build-arg <key=value>',
      'value of a global ARG that a FROM line uses; repeatable',
      collect,
      [],
    )
    .option(
      '--custom-platform <os/arch[/variant]>',
      'platform to pull (default: the host platform)',
    )
    .option('--insecure-pull', 'pull over plain HTTP', false)
    .option(
      '--insecure-registry <host>',
      'registry (host:port) to reach over plain HTTP; repeatable',
      collect,
      [],
    )
    .option('--skip-tls-verify-pull', 'do not verify TLS certificates when pulling', false)
    .option(
      '--registry-map <from=to>',
      'pull images of registry FROM from host TO; repeatable',
      collect,
      [],
    )
    .action(async (flags: WarmFlags) => setExitCode(await runWarm(flags, io)));

  const prune = new Command('prune')
    .description('Remove least recently used layers from the layer cache of a cache directory.')
    .requiredOption('--cache-dir <dir>', 'cache directory whose <dir>/layers store is pruned')
    .option(
      '--max-size <size>',
      'keep the layers that fit in this size, most recently used first, like 10GB',
    )
    .option('--max-age <duration>', 'remove layers not used for this long, like 336h')
    .action(async (flags: PruneFlags) => setExitCode(await runPrune(flags, io)));
  const cache = new Command('cache').description('Manage the layer cache of a cache directory.');
  cache.addCommand(prune);
  // The program's output and exit settings reach `cache` when it is added; pass them on to `prune`.
  cache.hook('preSubcommand', () => {
    prune.copyInheritedSettings(cache);
  });
  return [warm, cache];
}

async function runWarm(flags: WarmFlags, io: CliIo): Promise<number> {
  return reportErrors(io, async () => {
    if (flags.image.length === 0 && flags.dockerfile.length === 0)
      throw new UsageError('no image to pull', 'pass --image REF or --dockerfile FILE');
    const { warmBaseImages } = await import('@kiln/engine');
    const warmed = await warmBaseImages({
      cacheDir: flags.cacheDir,
      images: flags.image,
      dockerfiles: flags.dockerfile,
      buildArgs: parseBuildArgs(flags.buildArg, io.env),
      ...(flags.customPlatform === undefined ? {} : { platform: flags.customPlatform }),
      registry: {
        insecure: flags.insecureRegistry,
        insecurePull: flags.insecurePull,
        skipTlsVerifyPull: flags.skipTlsVerifyPull,
        registryMap: parseRegistryMap(flags.registryMap, io.env.KILN_REGISTRY_MAP),
      },
    });
    for (const image of warmed) {
      const fetched =
        image.downloaded === 0 ? 'already cached' : `${image.downloaded} blobs fetched`;
      io.stdout.write(`${image.reference} ${image.digest} (${fetched})\n`);
    }
  });
}

async function runPrune(flags: PruneFlags, io: CliIo): Promise<number> {
  return reportErrors(io, async () => {
    if (flags.maxSize === undefined && flags.maxAge === undefined)
      throw new UsageError('no limit given', 'pass --max-size SIZE, --max-age DURATION or both');
    const maxBytes =
      flags.maxSize === undefined ? undefined : parseSize(flags.maxSize, '--max-size');
    const maxAgeMs =
      flags.maxAge === undefined ? undefined : parseDuration(flags.maxAge, '--max-age');
    const { pruneCacheDir } = await import('@kiln/engine');
    const result = await pruneCacheDir(flags.cacheDir, {
      ...(maxBytes === undefined ? {} : { maxBytes }),
      ...(maxAgeMs === undefined ? {} : { maxAgeMs }),
    });
    io.stdout.write(
      `Removed ${result.removedRecords} entries and ${result.removedBlobs} blobs (${result.freedBytes} bytes); ${result.keptBytes} bytes kept\n`,
    );
  });
}

async function reportErrors(io: CliIo, action: () => Promise<void>): Promise<number> {
  try {
    await action();
    return ExitCode.Success;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`kiln: ${error.message}; ${error.hint}\n`);
      return ExitCode.UsageError;
    }
    io.stderr.write(formatBuildError(error, false));
    return ExitCode.BuildError;
  }
}
