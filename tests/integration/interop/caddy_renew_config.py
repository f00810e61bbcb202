#!/usr/bin/python3
"""Write Caddy's JSON config for CADDYFILE with renewal due at once.

Usage: caddy_renew_config.py CADDYFILE OUT_JSON

Caddy 2.6 renews a certificate once the time left is below
renewal_window_ratio of its lifetime (default 1/3), and checks the stored
certificates when it starts.  The Caddyfile of Caddy 2.6 cannot set the
ratio, so this adapts the Caddyfile to JSON and sets it in every
automation policy to 1 - 1/86400: for a 24 h certificate, renewal is due
one second after its notBefore.
"""

import json
import subprocess
import sys

RENEWAL_WINDOW_RATIO = 1 - 1 / 86400


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.splitlines()[2])
    adapted = subprocess.run(
        ["caddy", "adapt", "--config", sys.argv[1], "--adapter", "caddyfile"],
        check=True, capture_output=True, text=True)
    config = json.loads(adapted.stdout)
    policies = config["apps"]["tls"]["automation"]["policies"]
    for policy in policies:
        policy["renewal_window_ratio"] = RENEWAL_WINDOW_RATIO
    with open(sys.argv[2], "w", encoding="utf-8") as out:
        json.dump(config, out, indent=1)


if __name__ == "__main__":
    main()
