#!/usr/bin/env bash
# Build the local stage's images, push them to the local registry, and print on stdout a JSON
# map of image name -> "127.0.0.1:PORT/<project>/<repo>@sha256:<digest>" (the repository digest
# the registry holds, what a stack pins). Progress goes to stderr.
#
#   build.sh [NAME...]      default: every image in the table below
#
# Each image is keyed by the hash of its inputs: its directory's files, staged artifacts
# (fetch.sh), build arguments and, for all but the base, the base's key. An image whose key was
# built and pushed before, and whose manifest the registry still has, is skipped. The record of
# keys lives in the cache ($IMAGES_CACHE, default $XDG_CACHE_HOME/<project>/images/built), under
# a flock, so two builds never interleave. Starts the engine and registry (tools/docker/host.sh).
#
# Exit codes: 0 printed, 1 a build or push failed, 2 usage (unknown image name).
set -euo pipefail
shopt -s inherit_errexit
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
project="$(awk '/^name:/ {print $2; exit}' "$root/Pulumi.yaml")"
cache="${IMAGES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/$project/images}"
# shellcheck source-path=SCRIPTDIR
. "$here/versions.env"
PG_MAJOR="${POSTGRES_VERSION%%.*}"

# name | directory | repository:tag | build arguments (space-separated KEY=VALUE)
IMAGES="
files|files|files:$DEBIAN_SUITE|
postgres-$PG_MAJOR|postgres|postgres:$POSTGRES_VERSION|PG_MAJOR=$PG_MAJOR PG_VERSION=$POSTGRES_VERSION PG_CLIENT_MAJOR=$POSTGRES_CLIENT_MAJOR
minio|minio|minio:${MINIO_VERSION##*-}|MINIO_VERSION=$MINIO_VERSION MC_VERSION=$MC_VERSION
mc|mc|mc:${MC_VERSION##*-}|MC_VERSION=$MC_VERSION
caddy|caddy|caddy:$DEBIAN_SUITE|
app|app|app:1.0.0|APP_VERSION=1.0.0
app-v2|app|app:2.0.0|APP_VERSION=2.0.0
app-health-fault|app|app:2.0.0-health-fault|APP_VERSION=2.0.0 APP_FAULT=health
"

say() { echo "build: $*" >&2; }
row() { grep "^$1|" <<<"$IMAGES"; }

# Artifacts each directory needs besides its own files: "fetch-target:name-in-context".
artifacts() {
  case "$1" in
    base) echo "base:rootfs.tar" ;;
    postgres) echo "postgres:postgres-linux-x86_64.txz" ;;
    minio) echo "minio:minio mc:mc" ;;
    mc) echo "mc:mc" ;;
  esac
}

