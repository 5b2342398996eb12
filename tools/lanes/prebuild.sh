#!/usr/bin/env bash
# Start the slow, cached builds the lanes need in the background, so they overlap with lint and
# the unit tests: the engine, the docker provider and the local stage's images. Each build takes
# its cache's lock, so a lane that asks for the same build later waits for this one and reuses it.
# Logs: $XDG_CACHE_HOME/<project>/prebuild/*.log. Nothing starts for a tool this machine lacks
# (the lanes say so in their box). Always exits 0: the lanes report failures.
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
project="$(awk '/^name:/ {print $2; exit}' "$root/Pulumi.yaml")"
logs="${XDG_CACHE_HOME:-$HOME/.cache}/$project/prebuild"
mkdir -p "$logs"
start() { # name, command...
  local name="$1"; shift
  nohup "$@" >"$logs/$name.log" 2>&1 </dev/null &
  echo "prebuild: $name started in the background (log: $logs/$name.log)"
}
if command -v go >/dev/null; then
  start engine "$root/tools/engine/build.sh"
  start docker-provider "$root/tools/docker-provider/build.sh"
fi
if command -v docker >/dev/null || { [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; }; then
  start images sh -c "'$root/tools/docker/host.sh' start && '$root/tools/images/build.sh' >/dev/null"
fi
exit 0
