#!/usr/bin/env bash
# Prepare a fresh Debian 12 machine with Node 20 for Kiln: the apt packages that the
# tests and the demo run (registry, skopeo, umoci, buildah, busybox-static, ...), pnpm
# through corepack, the workspace's dependencies, and a build of every package.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(docker-registry skopeo umoci buildah busybox-static jq pigz zstd podman runc
  debootstrap apache2-utils curl git ca-certificates util-linux nginx-light hyperfine time openssl
  golang-go bzip2 xz-utils iproute2 attr openssh-client
  gcc libc6-dev)

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing apt packages: ${missing[*]}; run this script as root or install them" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The npm registry that this project uses serves no corepack signatures, and CI has no
# terminal to answer corepack's download prompt.
export COREPACK_ENABLE_DOWNLOAD_PROMPT=0 COREPACK_INTEGRITY_KEYS=0 TURBO_TELEMETRY_DISABLED=1
corepack enable
pnpm --version >/dev/null
pnpm install --frozen-lockfile
pnpm build
