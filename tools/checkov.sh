#!/usr/bin/env bash
# Make (once) a virtualenv holding the pinned Checkov and exactly the dependency versions in
# tools/checkov-constraints.txt, outside the repository and keyed by both files, and print the
# path of its `checkov`. Needs only PyPI.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# The project's name (Pulumi.yaml) names the cache, as tools/lanes/prebuild.sh reads it.
project="$(awk '/^name:/ {print $2; exit}' "$here/../Pulumi.yaml")"
[[ -n "$project" ]] || { echo "$here/../Pulumi.yaml: name: required" >&2; exit 2; }
req="$here/checkov-requirements.txt"
constraints="$here/checkov-constraints.txt"
cache_root="${STAGELINE_CHECKOV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/$project/checkov}"
key="$(cat "$req" "$constraints" | sha256sum | cut -c1-16)"
venv="$cache_root/$key"
mkdir -p "$cache_root"
# One installer at a time (pytest workers, make): the others wait, then find it done.
exec 9>"$cache_root/.lock"
flock 9
if [[ ! -f "$venv/.complete" ]]; then
  echo "checkov: installing $(grep -v '^#' "$req" | xargs) into $venv (cold: minutes)" >&2
  rm -rf "$venv"
  "${PYTHON:-python3}" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req" -c "$constraints" >&2
  "$venv/bin/pip" check >&2
  "$venv/bin/checkov" --version >/dev/null
  touch "$venv/.complete"
fi
echo "$venv/bin/checkov"
