#!/bin/bash
# RFC 8555 features of ca-core with real clients.  certbot, lego and a
# Python client (acme_tool.py) use External Account Binding; certbot,
# lego and the certificate's own key revoke; lego renews.  acme_tool.py
# also checks key change, name policy with subproblems, the paged orders
# list, authorization deactivation, lifetimes, nonces and Content-Type.
# caadm configures all of it.  Ports 18600-18699.
. "$(dirname "$0")/lib.sh"

HTTP01_PORT=${HTTP01_PORT:-18602}
CA_PORT=${CA_PORT:-18643}
DNS_PORT=${DNS_PORT:-18653}
MGMT_PORT=${MGMT_PORT:-18655}
TOOL=$(cd "$(dirname "$0")" && pwd)/acme_tool.py

test_workdir
trap test_cleanup EXIT

# run_tool SCENARIO ARGS...: run acme_tool.py against the "acme"
# provisioner (or $TOOL_PROVISIONER) and count its ok/FAIL lines.
run_tool() {
	out=$TEST_DIR/tool-$1.log
	"$PYTHON" "$TOOL" \
	    "https://localhost:$CA_PORT/acme/${TOOL_PROVISIONER:-acme}/directory" \
	    "$ROOT_CERT" "$@" >"$out" 2>&1
	rc=$?
	while IFS= read -r line; do
		case "$line" in
		"ok   "*) pass "${line#ok   }" ;;
		"FAIL "*) fail "${line#FAIL }" ;;
		esac
	done <"$out"
	if [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' "$out"; then
		fail "acme_tool.py $1 exited $rc: $(tail -n 5 "$out")"
	fi
}

# caadm_rejects DESCRIPTION WORD ARGS...: caadm exits 2 and its message
# names WORD.
caadm_rejects() {
	desc=$1
	word=$2
	shift 2
	"$CA_BIN/caadm" "$@" >"$TEST_DIR/caadm-bad.log" 2>&1
	rc=$?
	if [ "$rc" -eq 2 ] && grep -qF -- "$word" "$TEST_DIR/caadm-bad.log"; then
		pass "$desc"
	else
		fail "$desc: exit $rc, output: $(cat "$TEST_DIR/caadm-bad.log")"
	fi
}

setup_ca

# Provisioner options through caadm, bad values first.
caadm_rejects "caadm: bad duration named" "5x" \
    provisioner add bad --default-duration 5x
caadm_rejects "caadm: bad deny pattern named" "bad_name" \
    provisioner add bad --deny "bad_name.example.test"
caadm_rejects "caadm: bad CIDR named" "10.0.0.0/33" \
    provisioner add bad --allow 10.0.0.0/33
caadm_rejects "caadm: minimum above maximum" "minimum" \
    provisioner add bad --min-duration 48h --max-duration 1h
caadm_rejects "caadm: bad website URL named" "ftp://x" \
    provisioner add bad --website ftp://x
check "caadm provisioner add acme with options" "$CA_BIN/caadm" \
    provisioner add acme --type ACME --deny "*.denied.test" \
    --deny 192.0.2.0/24 --max-duration 48h --challenge http-01 \
    --website https://ca.example.test/ --caa-identity ca.example.test
check "caadm provisioner add eab --require-eab" "$CA_BIN/caadm" \
    provisioner add eab --type ACME --require-eab --force-cn
"$CA_BIN/caadm" provisioner list >"$TEST_DIR/list.log" 2>&1
check "caadm provisioner list shows the options" \
    grep -q "require_eab=true" "$TEST_DIR/list.log"
check "caadm provisioner update" "$CA_BIN/caadm" provisioner update acme \
    --default-duration 24h --min-duration 5m
check "caadm provisioner update kept the deny list" \
    grep -q '\*.denied.test' <(ca_sql "SELECT options::text FROM provisioners WHERE name = 'acme'")
caadm_rejects "caadm provisioner update of an unknown option" "--bogus" \
    provisioner update acme --bogus
# A small page makes the orders list page with few orders.
ca_sql "UPDATE provisioners SET options = options || '{\"orders_page_size\": 2}' WHERE name = 'acme'" >/dev/null

