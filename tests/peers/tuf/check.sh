#!/usr/bin/env bash
# Proves the loopback TUF repository (make_repo.py) with real TUF clients: cosign v3 (go-tuf) and
# sigstore-python (python-tuf) bootstrap from its root, sign with the signing config and verify with the
# trusted root it publishes, follow a rotation of the test Sigstore instance, and refuse each attack.
# Everything runs on 127.0.0.1; exits non-zero on the first surprise.
#
#   bash tests/peers/tuf/check.sh            (installs nothing: run `source scripts/peers.sh && install_peers` once)
set -euo pipefail
cd "$(dirname "$0")/../../.."
# shellcheck source=scripts/peers.sh disable=SC1091
source scripts/peers.sh >/dev/null
export NO_PROXY=127.0.0.1 no_proxy=127.0.0.1
unset HTTPS_PROXY https_proxy HTTP_PROXY http_proxy ALL_PROXY all_proxy

W=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$W"; }
trap cleanup EXIT
export HOME="$W/home" XDG_DATA_HOME="$W/xdg-data" XDG_CACHE_HOME="$W/xdg-cache" TUF_ROOT="$W/cosign-tuf"
mkdir -p "$HOME"

PY=$FERROSIGN_TUF_PYTHON
MR=(tests/peers/tuf/make_repo.py)
COSIGN=$FERROSIGN_COSIGN_V3
SIGSTORE=$FERROSIGN_SIGSTORE_VENV/bin/sigstore
ID=https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main
ISSUER=https://token.actions.githubusercontent.com