# Copy the directory and its artifacts into a fresh context; print the context's input hash.
stage() {
  local dir="$1" context="$2" item path
  rm -rf "$context" && mkdir -p "$context"
  cp -a "$here/$dir/." "$context/"
  [[ "$dir" == app ]] && cp "$root/examples/app/app.py" "$context/app.py"
  {
    (cd "$context" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
    for item in $(artifacts "$dir"); do
      path="$("$here/fetch.sh" "${item%%:*}")"
      # A hard link costs nothing on one file system; a copy otherwise.
      ln "$path" "$context/${item#*:}" 2>/dev/null || cp "$path" "$context/${item#*:}"
      echo "$(cat "$path.sha256")  ./${item#*:}"
    done
  } | sha256sum | cut -c1-16
}

# The registry still has this manifest (it may have been wiped since the record was written).
in_registry() {
  local ref="$1" repo digest
  repo="${ref#*/}" && repo="${repo%@*}" && digest="${ref#*@}"
  curl -fsS -o /dev/null -I \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$registry/v2/$repo/manifests/$digest" 2>/dev/null
}

base_tag=""
# The base's tag carries its key; computed once per run.
base_key() {
  [[ -n "$base_tag" ]] && return
  local key
  key="$(stage base "$cache/context/base"; printf '%s\n' "$DEBIAN_SUITE" "$DEBIAN_MIRROR" "$DEBIAN_SECURITY_MIRROR")"
  base_tag="$project-base:$DEBIAN_SUITE-$(sha256sum <<<"$key" | cut -c1-16)"
}

# Build the base when an image that needs building lacks it (not pushed: only a parent).
ensure_base() {
  docker image inspect "$base_tag" >/dev/null 2>&1 && return
  local start=$SECONDS
  say "base: building $base_tag"
  DOCKER_BUILDKIT=0 docker build -t "$base_tag" \
    --build-arg "DEBIAN_SUITE=$DEBIAN_SUITE" --build-arg "DEBIAN_MIRROR=$DEBIAN_MIRROR" \
    --build-arg "DEBIAN_SECURITY_MIRROR=$DEBIAN_SECURITY_MIRROR" \
    --label "$project.inputs=${base_tag##*-}" "$cache/context/base" >&2
  docker tag "$base_tag" "$project-base:$DEBIAN_SUITE"
  say "base: built in $((SECONDS - start)) s"
}

# Build (when needed) and push one image; print "name ref".
build_one() {
  local name="$1" dir repo_tag args key record ref tag start arg
  IFS='|' read -r _ dir repo_tag args <<<"$(row "$name")"
  [[ "$dir" == app ]] && args="$args PROJECT=$project" # the sample service greets with it
  base_key
  key="$( (stage "$dir" "$cache/context/$name"; echo "$args"; echo "$base_tag") | sha256sum | cut -c1-16)"
  record="$cache/built/${registry//[:\/]/_}/$name.$key"
  if [[ -s "$record" ]] && in_registry "$(cat "$record")"; then
    say "$name: current ($key)"
    echo "$name $(cat "$record")"
    rm -rf "$cache/context/$name"
    return
  fi
  ensure_base
  tag="$registry/$project/$repo_tag"
  start=$SECONDS
  say "$name: building $tag ($key)"
  local build_args=(--build-arg "BASE=$base_tag")
  for arg in $args; do build_args+=(--build-arg "$arg"); done
  DOCKER_BUILDKIT=0 docker build -t "$tag" "${build_args[@]}" \
    --label "$project.inputs=$key" "$cache/context/$name" >&2
  say "$name: built in $((SECONDS - start)) s; pushing"
  docker push "$tag" >&2
  ref="$(docker image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$tag" |
    grep -m1 "^$registry/$project/${repo_tag%%:*}@sha256:")" || {
    say "$name: no repository digest for $tag after the push"; return 1; }
  mkdir -p "${record%/*}"
  echo "$ref" >"$record"
  rm -rf "$cache/context/$name"
  echo "$name $ref"
}

names=("$@")
if [[ ${#names[@]} -eq 0 ]]; then
  mapfile -t names < <(grep -v '^$' <<<"$IMAGES" | cut -d'|' -f1)
fi
for name in "${names[@]}"; do
  row "$name" >/dev/null || {
    say "unknown image '$name'; known: $(grep -v '^$' <<<"$IMAGES" | cut -d'|' -f1 | xargs)"
    exit 2
  }
done

# The engine and registry first (idempotent), outside the lock: a daemon it starts must not
# inherit the lock's descriptor.
eval "$("$root/tools/docker/host.sh" start)"
registry_var="${project^^}_REGISTRY"
registry="${!registry_var}"
mkdir -p "$cache"
exec 8>"$cache/lock"
flock 8
total=$SECONDS
results="$(for name in "${names[@]}"; do build_one "$name" 8>&-; done)"
rm -rf "$cache/context"
say "done in $((SECONDS - total)) s"
python3 -c '
import json, sys
print(json.dumps(dict(line.split(" ", 1) for line in sys.stdin.read().splitlines()), indent=2))
' <<<"$results"
