import { arch as hostArch, endianness } from 'node:os';
import type { Descriptor, Platform } from './descriptor.js';
import { OciSpecError } from './errors.js';
import type { ImageIndex } from './manifest.js';

// Known values follow Go's GOOS and GOARCH lists, as containerd's platforms package does.
const KNOWN_OS = new Set([
  'aix',
  'android',
  'darwin',
  'dragonfly',
  'freebsd',
  'hurd',
  'illumos',
  'ios',
  'js',
  'linux',
  'nacl',
  'netbsd',
  'openbsd',
  'plan9',
  'solaris',
  'wasip1',
  'windows',
  'zos',
]);
const KNOWN_ARCH = new Set([
  '386',
  'amd64',
  'amd64p32',
  'arm',
  'armbe',
  'arm64',
  'arm64be',
  'loong64',
  'mips',
  'mipsle',
  'mips64',
  'mips64le',
  'mips64p32',
  'mips64p32le',
  'ppc',
  'ppc64',
  'ppc64le',
  'riscv',
  'riscv64',
  's390',
  's390x',
  'sparc',
  'sparc64',
  'wasm',
]);
const ARCH_ALIASES: Record<string, string> = {
  i386: '386',
  x86_64: 'amd64',
  'x86-64': 'amd64',
  aarch64: 'arm64',
  armhf: 'arm',
  armel: 'arm',
};

const PLATFORM_HINT =
  'Write a platform as OS/ARCH[/VARIANT], for example "linux/amd64" or "linux/arm/v7".';
const COMPONENT = /^[A-Za-z0-9_.-]+$/;

function normalizeArchitecture(
  architecture: string,
  variant: string,
): { architecture: string; variant: string } {
  let arch = architecture.toLowerCase();
  let v = variant.toLowerCase();
  if (arch === 'armhf') v = 'v7';
  if (arch === 'armel') v = 'v6';
  if (arch === 'i386') v = '';
  arch = ARCH_ALIASES[arch] ?? arch;

  if (arch === 'amd64' && v === 'v1') v = '';
  if (arch === 'arm64') {
    // arm64 without a variant means ARMv8.0; images and indexes are written with "v8".
    if (v === '' || v === '8' || v === 'v8.0') v = 'v8';
    else if (v === '9' || v === '9.0' || v === 'v9.0') v = 'v9';
  }
  if (arch === 'arm') {
    if (v === '' || v === '7') v = 'v7';
    else if (v === '5' || v === '6' || v === '8') v = `v${v}`;
  }
  return { architecture: arch, variant: v };
}

/**
 * Returns the platform in canonical form: lower case, `x86_64` as `amd64`, `aarch64` as `arm64`
 * with variant `v8`, `arm` with variant `v7` when none is given, `amd64/v1` as plain `amd64`.
 */
export function normalizePlatform(platform: Platform): Platform {
  let os = platform.os.toLowerCase();
  if (os === 'macos') os = 'darwin';
  const { architecture, variant } = normalizeArchitecture(
    platform.architecture,
    platform.variant ?? '',
  );
  const normalized: Platform = { os, architecture };
  if (variant !== '') normalized.variant = variant;
  if (platform['os.version'] !== undefined) normalized['os.version'] = platform['os.version'];
  if (platform['os.features'] !== undefined)
    normalized['os.features'] = [...platform['os.features']];
  if (platform.features !== undefined) normalized.features = [...platform.features];
  return normalized;
}

/** Returns the platform this process runs on, normalised (`linux/amd64`, `linux/arm64/v8`, ...). */
export function hostPlatform(): Platform {
  const nodeArch: Record<string, string> = {
    x64: 'amd64',
    ia32: '386',
    arm: 'arm',
    arm64: 'arm64',
  };
  let architecture = nodeArch[hostArch()] ?? hostArch();
  if (architecture === 'ppc64' && endianness() === 'LE') architecture = 'ppc64le';
  let variant: string | undefined;
  if (architecture === 'arm') {
    const armVersion = (process.config.variables as Record<string, unknown>)['arm_version'];
    if (typeof armVersion === 'string' && /^[5-8]$/.test(armVersion)) variant = `v${armVersion}`;
  }
  const os = process.platform === 'win32' ? 'windows' : process.platform;
  return normalizePlatform(
    variant === undefined ? { os, architecture } : { os, architecture, variant },
  );
}

function invalidPlatform(input: string, reason: string): OciSpecError {
  return new OciSpecError(
    'INVALID_PLATFORM',
    `invalid platform ${JSON.stringify(input)}: ${reason}`,
    {
      hint: PLATFORM_HINT,
    },
  );
}

/**
 * Parses `os`, `arch`, `os/arch` or `os/arch/variant` (with an optional `os(version)`), and
 * normalises the result. A lone OS takes the host's architecture and a lone architecture takes `linux`.
 */
