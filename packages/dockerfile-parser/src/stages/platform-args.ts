/** A target or build platform, in OCI terms. */
export interface PlatformSpec {
  os: string;
  architecture: string;
  variant?: string;
}

/** Proxy build args: usable by RUN without an ARG line, and kept out of the image history. */
export const PROXY_ARGS: readonly string[] = [
  'HTTP_PROXY',
  'http_proxy',
  'HTTPS_PROXY',
  'https_proxy',
  'FTP_PROXY',
  'ftp_proxy',
  'NO_PROXY',
  'no_proxy',
  'ALL_PROXY',
  'all_proxy',
];

function formatPlatform(platform: PlatformSpec): string {
  const base = `${platform.os}/${platform.architecture}`;
  return platform.variant ? `${base}/${platform.variant}` : base;
}

/**
 * Returns the platform args Docker defines in the global scope (usable in FROM without an ARG line,
 * and inside a stage after `ARG NAME`): TARGETPLATFORM, TARGETOS, TARGETARCH, TARGETVARIANT
 * and the same for BUILD.
 */
export function platformArgs(
  target: PlatformSpec,
  build: PlatformSpec = target,
): Record<string, string> {
  return {
    BUILDPLATFORM: formatPlatform(build),
    BUILDOS: build.os,
    BUILDARCH: build.architecture,
    BUILDVARIANT: build.variant ?? '',
    TARGETPLATFORM: formatPlatform(target),
    TARGETOS: target.os,
    TARGETARCH: target.architecture,
    TARGETVARIANT: target.variant ?? '',
  };
}

const NODE_ARCH: Readonly<Record<string, string>> = {
  x64: 'amd64',
  ia32: '386',
  arm64: 'arm64',
  arm: 'arm',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
};

/** Linux on the CPU architecture of the running process; used when no platform is given. */
export function defaultPlatform(): PlatformSpec {
  const architecture = NODE_ARCH[process.arch] ?? process.arch;
  const os = 'linux';
  return architecture === 'arm' ? { os, architecture, variant: 'v7' } : { os, architecture };
}
