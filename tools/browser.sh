#!/bin/sh
# Install what the pipeline page's browser test drives (tests/test_site.py): Debian's Chromium
# and its chromedriver. Does nothing when both are on PATH. Without apt-get, or when it fails,
# says so in a box and exits 0: the test then skips, saying BROWSER TEST NOT RUN.
set -u
missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v chromedriver >/dev/null 2>&1 || missing="$missing chromium-driver"
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
install() { DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing; }
if command -v apt-get >/dev/null 2>&1; then
	echo "browser: installing$missing with apt-get (the pipeline page's browser test)" >&2
	# A fresh runner may have no package lists yet: update once, then try again.
	if install || { $SUDO apt-get update -q && install; }; then
		exit 0
	fi
fi
echo "################################################################" >&2
echo "# BROWSER TEST WILL NOT RUN: could not install$missing" >&2
echo "# (needs apt-get: Debian, Ubuntu, GitHub's runners)" >&2
echo "################################################################" >&2
exit 0
