#!/bin/bash
# Run a command in a private mount namespace in which /etc/ssl/certs contains
# only ROOT_PEM, as ca-certificates.crt.  Clients that have no CA-file
# option and read only the system store (uacme through libcurl-gnutls,
# lacme through Debian's LWP) then trust the test CA and nothing else,
# while the host's trust store stays untouched.  With --run DIR, /run is
# DIR inside the namespace as well, for acmetool 0.2.2, which writes every
# challenge file under /run/acme/acme-challenge besides its webroot.
#
# Usage: private_mounts.sh [--run DIR] ROOT_PEM COMMAND [ARG...]
# Needs root (unshare --mount).  Exits with the command's status, or 125
# when the namespace cannot be set up.
set -u

run_dir=""
if [ "${1:-}" = --run ]; then
	run_dir=$2
	shift 2
fi
if [ $# -lt 2 ]; then
	echo "usage: $0 [--run DIR] ROOT_PEM COMMAND [ARG...]" >&2
	exit 125
fi
root_pem=$1
shift

# The folder must be readable by the unprivileged users that lacme
# switches to, so it lives under /tmp with mode 755.
trust_dir=$(mktemp -d /tmp/ca-trust.XXXXXX) || exit 125
chmod 755 "$trust_dir"
if ! install -m 644 "$root_pem" "$trust_dir/ca-certificates.crt"; then
	rm -rf "$trust_dir"
	exit 125
fi

status=0
unshare --mount --propagation private /bin/sh -c '
	trust_dir=$1
	run_dir=$2
	shift 2
	if ! mount --bind "$trust_dir" /etc/ssl/certs; then
		echo "private_mounts.sh: failed to bind $trust_dir on /etc/ssl/certs" >&2
		exit 125
	fi
	if [ -n "$run_dir" ] && ! mount --bind "$run_dir" /run; then
		echo "private_mounts.sh: failed to bind $run_dir on /run" >&2
		exit 125
	fi
	exec "$@"' private_mounts "$trust_dir" "$run_dir" "$@" || status=$?
rm -rf "$trust_dir"
exit "$status"
