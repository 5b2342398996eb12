#!/usr/bin/env bash
# A Docker engine and a local registry for the local stage and its tests.
#
#   host.sh start   use an engine that answers (DOCKER_HOST, Docker Desktop) or start our own
#                   dockerd; start a docker-registry on 127.0.0.1; idempotent
#   host.sh stop    stop the dockerd and registry this script started (by PID), nothing else
#   host.sh env     print shell exports: DOCKER_HOST (when the engine is ours) and the registry
#                   (eval "$(tools/docker/host.sh env)")
#
# Our engine lives under a state directory outside the repository (data-root, exec-root, socket,
# pidfile, log): $XDG_CACHE_HOME/<project>/docker-host, or DOCKER_HOST_STATE. The registry listens
# on 127.0.0.1:$REGISTRY_PORT (default 5055, kept in the state directory once chosen); Docker
# treats 127.0.0.0/8 registries as insecure (plain HTTP) by default, so no daemon flag is needed.
# Starting our own engine needs root on Linux; apt-get installs docker.io, docker-registry and
# debootstrap when they are missing.
#
# Exit codes: 0 done, 1 could not start or stop, 2 usage, 3 (env) nothing running.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
project="$(awk '/^name:/ {print $2; exit}' "$root/Pulumi.yaml")"
[[ -n "$project" ]] || { echo "host.sh: $root/Pulumi.yaml: name: missing" >&2; exit 1; }
state="${DOCKER_HOST_STATE:-${XDG_CACHE_HOME:-$HOME/.cache}/$project/docker-host}"
socket="$state/docker.sock"
dockerd_pid="$state/dockerd.pid"
registry_pid="$state/registry.pid"
port_file="$state/registry.port"
ready_timeout=30

say() { echo "host.sh: $*" >&2; }

# The PID in $1 if that process is alive and runs the binary named $2 (guards against reuse).
live_pid() {
  local file="$1" binary="$2" pid
  [[ -s "$file" ]] || return 1
  pid="$(cat "$file")"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  [[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" == *"/$binary" ]] || return 1
  echo "$pid"
}

ours_answers() { DOCKER_HOST="unix://$socket" docker info >/dev/null 2>&1; }

registry_port() {
  if [[ -n "${REGISTRY_PORT:-}" ]]; then echo "$REGISTRY_PORT"
  elif [[ -s "$port_file" ]]; then cat "$port_file"
  else echo 5055; fi
}

registry_answers() {
  python3 - "$1" <<'EOF' 2>/dev/null
import sys, urllib.request
with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/v2/", timeout=2) as r:
    sys.exit(0 if r.status == 200 else 1)
EOF
}

install_missing() {
  local missing=""
  command -v dockerd >/dev/null || missing="$missing docker.io"
  command -v docker-registry >/dev/null || missing="$missing docker-registry"
  command -v debootstrap >/dev/null || missing="$missing debootstrap"
  [[ -z "$missing" ]] && return 0
  command -v apt-get >/dev/null || { say "need$missing and there is no apt-get"; return 1; }
  say "installing$missing with apt-get"
  # policy-rc.d saying 101 keeps the packages from starting a system dockerd or a registry on
  # port 5000 of their own (the same guard as tools/image-tools.sh).
  local guard=""
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 0755 /usr/sbin/policy-rc.d
    guard=1
  fi
  local status=0
  # shellcheck disable=SC2086  # one argument per package
  apt_install() { DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q $missing; }
  apt_install || { apt-get -o DPkg::Lock::Timeout=600 update -q && apt_install; } || status=$?
  [[ -n "$guard" ]] && rm -f /usr/sbin/policy-rc.d
  return $status
}

start_engine() {
  if ours_answers; then return 0; fi
  if [[ -z "${DOCKER_HOST:-}" || "${DOCKER_HOST}" != "unix://$socket" ]] \
    && docker info >/dev/null 2>&1; then
    say "using the engine that already answers (${DOCKER_HOST:-default context})"
    return 0
  fi
  [[ "$(uname -s)" == Linux && "$(id -u)" -eq 0 ]] || {
    say "no Docker engine answers, and starting one needs root on Linux"; return 1; }
  install_missing
  mkdir -p "$state/data" "$state/exec"
  if pid="$(live_pid "$dockerd_pid" dockerd)"; then
    say "dockerd $pid runs but does not answer yet; waiting"
  else
    rm -f "$dockerd_pid" "$socket"
    say "starting dockerd (log $state/dockerd.log)"
    # setsid: the engine outlives this shell and its job control.
    setsid dockerd --host "unix://$socket" --data-root "$state/data" --exec-root "$state/exec" \
      --pidfile "$dockerd_pid" --storage-driver overlay2 \
      >>"$state/dockerd.log" 2>&1 </dev/null 9>&- &
  fi
  local waited=0
  until ours_answers; do
    ((waited++ < ready_timeout * 2)) || {
      say "dockerd did not answer within ${ready_timeout}s; see $state/dockerd.log"; return 1; }
    sleep 0.5
  done
  say "dockerd answers on unix://$socket"
}

start_registry() {
  local port
  port="$(registry_port)"
  [[ "$port" =~ ^[0-9]+$ ]] || { say "REGISTRY_PORT: expected a port number, got '$port'"; return 1; }
  if live_pid "$registry_pid" docker-registry >/dev/null && registry_answers "$port"; then
    return 0
  fi
  command -v docker-registry >/dev/null || install_missing
  if registry_answers "$port"; then
    say "127.0.0.1:$port already answers as a registry not started here; set REGISTRY_PORT"
    return 1
  fi
  mkdir -p "$state/registry"
  cat >"$state/registry.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $state/registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
EOF
  say "starting docker-registry on 127.0.0.1:$port (log $state/registry.log)"
  setsid docker-registry serve "$state/registry.yml" >>"$state/registry.log" 2>&1 </dev/null 9>&- &
  echo $! >"$registry_pid"
  echo "$port" >"$port_file"
  local waited=0
  until registry_answers "$port"; do
    ((waited++ < 20)) || { say "the registry did not answer; see $state/registry.log"; return 1; }
    sleep 0.5
  done
}

stop_pid() {
  local file="$1" binary="$2" pid waited=0
  if ! pid="$(live_pid "$file" "$binary")"; then
    rm -f "$file"
    return 0
  fi
  say "stopping $binary $pid"
  kill -TERM "$pid"
  while kill -0 "$pid" 2>/dev/null; do
    ((waited++ < 60)) || { say "$binary $pid did not stop within 30 s"; return 1; }
    sleep 0.5
  done
  rm -f "$file"
}

print_env() {
  local port status=0
  if ours_answers; then
    echo "export DOCKER_HOST=unix://$socket"
  elif ! docker info >/dev/null 2>&1; then
    say "no Docker engine answers; run: $0 start"
    status=3
  fi
  port="$(registry_port)"
  if registry_answers "$port"; then
    echo "export ${project^^}_REGISTRY=127.0.0.1:$port"
  else
    say "no registry answers on 127.0.0.1:$port; run: $0 start"
    status=3
  fi
  return $status
}

mkdir -p "$state"
case "${1:-}" in
  start)
    # One start at a time: two shells starting at once would race for the pidfiles.
    exec 9>"$state/lock"
    flock 9
    start_engine
    start_registry
    print_env
    ;;
  stop)
    exec 9>"$state/lock"
    flock 9
    stop_pid "$registry_pid" docker-registry
    stop_pid "$dockerd_pid" dockerd
    ;;
  env) print_env ;;
  *)
    echo "usage: $0 start|stop|env" >&2
    exit 2
    ;;
esac
