#!/usr/bin/env bash
# The docker lane (`make docker-lane`): the local stage for real. Needs Go (the engine and the
# docker provider are built from source) and a Docker engine (one that answers, or root with
# apt-get to install and start Debian's). Where one cannot be had, a box says the lane did not run
# and why (exit 0); where a build or a test fails, the lane fails (exit 1).
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
box() {
  echo "################################################################"
  printf '# %s\n' "$@"
  echo "################################################################"
}
missing=()
command -v go >/dev/null || missing+=("Go (the engine and the docker provider build from source)")
if ! docker info >/dev/null 2>&1 && ! { [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; }; then
  missing+=("a Docker engine (none answers, and no root with apt-get to start Debian's)")
fi
if ((${#missing[@]})); then
  box "DOCKER LANE NOT RUN: this machine lacks" "${missing[@]}"
  exit 0
fi
# One lane per machine: two would deploy the same stage (its networks' subnets) on one host.
project="$(awk '/^name:/ {print $2; exit}' "$root/Pulumi.yaml")"
exec 8>"${TMPDIR:-/tmp}/$project-docker-lane.lock"
if ! flock -n 8; then
  echo "docker-lane: another docker lane runs on this machine; waiting for it"
  flock 8
fi
started=$(date +%s)
# Stopped at the end only if this lane started it, so an engine already up (a developer's, or
# ours started by hand) is left as it was found; `make test` asks for the stop anyway
# (STAGELINE_STOP_HOST=1), since its prebuild started the engine for this lane.
running=0
"$root/tools/docker/host.sh" env >/dev/null 2>&1 && running=1
echo "docker-lane: starting the Docker engine and registry (tools/docker/host.sh)"
# 8>&-: the engine outlives this script when it was not ours to stop; it must not inherit the
# lane's lock (fd 8), or every later lane would wait on a lock no lane holds.
"$root/tools/docker/host.sh" start 8>&- ||
  { box "DOCKER LANE FAILED: the Docker engine did not start"; exit 1; }
# What runs on this engine already with our labels (a `make demo`, or a lane killed before its
# teardown) holds the stages' networks and ports: the lane would collide with it, so it stops
# here, before the trap below could stop the engine under it.
eval "$("$root/tools/docker/host.sh" env)"
others="$(docker ps -aq --filter "label=project=$project" | wc -l)"
if ((others > 0)); then
  box "DOCKER LANE FAILED: $others container(s) labelled project=$project already on this engine" \
    "(the demo? \`make demo-down\` removes it; leftovers of a killed lane:" \
    "docker rm -f \$(docker ps -aq --filter label=project=$project))"
  exit 1
fi
if [[ "$running" == 0 || -n "${STAGELINE_STOP_HOST:-}" ]]; then
  trap '"$root/tools/docker/host.sh" stop >/dev/null 2>&1 || true' EXIT
fi
for step in "engine:tools/engine/build.sh" "docker provider:tools/docker-provider/build.sh" \
  "images:tools/images/build.sh"; do
  name="${step%%:*}" script="${step#*:}"
  echo "docker-lane: $name (cached; cold: minutes, progress on stderr)"
  "$root/$script" >/dev/null || { box "DOCKER LANE FAILED: building the $name ($script)"; exit 1; }
done
echo "docker-lane: everything built or found in $(( $(date +%s) - started )) s; running tests -m docker"
# Arguments go to pytest (`tools/lanes/docker.sh -k reconcile` runs one test module's tests).
cd "$root" && .venv/bin/pytest -q -p no:xdist -m docker tests/dockerlane "$@"
status=$?
echo "docker-lane: $(( $(date +%s) - started )) s in all"
exit $status