start_ca_core acme || abort_test "ca-core did not serve its directory"
pass "ca-core serves the directory"
acme_dir="https://localhost:$CA_PORT/acme/acme/directory"
eab_dir="https://localhost:$CA_PORT/acme/eab/directory"

meta=$(curl -sf --cacert "$ROOT_CERT" "$eab_dir")
check "directory meta: externalAccountRequired on eab" \
    grep -q '"externalAccountRequired": *true' <<<"$meta"
meta=$(curl -sf --cacert "$ROOT_CERT" "$acme_dir")
check "directory meta: website and caaIdentities on acme" \
    grep -q '"caaIdentities"' <<<"$meta"

# eab_key REFERENCE: create a key, set EAB_KID and EAB_HMAC.
eab_key() {
	"$CA_BIN/caadm" eab add eab --reference "$1" >"$TEST_DIR/eab-$1.log" 2>&1 || return 1
	EAB_KID=$(sed -n 's/^ *Key ID: *//p' "$TEST_DIR/eab-$1.log")
	EAB_HMAC=$(sed -n 's/^ *HMAC key: *//p' "$TEST_DIR/eab-$1.log")
	[ -n "$EAB_KID" ] && [ -n "$EAB_HMAC" ]
}
check "caadm eab add (certbot)" eab_key certbot
caadm_rejects "caadm eab add with a duplicate reference fails" "" \
    eab add eab --reference certbot --bogus
certbot_kid=$EAB_KID
certbot_hmac=$EAB_HMAC

certbot_flags() {
	echo --non-interactive --config-dir "$TEST_DIR/certbot/config" \
	    --work-dir "$TEST_DIR/certbot/work" --logs-dir "$TEST_DIR/certbot/logs"
}

# certbot without EAB on the eab provisioner.
if REQUESTS_CA_BUNDLE=$ROOT_CERT timeout 120 certbot register \
    --agree-tos --register-unsafely-without-email --server "$eab_dir" \
    $(certbot_flags) >"$TEST_DIR/certbot-noeab.log" 2>&1; then
	fail "certbot registered without EAB on a provisioner that requires it"
else
	check "certbot without EAB: externalAccountRequired" \
	    grep -q "externalAccountRequired\|requires external account binding" \
	    "$TEST_DIR/certbot-noeab.log"
fi

# certbot with EAB obtains a certificate.
if REQUESTS_CA_BUNDLE=$ROOT_CERT timeout 180 certbot certonly --standalone \
    --agree-tos --register-unsafely-without-email --server "$eab_dir" \
    --eab-kid "$certbot_kid" --eab-hmac-key "$certbot_hmac" \
    --http-01-port "$HTTP01_PORT" --http-01-address 127.0.0.1 \
    $(certbot_flags) --cert-name certbot-eab -d certbot-eab.example.test \
    >"$TEST_DIR/certbot-eab.log" 2>&1; then
	cert=$TEST_DIR/certbot/config/live/certbot-eab/cert.pem
	verify_cert "certbot with EAB: certificate" \
	    "$TEST_DIR/certbot/config/live/certbot-eab/fullchain.pem" \
	    certbot-eab.example.test
	check "forceCN: CN is the first name" grep -q "CN *= *certbot-eab.example.test" \
	    <(openssl x509 -in "$cert" -noout -subject)
	check "EAB key is bound" test "$(ca_sql "SELECT bound_account_id IS NOT NULL FROM eab_keys WHERE id = '$certbot_kid'")" = t

	# certbot revoke, then again.
	if REQUESTS_CA_BUNDLE=$ROOT_CERT timeout 120 certbot revoke \
	    --server "$eab_dir" --cert-path "$cert" --reason keycompromise \
	    --no-delete-after-revoke $(certbot_flags) \
	    >"$TEST_DIR/certbot-revoke.log" 2>&1; then
		serial=$(openssl x509 -in "$cert" -noout -serial | cut -d= -f2 | tr A-F a-f)
		check "certbot revoke: stored with reason 1 (keyCompromise)" \
		    test "$(ca_sql "SELECT revocation_reason FROM certificates WHERE serial = '$serial' AND revoked_at IS NOT NULL")" = 1
	else
		fail "certbot revoke: $(tail -n 5 "$TEST_DIR/certbot-revoke.log")"
	fi
	REQUESTS_CA_BUNDLE=$ROOT_CERT timeout 120 certbot revoke \
	    --server "$eab_dir" --cert-path "$cert" --reason keycompromise \
	    --no-delete-after-revoke $(certbot_flags) \
	    >"$TEST_DIR/certbot-revoke2.log" 2>&1
	# certbot 2.1 reports this with an AttributeError of its own; the
	# server's problem type is in its debug log.
	check "certbot revoke again: alreadyRevoked" \
	    grep -q "error:alreadyRevoked" "$TEST_DIR/certbot/logs/letsencrypt.log"
