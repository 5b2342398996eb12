#!/usr/bin/env bash
# Build the Pulumi docker provider (pulumi-resource-docker) from source: the kreuzwerker Terraform
# provider bridged with pulumi-terraform-bridge, reporting the pulumi-docker SDK's version from
# requirements.txt. Builds into a cache outside the repository, keyed by this directory's inputs,
# and prints the bin directory; returns at once when that build is there.
#   build.sh        build (or find) the provider; prints the bin directory on stdout
#   build.sh tidy   lay the upstream copy out in ./upstream (git-ignored) and run `go mod tidy`,
#                   for whoever changes go.mod
# Exit codes: 0 ok, 2 bad input (requirements.txt pin, go.mod), 3 Go missing, other: build failed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# The project's name (Pulumi.yaml) names the cache, as tools/lanes/prebuild.sh reads it.
project="$(awk '/^name:/ {print $2; exit}' "$here/../../Pulumi.yaml")"
[[ -n "$project" ]] || { echo "$here/../../Pulumi.yaml: name: required" >&2; exit 2; }
requirements="$here/../../requirements.txt"
upstream_path=github.com/terraform-providers/terraform-provider-docker
# The proxy refuses the path above; it serves the same module under this one.
upstream_served=github.com/kreuzwerker/terraform-provider-docker
say() { echo "docker-provider: $*" >&2; }

version="$(sed -n 's/^pulumi-docker==\([0-9][0-9.]*\)[[:space:]]*$/\1/p' "$requirements" 2>/dev/null)"
if [[ -z "$version" ]]; then
  say "$requirements: pulumi-docker: expected a pin 'pulumi-docker==X.Y.Z'"
  exit 2
fi

# go.mod's requirement on the upstream module: "path version" on one line of the require block.
upstream_version="$(awk -v p="$upstream_path" '$1 == p && $2 ~ /^v/ { print $2 }' "$here/go.mod")"
if [[ -z "$upstream_version" ]]; then
  say "$here/go.mod: require $upstream_path: missing"
  exit 2
fi

# Copy the upstream module into "$1/upstream", add the shim package, and lower upstream's go.mod
# requirements to ours wherever ours are lower (terraform-plugin-go, -framework and -mux to what
# the bridge speaks; the newer ones fail to build against it: "missing method
# GenerateResourceConfig"). Drops the docker_compose resource (a plugin-framework resource the
# bridge does not serve; upstream's own `no_compose` switch) so docker/compose is not fetched.
lay_out_upstream() {
  local dest="$1/upstream" scratch dir
  scratch="$(mktemp -d)"
  dir="$(cd "$scratch" && GOWORK=off GOFLAGS=-mod=mod \
    go mod download -json "$upstream_served@$upstream_version" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  rm -rf "$scratch"
  [[ -d "$dir" ]] || { say "could not fetch $upstream_served@$upstream_version"; return 1; }
  rm -rf "$dest" && mkdir -p "$dest"
  cp -R "$dir/go.mod" "$dir/LICENSE" "$dir/internal" "$dest/"
  chmod -R u+w "$dest"
  rm -f "$dest/internal/provider/compose_resources_enabled.go" \
    "$dest/internal/provider/resource_docker_compose.go" \
    "$dest/internal/provider/resource_docker_compose_test.go"
  mkdir -p "$dest/pulumishim"
  cp "$here/_pulumishim/pulumishim.go" "$dest/pulumishim/"
  local lower
  lower="$(awk '
    FNR == NR { if ($2 ~ /^v/ && $1 !~ /^(module|go|replace|toolchain)$/) ours[$1] = $2; next }
    ($1 in ours) && $2 ~ /^v/ && $2 != ours[$1] { print "-require=" $1 "@" ours[$1] }
  ' "$here/go.mod" "$dest/go.mod")"
  # shellcheck disable=SC2086 # one flag per word
  [[ -z "$lower" ]] || go mod edit $lower "$dest/go.mod"
}

command -v go >/dev/null || { say "Go is not installed; cannot build the docker provider"; exit 3; }

if [[ "${1:-}" == "tidy" ]]; then
  lay_out_upstream "$here"
  (cd "$here" && go mod tidy)
  exit 0
fi

cache_root="${STAGELINE_PROVIDER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/$project/docker-provider}"
key="$(
  cd "$here"
  {
    echo "$version"
    cat go.mod go.sum build.sh
    find . -name '*.go' -not -path './upstream/*' | LC_ALL=C sort | xargs cat
  } | sha256sum | cut -c1-16
)"
bin="$cache_root/$key/bin"
built() { [[ -x "$bin/pulumi-resource-docker" && -f "$bin/.complete" ]]; }
if built; then
  echo "$bin"
  exit 0
fi

mkdir -p "$cache_root"
exec 9>"$cache_root/.lock"
if ! flock -n 9; then
  say "another build holds $cache_root/.lock; waiting"
  flock 9
fi
if built; then # the other build made it
  echo "$bin"
  exit 0
fi

start=$(date +%s)
say "building pulumi-resource-docker $version (upstream $upstream_version) into $bin"
say "a cold build fetches and compiles several hundred modules: about 10-15 minutes on 2 cores"
work="$cache_root/$key/src"
rm -rf "$work" "$bin.tmp"
mkdir -p "$work" "$bin.tmp"
(cd "$here" && cp -R go.mod go.sum cmd mapping version "$work/")
say "laying out the upstream module"
lay_out_upstream "$work"
(
  cd "$work"
  export CGO_ENABLED=0
  flags=(-tags no_compose -trimpath
    -ldflags "-s -w -X stageline.local/tools/docker-provider/version.Version=$version")
  say "compiling the schema generator ($(($(date +%s) - start)) s)"
  go build "${flags[@]}" -o "$work/pulumi-tfgen-docker" ./cmd/pulumi-tfgen-docker
  say "generating the Pulumi schema ($(($(date +%s) - start)) s)"
  "$work/pulumi-tfgen-docker" schema --out "$work/cmd/pulumi-resource-docker" --skip-docs \
    --skip-examples >"$work/tfgen.log" 2>&1 || { cat "$work/tfgen.log" >&2; exit 1; }
  say "compiling the provider ($(($(date +%s) - start)) s)"
  go build "${flags[@]}" -o "$bin.tmp/pulumi-resource-docker" ./cmd/pulumi-resource-docker
)
cp "$work/cmd/pulumi-resource-docker/schema.json" "$bin.tmp/schema.json"
touch "$bin.tmp/.complete"
rm -rf "$bin" && mv "$bin.tmp" "$bin"
rm -rf "$work"
say "built in $(($(date +%s) - start)) s"
echo "$bin"
