#!/usr/bin/env bash
# Refreshes the public-good Sigstore trusted root and signing config embedded in ferrosign
# (src/sigstore/production_trusted_root.json, src/sigstore/production_signing_config.json): the offline
# fallback when neither the TUF repository nor its cache can be used (README, "Trust sources").
#
# Where it comes from: Sigstore's TUF repository (tuf-repo-cdn.sigstore.dev) publishes trusted_root.json;
# sigstore-python ships the TUF-verified copy of that target inside its PyPI package as its offline
# bootstrap (sigstore/_store/https%3A%2F%2Ftuf-repo-cdn.sigstore.dev/trusted_root.json, and
# signing_config.v0.2.json beside it). This script installs a pinned sigstore-python from PyPI into a
# throwaway venv, takes both files, checks their media types, replaces the snapshot and stamps today's date
# into EMBEDDED_SNAPSHOT_DATE (src/sigstore/trust/sources.rs: the age the fallback warning shows). The build
# itself never touches the network.
#
#   bash scripts/refresh-trusted-root.sh            # the version pinned below
#   SIGSTORE_PY_VERSION=4.6.0 bash scripts/refresh-trusted-root.sh
#
# Then review `git diff src/sigstore/production_trusted_root.json` (new log keys, CAs, CT logs or TSAs and
# their validity windows), run `cargo test --lib trust`, and commit with the sigstore-python version in the
# message. Refresh when Sigstore announces a key rotation or a new log shard (Rekor v2 shards rotate).
set -euo pipefail
cd "$(dirname "$0")/.."
SIGSTORE_PY_VERSION="${SIGSTORE_PY_VERSION:-4.5.1}"
FERROSIGN_CACHE="${FERROSIGN_CACHE:-$HOME/.cache/ferrosign}"
venv="$FERROSIGN_CACHE/trust-refresh-sigstore-$SIGSTORE_PY_VERSION"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "sigstore==$SIGSTORE_PY_VERSION"
fi
src=$("$venv/bin/python" - <<'PY'
import importlib.resources as r
p = r.files("sigstore") / "_store" / "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev" / "trusted_root.json"
print(p)
PY
)
"$venv/bin/python" - "$src" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["mediaType"].startswith("application/vnd.dev.sigstore.trustedroot"), d["mediaType"]
for t in d["tlogs"]:
    print("rekor ", t["baseUrl"], t["publicKey"]["keyDetails"], t["publicKey"].get("validFor"))
for c in d["certificateAuthorities"]:
    print("fulcio", c["uri"], c.get("validFor"))
for c in d["ctlogs"]:
    print("ctlog ", c["baseUrl"], c["publicKey"].get("validFor"))
for t in d.get("timestampAuthorities", []):
    print("tsa   ", t.get("uri"), t.get("validFor"))
PY
config="$(dirname "$src")/signing_config.v0.2.json"
"$venv/bin/python" - "$config" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["mediaType"] == "application/vnd.dev.sigstore.signingconfig.v0.2+json", d["mediaType"]
for kind in ("caUrls", "rekorTlogUrls", "tsaUrls"):
    for s in d.get(kind, []):
        print(kind, s["url"], "v%s" % s["majorApiVersion"], s.get("validFor"))
PY
changed=0
for pair in "$src:src/sigstore/production_trusted_root.json" "$config:src/sigstore/production_signing_config.json"; do
  from="${pair%%:*}"; dst="${pair#*:}"
  if cmp -s "$from" "$dst"; then
    echo "== $dst is already sigstore-python $SIGSTORE_PY_VERSION's copy"
  else
    cp "$from" "$dst"; changed=1
    echo "== updated $dst from sigstore-python $SIGSTORE_PY_VERSION"
  fi
done
if [ "$changed" = 1 ]; then
  sed -i "s/^pub(crate) const EMBEDDED_SNAPSHOT_DATE: &str = \"[0-9-]*\";/pub(crate) const EMBEDDED_SNAPSHOT_DATE: \&str = \"$(date -u +%F)\";/" src/sigstore/trust/sources.rs
  grep -n '^pub(crate) const EMBEDDED_SNAPSHOT_DATE' src/sigstore/trust/sources.rs
  echo "== review the diff and run: cargo test --lib trust"
fi