else
	fail "certbot with EAB: $(tail -n 5 "$TEST_DIR/certbot-eab.log")"
fi

# lego with EAB: run, renew, revoke twice.
check "caadm eab add (lego)" eab_key lego
lego_eab() {
	LEGO_CA_CERTIFICATES=$ROOT_CERT timeout 180 lego --server "$eab_dir" \
	    --accept-tos --email lego@example.test --path "$TEST_DIR/lego-eab" \
	    --eab --kid "$EAB_KID" --hmac "$EAB_HMAC" \
	    --http --http.port "127.0.0.1:$HTTP01_PORT" \
	    -d lego-eab.example.test "$@"
}
lego_cert=$TEST_DIR/lego-eab/certificates/lego-eab.example.test.crt
if lego_eab run >"$TEST_DIR/lego-eab.log" 2>&1; then
	verify_cert "lego with EAB: certificate" "$lego_cert" lego-eab.example.test
	first_serial=$(openssl x509 -in "$lego_cert" -noout -serial)
	if lego_eab renew --days 1000 --no-random-sleep >"$TEST_DIR/lego-renew.log" 2>&1; then
		check "lego renew: a new certificate" \
		    test "$(openssl x509 -in "$lego_cert" -noout -serial)" != "$first_serial"
	else
		fail "lego renew: $(tail -n 5 "$TEST_DIR/lego-renew.log")"
	fi
	if lego_eab revoke --keep --reason 4 >"$TEST_DIR/lego-revoke.log" 2>&1; then
		serial=$(openssl x509 -in "$lego_cert" -noout -serial | cut -d= -f2 | tr A-F a-f)
		check "lego revoke: stored with reason 4 (superseded)" \
		    test "$(ca_sql "SELECT revocation_reason FROM certificates WHERE serial = '$serial' AND revoked_at IS NOT NULL")" = 4
	else
		fail "lego revoke: $(tail -n 5 "$TEST_DIR/lego-revoke.log")"
	fi
	lego_eab revoke --keep >"$TEST_DIR/lego-revoke2.log" 2>&1
	check "lego revoke again: alreadyRevoked" \
	    grep -q "alreadyRevoked" "$TEST_DIR/lego-revoke2.log"
else
	fail "lego with EAB: $(tail -n 5 "$TEST_DIR/lego-eab.log")"
fi

# caadm certificate with and without an EAB key.
caadm_eab() {
	timeout 120 "$CA_BIN/caadm" certificate --provisioner eab \
	    --http-listen "127.0.0.1:$HTTP01_PORT" --force "$@"
}
if caadm_eab caadm-eab.example.test "$TEST_DIR/caadm-eab.crt" \
    "$TEST_DIR/caadm-eab.key" >"$TEST_DIR/caadm-noeab.log" 2>&1; then
	fail "caadm certificate without EAB succeeded on an EAB provisioner"
else
	check "caadm without EAB: message names --eab-kid" \
	    grep -q -- "--eab-kid" "$TEST_DIR/caadm-noeab.log"
fi
caadm_rejects "caadm --eab-kid without --eab-hmac-key fails" "--eab-hmac-key" \
    certificate --provisioner eab --eab-kid x a.example.test \
    "$TEST_DIR/x.crt" "$TEST_DIR/x.key"
if caadm_eab --eab-kid x --eab-hmac-key 'not+base64url' \
    caadm-eab.example.test "$TEST_DIR/caadm-eab.crt" "$TEST_DIR/caadm-eab.key" \
    >"$TEST_DIR/caadm-badeab.log" 2>&1; then
	fail "caadm certificate accepted an HMAC key that is not base64url"