export function parsePlatform(specifier: string): Platform {
  if (typeof specifier !== 'string' || specifier.trim() === '')
    throw invalidPlatform(String(specifier), 'empty');
  const parts = specifier.trim().split('/');
  if (parts.length > 3) throw invalidPlatform(specifier, 'more than three "/"-separated parts');

  let osVersion: string | undefined;
  const osMatch = /^([^()]+)\(([^()]*)\)$/.exec(parts[0]!);
  if (osMatch !== null) {
    parts[0] = osMatch[1]!;
    osVersion = osMatch[2];
  }
  for (const part of parts) {
    if (!COMPONENT.test(part))
      throw invalidPlatform(specifier, `invalid component ${JSON.stringify(part)}`);
  }

  let platform: Platform;
  if (parts.length === 1) {
    const only = parts[0]!.toLowerCase();
    const asArch = ARCH_ALIASES[only] ?? only;
    if (KNOWN_OS.has(only) || only === 'macos') {
      platform = { os: only, architecture: hostPlatform().architecture };
      const hostVariant = hostPlatform().variant;
      if (hostVariant !== undefined) platform.variant = hostVariant;
    } else if (KNOWN_ARCH.has(asArch)) {
      platform = { os: 'linux', architecture: only };
    } else {
      throw invalidPlatform(specifier, `"${only}" is neither a known OS nor a known architecture`);
    }
  } else {
    platform = { os: parts[0]!, architecture: parts[1]! };
    if (parts[2] !== undefined) platform.variant = parts[2];
  }
  if (osVersion !== undefined) platform['os.version'] = osVersion;
  return normalizePlatform(platform);
}

/** Formats a platform as `os/arch[/variant]`. */
export function formatPlatform(platform: Platform): string {
  const base = `${platform.os}/${platform.architecture}`;
  return platform.variant === undefined || platform.variant === ''
    ? base
    : `${base}/${platform.variant}`;
}

function withVariant(platform: Platform, variant: string | undefined): Platform {
  const candidate: Platform = { os: platform.os, architecture: platform.architecture };
  if (variant !== undefined && variant !== '') candidate.variant = variant;
  return candidate;
}

function armFallbacks(platform: Platform, fromVersion: number): Platform[] {
  const list: Platform[] = [];
  for (let version = fromVersion; version >= 5; version--) {
    list.push({ os: platform.os, architecture: 'arm', variant: `v${version}` });
  }
  return list;
}

// arm64 variants as (major, highest minor) pairs that a CPU of each variant also runs, newest
// first; ARMv9.x includes ARMv8.(x+5), as containerd's platform matcher orders them.
function arm64Chain(variant: string): Array<[number, number]> | undefined {
  const match = /^v([89])(?:\.(\d))?$/.exec(variant);
  if (match === null) return undefined;
  const major = Number(match[1]);
  const minor = Number(match[2] ?? '0');
  if (major === 8) return [[8, minor]];
  return [
    [9, minor],
    [8, Math.min(minor + 5, 9)],
  ];
}

/**
 * Returns the platforms a host of `wanted` can run, best first: the exact platform, then older
 * variants of the same architecture, then compatible 32-bit architectures (amd64 runs 386,
 * arm64 runs arm/v8 down to arm/v5), following containerd's `platforms.Only` ordering.
 */
export function compatiblePlatforms(wanted: Platform): Platform[] {
  const platform = normalizePlatform(wanted);
  const os = platform.os;
  switch (platform.architecture) {
    case 'amd64': {
      const list = [withVariant(platform, platform.variant)];
      const level = Number(/^v(\d+)$/.exec(platform.variant ?? '')?.[1] ?? '1');
      for (let version = level - 1; version >= 1; version--)
        list.push(withVariant(platform, version === 1 ? undefined : `v${version}`));
      list.push({ os, architecture: '386' });
      return list;
    }
    case 'arm': {
      const level = Number(/^v(\d+)$/.exec(platform.variant ?? '')?.[1] ?? 'NaN');
      if (Number.isNaN(level)) return [withVariant(platform, platform.variant)];
      return armFallbacks(platform, level);
    }
    case 'arm64': {
      const chain = arm64Chain(platform.variant ?? 'v8');
      if (chain === undefined) return [withVariant(platform, platform.variant)];
      const list: Platform[] = [];
      for (const [major, highestMinor] of chain) {
        for (let minor = highestMinor; minor >= 0; minor--) {
          list.push(withVariant(platform, minor === 0 ? `v${major}` : `v${major}.${minor}`));
        }
      }
      return [...list, ...armFallbacks(platform, 8)];
    }
    default:
      return [withVariant(platform, platform.variant)];
  }
}

function samePlatform(a: Platform, b: Platform): boolean {
  return (
    a.os === b.os && a.architecture === b.architecture && (a.variant ?? '') === (b.variant ?? '')
  );
}

/** Returns true when a host of `wanted` can run an image of `candidate`, with fallbacks allowed. */
export function platformMatches(wanted: Platform, candidate: Platform): boolean {
  const normalized = normalizePlatform(candidate);
  return compatiblePlatforms(wanted).some((platform) => samePlatform(platform, normalized));
}

/**
 * Picks the best manifest for `platform` from an index: the exact platform first, then the
 * compatible fallbacks in `compatiblePlatforms` order. Among equal entries the first in the
 * index wins. Entries without a platform are skipped. Returns undefined when nothing matches.
 */
export function selectManifest(
  index: Pick<ImageIndex, 'manifests'>,
  platform: Platform,
): Descriptor | undefined {
  const preferences = compatiblePlatforms(platform);
  const wantedOsVersion = platform['os.version'];
  let best: Descriptor | undefined;
  let bestRank = Number.POSITIVE_INFINITY;
  for (const descriptor of index.manifests) {
    if (descriptor.platform === undefined) continue;
    // NOTE: os.version is compared exactly; containerd's Windows build-number matching is not implemented.
    const osVersion = descriptor.platform['os.version'];
    if (wantedOsVersion !== undefined && osVersion !== undefined && osVersion !== wantedOsVersion)
      continue;
    const candidate = normalizePlatform(descriptor.platform);
    const rank = preferences.findIndex((preference) => samePlatform(preference, candidate));
    if (rank !== -1 && rank < bestRank) {
      best = descriptor;
      bestRank = rank;
    }
  }
  return best;
}
