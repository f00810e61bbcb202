#!/bin/bash
# `make run`: create a CA on first use (root, intermediate, embedded
# PostgreSQL, an ACME provisioner named "acme"), then run ca-core in the
# foreground.  The CA lives in $CA_HOME, by default ./state.
#
# Settings for the first run (ignored once the CA exists):
#   CA_NAME     CA name                       (default "Example CA")
#   CA_DNS      names/IPs of ca-core, commas  (default localhost,127.0.0.1)
#   CA_ADDRESS  listen address                (default :8443)
#   HTTP_PORT   port the http-01 validator checks (default 80)
#   RESOLVER    IP:PORT of the validators' DNS resolver (default: system)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
bin=$top/build/bin
: "${CA_HOME:=$top/state}"
export CA_HOME

if [ ! -f "$CA_HOME/config.json" ]; then
	set -- --name "${CA_NAME:-Example CA}" --address "${CA_ADDRESS:-:8443}" \
	    --http-port "${HTTP_PORT:-80}"
	old_ifs=$IFS
	IFS=,
	for name in ${CA_DNS:-localhost,127.0.0.1}; do
		set -- "$@" --dns "$name"
	done
	IFS=$old_ifs
	if [ -n "${RESOLVER:-}" ]; then
		set -- "$@" --resolver "$RESOLVER"
	fi
	# init ends with a hint to add a provisioner and start ca-core, which
	# this script does next, so that line is left out.
	"$bin/caadm" init "$@" | sed '/^Next:/d'
fi

if ! "$bin/caadm" provisioner list 2>/dev/null | grep -q '^acme\b'; then
	"$bin/caadm" provisioner add acme --type ACME
fi

echo "CA home:   $CA_HOME"
echo "Root:      $CA_HOME/certs/root_ca.crt"
echo "Starting ca-core (stop it with Ctrl-C)"

# Ctrl-C reaches ca-core too; this script waits for it to stop, then
# stops the embedded PostgreSQL cluster that ca-core was using.
trap 'true' INT TERM
status=0
"$bin/ca-core" || status=$?
if grep -q '"database_url"' "$CA_HOME/config.json"; then
	exit "$status"
fi
"$bin/caadm" db stop || true
exit "$status"
