#!/bin/sh
# Run a command with its standard output in FILE.  The test uses it for
# acme-tiny, which prints the certificate, under timeout(1).
# Usage: stdout_to.sh FILE COMMAND [ARG...]
out=$1
shift
exec "$@" >"$out"
