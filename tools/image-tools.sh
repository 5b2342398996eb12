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
echo "image-tools: installing$missing with apt-get" >&2
# A policy-rc.d that says 101 keeps the package from starting a registry service of its own on
# port 5000 (the tests start their own registries on free ports).
guard=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
	$SUDO chmod 0755 /usr/sbin/policy-rc.d
	guard=1
fi
install() { DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends $missing; }
# A fresh runner may have no package lists yet: update once, then try again.
status=0
install || { $SUDO apt-get -o DPkg::Lock::Timeout=600 update -q && install; } || status=$?
[ -n "$guard" ] && $SUDO rm -f /usr/sbin/policy-rc.d
exit $status