mr() { "$PY" "${MR[@]}" "$1" --dir "$W/repo" "${@:2}" >/dev/null; }
field() { "$PY" -c 'import json,sys;print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# The test Sigstore instance and the repository, stopped by the trap.
"$PY" tests/peers/sigstore/fake_sigstore.py --dir "$W/sig" --no-stdin-watch > "$W/sig.out" &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$W/sig/ready.json" ] && break; sleep 0.1; done
[ -s "$W/sig/ready.json" ] || fail "fake_sigstore.py did not start"
SIG=$(field "$W/sig/ready.json" url)
mr init --from-sigstore "$W/sig"
"$PY" "${MR[@]}" serve --dir "$W/repo" --no-stdin-watch > "$W/repo.out" &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$W/repo.out" ] && break; sleep 0.1; done
URL=$(sed 's/^READY //' "$W/repo.out" | "$PY" -c 'import json,sys;print(json.load(sys.stdin)["url"])')
echo "== repository at $URL, Sigstore at $SIG"

sign_cosign() { "$COSIGN" sign-blob --yes --identity-token "$(field "$W/sig/ready.json" token)" --bundle "$2" "$1" > "$W/out" 2>&1; }
sign_python() { "$SIGSTORE" --instance "$URL" sign --identity-token "$(field "$W/sig/ready.json" token)" --bundle "$2" "$1" > "$W/out" 2>&1; }
verify_cosign() { "$COSIGN" verify-blob --bundle "$2" --certificate-identity "$ID" --certificate-oidc-issuer "$ISSUER" "$1" > "$W/out" 2>&1; }
verify_python() { "$SIGSTORE" --instance "$URL" verify identity --cert-identity "$ID" --cert-oidc-issuer "$ISSUER" --bundle "$2" "$1" > "$W/out" 2>&1; }
ok() { "$@" || { cat "$W/out" >&2; fail "$*"; }; }
refused() { # refused PATTERN CMD...: the command fails and says PATTERN
  local pattern=$1; shift
  if "$@"; then fail "accepted: $*"; fi
  grep -q -- "$pattern" "$W/out" || { cat "$W/out" >&2; fail "$* failed without saying '$pattern'"; }
}
bundle_info() { "$PY" -c '
import json,sys; vm=json.load(open(sys.argv[1]))["verificationMaterial"]
print(len(vm.get("timestampVerificationData",{}).get("rfc3161Timestamps",[])), vm["tlogEntries"][0]["logId"]["keyId"], vm["tlogEntries"][0]["kindVersion"]["version"])' "$1"; }

echo "== bootstrap: cosign initialize, sigstore trust-instance"
"$COSIGN" initialize --mirror "$URL" --root "$W/repo/root.json" > "$W/out" 2>&1 || { cat "$W/out"; fail "cosign initialize"; }
[ -s "$TUF_ROOT/remote.json" ] || fail "cosign initialize wrote no remote.json"
ok "$SIGSTORE" --instance "$URL" trust-instance "$W/repo/root.json"

echo "== sign and verify with the published signing config and trusted root"
echo one > "$W/a.txt"
ok sign_cosign "$W/a.txt" "$W/a.cosign.json"
ok sign_python "$W/a.txt" "$W/a.python.json"
for b in cosign python; do ok verify_cosign "$W/a.txt" "$W/a.$b.json"; ok verify_python "$W/a.txt" "$W/a.$b.json"; done
old_log=$(bundle_info "$W/a.cosign.json" | cut -d' ' -f2)

echo "== the instance rotates its Rekor key, adds a TSA and a second log"
curl -sf -X POST -d '{"rekor_key": true, "tsa": true, "second_log": "v1"}' "$SIG/__test__/rotate" > /dev/null
echo two > "$W/b.txt"
refused "not enough verified log entries" sign_cosign "$W/b.txt" "$W/b.cosign.json"
mr publish --from-sigstore "$W/sig"
ok sign_cosign "$W/b.txt" "$W/b.cosign.json"
ok sign_python "$W/b.txt" "$W/b.python.json"
for b in cosign python; do
  read -r tsas log _ < <(bundle_info "$W/b.$b.json")
  [ "$tsas" = 1 ] || fail "$b bundle after rotation has $tsas timestamps"
  [ "$log" != "$old_log" ] || fail "$b bundle after rotation still names the old Rekor key"
  for f in a b; do ok verify_cosign "$W/$f.txt" "$W/$f.$b.json"; ok verify_python "$W/$f.txt" "$W/$f.$b.json"; done
done

echo "== attacks are refused, and repair heals them"
attack() { # attack COSIGN_MESSAGE SUBCOMMAND...
  local message=$1; shift
  mr "$@"
  refused "$message" verify_cosign "$W/b.txt" "$W/b.cosign.json"
  refused "Failed to refresh TUF metadata" verify_python "$W/b.txt" "$W/b.cosign.json"
  mr repair
  ok verify_cosign "$W/b.txt" "$W/b.cosign.json"
  ok verify_python "$W/b.txt" "$W/b.cosign.json"
  echo "   $1 ${2:-} ${3:-}: refused"
}
attack "timestamp.json is expired" expire-timestamp
attack "new timestamp version" rollback --role timestamp
attack "new snapshot version" rollback --role snapshot
attack "expected targets.json version" rollback --role targets
attack "not enough signatures" root-below-threshold

fresh_cosign() {
  TUF_ROOT="$W/cosign-fresh" "$COSIGN" initialize --mirror "$URL" --root "$W/repo/root.json" > /dev/null 2>&1 || true
  TUF_ROOT="$W/cosign-fresh" verify_cosign "$W/b.txt" "$W/b.cosign.json"
}
fresh_python() {
  XDG_DATA_HOME="$W/py-fresh/d" XDG_CACHE_HOME="$W/py-fresh/c" \
    "$SIGSTORE" --instance "$URL" trust-instance "$W/repo/root.json" > "$W/out" 2>&1
}
mr corrupt-target trusted_root.json   # only a client that downloads it notices: fresh caches
refused "hash verification failed" fresh_cosign
refused "Failed to download trusted key bundle" fresh_python
mr repair
echo "   corrupt-target: refused"

echo "== root rotation (new root keys, then new online keys)"
mr rotate-root
mr rotate-root --online
ok verify_cosign "$W/b.txt" "$W/b.python.json"
ok verify_python "$W/b.txt" "$W/b.cosign.json"
grep -q "GET /3.root.json 200" "$W/repo/requests.log" || fail "no client fetched 3.root.json"
echo "== ok: cosign v3 and sigstore-python trust the loopback TUF repository and refuse its attacks"
