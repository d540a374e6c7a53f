#!/bin/sh
# Builds Kiln's executor image with Kiln itself and writes it to an OCI image layout.
#   examples/executor-image/build.sh OUT_LAYOUT_DIR [more kiln build flags, e.g. --destination REF]
# Needs: Node 20 on the host, the workspace's dependencies installed, ldd, and gcc with a static
# C library (Debian's libc6-dev) for kiln-setid.
set -eu

repo=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:?usage: build.sh OUT_LAYOUT_DIR [kiln build flags]}
shift

ctx=$(mktemp -d "${TMPDIR:-/tmp}/kiln-executor-XXXXXX")
trap 'rm -rf "$ctx"' EXIT
root=$ctx/rootfs
mkdir -p "$root/kiln/bin" "$root/usr/bin" "$root/usr/lib" "$root/usr/lib64" "$root/etc" \
  "$root/tmp" "$root/workspace" "$root/root"
chmod 1777 "$root/tmp"
# The same merged-/usr layout as Debian, so library paths from ldd resolve inside the image.
ln -s usr/bin "$root/bin"
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\n' > "$root/etc/group"

# One ESM file with every workspace package and dependency; native addons are copied beside
# it. The banner gives bundled CommonJS modules (undici, commander, the xattr addon loader) the
# `require`, `__filename` and `__dirname` that ESM output lacks.
"$repo/apps/cli/node_modules/.bin/esbuild" "$repo/apps/cli/src/main.ts" \
  --bundle --platform=node --format=esm --target=node20 \
  --conditions=@kiln/source --log-level=warning --loader:.node=copy \
  --banner:js="import { createRequire as kilnCreateRequire } from 'node:module'; import { fileURLToPath as kilnFileURLToPath } from 'node:url'; const require = kilnCreateRequire(import.meta.url); const __filename = kilnFileURLToPath(import.meta.url); const __dirname = kilnFileURLToPath(new URL('.', import.meta.url));" \
  --outfile="$root/kiln/kiln.mjs"

# Copies the shared libraries that a host executable loads (as ldd lists them) into the image.
copy_libraries() {
  ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
    while read -r library; do
      mkdir -p "$root$(dirname "$library")"
      cp -L "$library" "$root$library"
    done
}

# Copies a host program and the shared libraries it loads into the image.
copy_program() {
  source=$(readlink -f "$(command -v "$1")")
  cp "$source" "$root$2"
  copy_libraries "$source"
}

copy_program node /kiln/bin/node
# The RUN sandbox (chroot isolation) runs these host tools around the command.
copy_program sh /usr/bin/sh
for tool in unshare setpriv env mount mkdir ln perl; do copy_program "$tool" "/usr/bin/$tool"; done
# git serves git contexts and ADD of git repositories; ssh-agent and ssh-add serve --ssh with key files.
for tool in git ssh-agent ssh-add; do copy_program "$tool" "/usr/bin/$tool"; done
# git starts programs from its exec path: git-remote-http(s) for https URLs and the dashed names of
# builtins (git-upload-pack for local clones). cp -a keeps their links to git; the templates seed .git.
git_exec_path=$(git --exec-path)
mkdir -p "$root$(dirname "$git_exec_path")" "$root/usr/share/git-core"
cp -a "$git_exec_path" "$root$git_exec_path"
find "$git_exec_path" -type f -perm -u+x | while read -r program; do
  if head -c 4 "$program" | grep -q ELF; then copy_libraries "$program"; fi
done
cp -a /usr/share/git-core/templates "$root/usr/share/git-core/templates"
# libcurl in git-remote-https verifies servers against the system's CA bundle.
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  mkdir -p "$root/etc/ssl/certs"
  cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
fi
# --isolation=none replaces / with each stage's base image, so what RUN needs then lives under
# /kiln and needs no library from /usr: kiln-setid is linked statically.
gcc -static -O2 -Wall -Wextra -o "$root/kiln/bin/kiln-setid" "$(dirname "$0")/kiln-setid.c"
printf '#!/bin/sh\nexec /kiln/bin/node /kiln/kiln.mjs "$@"\n' > "$root/kiln/bin/kiln"
chmod 755 "$root/kiln/bin/kiln"

cp "$(dirname "$0")/Dockerfile" "$ctx/Dockerfile"
"$root/kiln/bin/node" "$root/kiln/kiln.mjs" build --context "$ctx" --no-push \
  --destination kiln/executor:latest --oci-layout-path "$out" --reproducible "$@"
