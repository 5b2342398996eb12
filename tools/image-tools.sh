#!/bin/sh
# Install what the image copy needs and its tests start: skopeo (the copy) and Debian's
# docker-registry (the CNCF distribution registry, two of them on loopback in the tests).
# Does nothing when both are on PATH; needs apt-get (Debian, Ubuntu, GitHub's runners) otherwise.
set -eu
missing=""
command -v skopeo >/dev/null 2>&1 || missing="$missing skopeo"
command -v docker-registry >/dev/null 2>&1 || missing="$missing docker-registry"
[ -z "$missing" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
	echo "image-tools: need$missing and there is no apt-get to install them" >&2
	exit 1
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
# policy-rc.d keeps the package from starting a registry service of its own on port 5000.
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
