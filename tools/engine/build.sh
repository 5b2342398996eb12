#!/usr/bin/env bash
# Build the pinned Pulumi CLI and stageline's Python language host into a cache outside the
# repository, keyed by the module's go.sum and the host's source; print the bin directory.
# Does nothing but print when that build is already there. Needs Go and the Go module proxy.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# The project's name (Pulumi.yaml) names the cache, as tools/lanes/prebuild.sh reads it.
project="$(awk '/^name:/ {print $2; exit}' "$here/../../Pulumi.yaml")"
[[ -n "$project" ]] || { echo "$here/../../Pulumi.yaml: name: required" >&2; exit 2; }
cache_root="${STAGELINE_ENGINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/$project/engine}"
key="$(cat "$here/go.sum" "$here/go.mod" "$here/languagehost/main.go" | sha256sum | cut -c1-16)"
bin="$cache_root/$key/bin"
if [[ -x "$bin/pulumi" && -x "$bin/pulumi-language-python" && -f "$bin/.complete" ]]; then
  echo "$bin"
  exit 0
fi
command -v go >/dev/null || { echo "engine: Go is not installed; cannot build the Pulumi CLI" >&2; exit 3; }
# One build at a time into the cache (make test starts one in the background, the lanes ask
# again): a second caller waits for the first and reuses its build.
mkdir -p "$cache_root"
exec 9>"$cache_root/.lock"
if ! flock -n 9; then
  echo "engine: another build holds $cache_root/.lock; waiting for it" >&2
  flock 9
fi
if [[ -x "$bin/pulumi" && -x "$bin/pulumi-language-python" && -f "$bin/.complete" ]]; then
  echo "$bin"
  exit 0
fi
# The CLI version is the one go.mod pins for pkg/v3 (stamped, since the Automation API refuses a
# CLI that reports no version).
version="$(cd "$here" && go list -m -f '{{.Version}}' github.com/pulumi/pulumi/pkg/v3)"
mkdir -p "$bin.tmp"
start=$(date +%s)
echo "engine: building pulumi $version and the Python language host into $bin (cold: minutes)" >&2
# Progress while go builds (it prints nothing for minutes): a line a minute.
( while sleep 60; do echo "engine: still building ($(( $(date +%s) - start )) s)" >&2; done ) &
ticker=$!
trap 'kill $ticker 2>/dev/null || true' EXIT
(
  cd "$here"
  export CGO_ENABLED=0
  go build -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version" \
    -o "$bin.tmp/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  go build -ldflags "-X main.version=${version#v}" \
    -o "$bin.tmp/pulumi-language-python" ./languagehost
)
# Pulumi's own launcher for Python programs, shipped in the sdk/v3 module. Its directory is asked
# for after the build: on a cold module cache `go list -m` names none before the download.
sdk_dir="$(cd "$here" && go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)"
[[ -d "$sdk_dir" ]] || { echo "engine: the sdk/v3 module is not in the module cache" >&2; exit 1; }
install -m 0755 "$sdk_dir/python/cmd/pulumi-language-python-exec" "$bin.tmp/"
touch "$bin.tmp/.complete"
rm -rf "$bin" && mv "$bin.tmp" "$bin"
echo "engine: built in $(( $(date +%s) - start )) s" >&2
echo "$bin"