else
	check "caadm with a bad HMAC key: message names the flag" \
	    grep -q -- "--eab-hmac-key value is not base64url" \
	    "$TEST_DIR/caadm-badeab.log"
fi
check "caadm eab add (caadm)" eab_key caadm
if caadm_eab --eab-kid "$EAB_KID" --eab-hmac-key "$EAB_HMAC" \
    caadm-eab.example.test "$TEST_DIR/caadm-eab.crt" "$TEST_DIR/caadm-eab.key" \
    >"$TEST_DIR/caadm-eab.log" 2>&1; then
	verify_cert "caadm with EAB: certificate" "$TEST_DIR/caadm-eab.crt" \
	    caadm-eab.example.test
	check "caadm's EAB key is bound" test "$(ca_sql "SELECT bound_account_id IS NOT NULL FROM eab_keys WHERE id = '$EAB_KID'")" = t
else
	fail "caadm with EAB: $(tail -n 5 "$TEST_DIR/caadm-eab.log")"
fi

check "caadm eab add (python)" eab_key python
TOOL_PROVISIONER=eab run_tool eab "$EAB_KID" "$EAB_HMAC"
"$CA_BIN/caadm" eab list eab >"$TEST_DIR/eab-list.log" 2>&1
check "caadm eab list shows bound keys" grep -q "python" "$TEST_DIR/eab-list.log"
check "caadm eab list never shows an HMAC key" \
    bash -c "! grep -qF -- '$EAB_HMAC' '$TEST_DIR/eab-list.log'"
check "caadm eab remove" "$CA_BIN/caadm" eab remove eab "$EAB_KID"
"$CA_BIN/caadm" eab remove eab "$EAB_KID" >"$TEST_DIR/eab-rm2.log" 2>&1
check "caadm eab remove of an unknown key fails" grep -q "no EAB key" "$TEST_DIR/eab-rm2.log"

# Revocation by the certificate's key, and by a foreign account.
if LEGO_CA_CERTIFICATES=$ROOT_CERT timeout 180 lego --server "$acme_dir" \
    --accept-tos --email lego@example.test --path "$TEST_DIR/lego" \
    --http --http.port "127.0.0.1:$HTTP01_PORT" -d certkey.example.test run \
    >"$TEST_DIR/lego.log" 2>&1; then
	run_tool revoke-foreign "$TEST_DIR/lego/certificates/certkey.example.test.crt"
	run_tool revoke-certkey "$TEST_DIR/lego/certificates/certkey.example.test.crt" \
	    "$TEST_DIR/lego/certificates/certkey.example.test.key" 1
else
	fail "lego run on acme: $(tail -n 5 "$TEST_DIR/lego.log")"
fi

run_tool keychange
run_tool policy "www.denied.test" "allowed.example.test"
run_tool orders 5 2
run_tool deactivate
run_tool lifetime "2030-01-10T00:00:00Z"
run_tool headers

# Expiry: the helper moves an order's and its authorizations' expiry
# into the past.
cat >"$TEST_DIR/backdate.sh" <<BACKDATE
#!/bin/sh
psql -X -q -v ON_ERROR_STOP=1 "host=$CA_HOME/db/run dbname=acmeca user=acmeca-db" \
    -c "UPDATE orders SET expires = now() - interval '1 second' WHERE id = '\$1'" \
    -c "UPDATE authorizations SET expires = now() - interval '1 second' WHERE order_id = '\$1'"
BACKDATE
chmod 755 "$TEST_DIR/backdate.sh"
run_tool expire "$TEST_DIR/backdate.sh"

# lego sends the denied name; the problem reaches its output.
LEGO_CA_CERTIFICATES=$ROOT_CERT timeout 60 lego --server "$acme_dir" \
    --accept-tos --email lego@example.test --path "$TEST_DIR/lego" \
    --http --http.port "127.0.0.1:$HTTP01_PORT" -d x.denied.test run \
    >"$TEST_DIR/lego-denied.log" 2>&1
check "lego: a denied name is rejectedIdentifier" \
    grep -q "rejectedIdentifier" "$TEST_DIR/lego-denied.log"

check "ca-core is still running" kill -0 "$CA_CORE_PID"
test_finish
