#!/bin/sh
# Install the Debian packages that a make target needs, or, when not run
# as root, print the apt-get command that would and stop.
# Usage: deps.sh build|run|test
set -eu

build="gcc make pkg-config libc6-dev libgnutls28-dev libevent-dev
	libjson-c-dev libpq-dev libunbound-dev libseccomp-dev"
run="$build postgresql acl gnutls-bin"
# The ACME clients of the interoperability suite, and what the test
# scripts use (python3-cryptography for raw ACME requests, util-linux for
# private mount namespaces, clang and its runtime for the fuzz targets).
test="$run certbot lego pebble python3 python3-cryptography python3-acme
	curl openssl procps util-linux uacme dehydrated acme-tiny acmetool
	lacme caddy ruby-acme-client clang libclang-rt-14-dev"

case "${1:-}" in
build) want=$build ;;
run) want=$run ;;
test) want=$test ;;
*) echo "usage: $0 build|run|test" >&2; exit 2 ;;
esac

missing=""
for pkg in $want; do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	case "$status" in
	*" installed") ;;
	*) missing="$missing $pkg" ;;
	esac
done
# Node.js may come from another repository whose nodejs package bundles
# npm, and Debian's npm package would conflict with it, so these two are
# checked by command.
if [ "$1" = test ]; then
	command -v node >/dev/null 2>&1 || missing="$missing nodejs"
	command -v npm >/dev/null 2>&1 || missing="$missing npm"
fi
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "Missing Debian packages:$missing" >&2
	echo "Install them as root, then run make again:" >&2
	echo "  sudo apt-get update && sudo apt-get install -y$missing" >&2
	exit 1
fi

echo "Installing missing Debian packages:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086 # the package list is meant to split
apt-get install -y -q --no-install-recommends $missing
