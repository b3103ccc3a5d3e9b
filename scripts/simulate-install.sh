#!/usr/bin/env bash
# Follows the README's "Install the CLI" steps literally against a simulated release on loopback, to show
# that they work with the real asset names and files, and that they stop a tampered download:
#   1. the release asset of this machine's Linux target, made by scripts/build-release-binary.sh (as the
#      release workflow's `binaries` job makes it: `ferrosign-linux-amd64` + `.sha256`);
#   2. its Sigstore bundle, made as the `sign-binaries` job makes it (`ferrosign sign-blob --yes --bundle`,
#      keyless in Actions), against the test Sigstore instance (tests/peers/sigstore/fake_sigstore.py) whose
#      Actions tokens name the release workflow: acme/ferrosign/.github/workflows/release.yml@refs/heads/main;
#   3. the three files served over loopback HTTP under /acme/ferrosign/releases/download/v1.2.3/;
#   4. the README's shell blocks of that section, run with bash -euo pipefail after exact, counted rewrites
#      (the download base -> loopback, `--trusted-root` of the test instance on each verify-blob,
#      `sudo install … /usr/local/bin` -> a temporary bin directory); any rewrite that does not match exactly
#      once fails the run, so the README cannot drift from what is checked here.
# Then again with a binary swapped on the server (the checksum step stops it) and with the binary and its
# checksum swapped (the Sigstore bundle stops it). Installs what it needs through scripts/peers.sh (cosign
# v3, the sigstore-python venv, the musl target, curl); run by scripts/test.sh, after the static build it
# reuses. Exit 1 on any unexpected result.
# shellcheck disable=SC2016  # single quotes on purpose: the README's text, `$asset` and all
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
cd "$root"
# shellcheck disable=SC1091  # sourced as scripts/test.sh sources it
source scripts/peers.sh >/dev/null
# What it needs, installed when missing (as scripts/test.sh installs it), so that it also runs on its own.
install_cosign v3 "$COSIGN_V3_VERSION"
install_sigstore_peers
install_musl_target
apt_install curl curl
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$FERROSIGN_CACHE/target}"
py="$FERROSIGN_SIGSTORE_VENV/bin/python"
cosign_dir=$(dirname "$FERROSIGN_COSIGN_V3")
# Nothing leaves the machine: every proxy is a dead loopback port, loopback itself is direct.
export HTTPS_PROXY=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 \
  http_proxy=http://127.0.0.1:9 ALL_PROXY=http://127.0.0.1:9 NO_PROXY=127.0.0.1,localhost,::1 \
  no_proxy=127.0.0.1,localhost,::1

work=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

case "$(uname -m)" in
  x86_64) target=x86_64-unknown-linux-musl asset=ferrosign-linux-amd64 ;;
  aarch64) target=aarch64-unknown-linux-musl asset=ferrosign-linux-arm64 ;;
  *) echo "error: no Linux release asset for $(uname -m)" >&2; exit 1 ;;
esac
version=v1.2.3

echo "== 0. one list of release assets: build-release-binary.sh, release.yml, ci.yml, README.md, RELEASING.md"
# TARGET ASSET pairs, sorted, from each place that names them.
from_builder=$(sed -nE 's/^  ([a-z0-9_]+(-[a-z0-9_]+)+)\) asset=([A-Za-z0-9._-]+) ;;$/\1 \3/p' scripts/build-release-binary.sh | sort)
matrix() { sed -nE 's/^ +- \{ target: ([a-z0-9_-]+), runner: [a-z0-9.-]+ \}$/\1/p' "$1" | sort; }
readme_assets=$(sed -nE 's/^\| [^|]+ \| `([^`]+)` \| `([^`]+)` \| `([^`]+)` \|$/\1 \2 \3/p' README.md |
  while read -r a sum bundle; do
    [ "$sum" = "$a.sha256" ] && [ "$bundle" = "$a.sigstore.json" ] || echo "bad-row:$a"
    echo "$a"
  done | sort)
releasing_pairs=$(sed -nE 's/^\| `([a-z0-9_-]+)` \| `([^`]+)` \| .*\|$/\1 \2/p' RELEASING.md | sort)
[ "$(wc -l <<<"$from_builder")" -ge 5 ] || { echo "error: build-release-binary.sh: no target list found" >&2; exit 1; }
same() { # same WHAT EXPECTED ACTUAL
  [ "$2" = "$3" ] || { echo "error: $1 differs from scripts/build-release-binary.sh:" >&2; diff <(echo "$2") <(echo "$3") >&2 || true; exit 1; }
}
same "the targets of release.yml's binaries matrix" "$(cut -d' ' -f1 <<<"$from_builder")" "$(matrix .github/workflows/release.yml)"
same "the targets of ci.yml's binaries matrix" "$(cut -d' ' -f1 <<<"$from_builder")" "$(matrix .github/workflows/ci.yml)"
same "README.md's asset table (binary, .sha256, .sigstore.json)" "$(cut -d' ' -f2 <<<"$from_builder" | sort)" "$readme_assets"
same "RELEASING.md's target/asset table" "$from_builder" "$releasing_pairs"
if ! grep -q '^ *chmod +x ferrosign-linux-amd64$' .github/workflows/release.yml ||
  ! grep -q '^x86_64-unknown-linux-musl ferrosign-linux-amd64$' <<<"$from_builder"; then
  echo "error: release.yml's sign-binaries job does not sign with the x86_64 Linux asset" >&2; exit 1
fi
echo "    $(wc -l <<<"$from_builder") assets, the same everywhere"

echo "== 1. the release asset: scripts/build-release-binary.sh $target"
bash scripts/build-release-binary.sh "$target" "$work/dist" | sed 's/^/    /'
for f in "$asset" "$asset.sha256"; do
  [ -f "$work/dist/$f" ] || { echo "error: build-release-binary.sh wrote no $f" >&2; exit 1; }
done

echo "== 2. its Sigstore bundle, keyless in Actions, against the test Sigstore instance"
mkdir -p "$work/sigstore"
# The instance exits when its stdin closes: the fifo stays open (fd 7) until this script ends.
mkfifo "$work/fake.in" "$work/fake.out"
"$py" tests/peers/sigstore/fake_sigstore.py --dir "$work/sigstore" \
  --claim "sub=repo:acme/ferrosign:ref:refs/heads/main" --claim repository=acme/ferrosign \
  --claim job_workflow_ref=acme/ferrosign/.github/workflows/release.yml@refs/heads/main \
  --claim workflow_ref=acme/ferrosign/.github/workflows/release.yml@refs/heads/main \
  --claim event_name=workflow_dispatch \
  < "$work/fake.in" > "$work/fake.out" &
pids+=($!)
exec 7> "$work/fake.in"
exec 8< "$work/fake.out"
IFS= read -r -t 60 ready <&8 || { echo "error: the test Sigstore instance did not start within 60 s" >&2; exit 1; }
ready=${ready#READY }
field() { "$py" -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$ready" "$1"; }
sigstore_url=$(field url)
trusted_root=$(field trusted_root)
identity=$(field identity)
[ "$identity" = "https://github.com/acme/ferrosign/.github/workflows/release.yml@refs/heads/main" ] ||
  { echo "error: the test instance signs for $identity" >&2; exit 1; }
(cd "$work/dist" &&
  env GITHUB_ACTIONS=true ACTIONS_ID_TOKEN_REQUEST_URL="$(field actions_id_token_request_url)" \
    ACTIONS_ID_TOKEN_REQUEST_TOKEN="$(field actions_id_token_request_token)" \
    "./$asset" sign-blob --yes --bundle "$asset.sigstore.json" \
    --fulcio-url "$sigstore_url" --rekor-url "$sigstore_url" --trusted-root "$trusted_root" \
    "$asset" > /dev/null)
echo "    $asset.sigstore.json for $identity"

echo "== 3. the release, served on loopback"
serve_dir=$work/www/acme/ferrosign/releases/download/$version
mkdir -p "$serve_dir"
publish() { cp "$work/dist/$asset" "$work/dist/$asset.sha256" "$work/dist/$asset.sigstore.json" "$serve_dir/"; }
publish
mkfifo "$work/http.out"
"$py" -u -c '
import functools, http.server, sys
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
handler.func.log_message = lambda *a: None
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
print(server.server_address[1], flush=True)
server.serve_forever()' "$work/www" > "$work/http.out" &
pids+=($!)
exec 9< "$work/http.out"
IFS= read -r -t 30 port <&9 || { echo "error: the loopback HTTP server did not start within 30 s" >&2; exit 1; }
echo "    http://127.0.0.1:$port/acme/ferrosign/releases/download/$version/"

echo "== 4. the README's steps"
# The ```sh blocks of the README section "## Install the CLI", in order.
blocks=$(awk '
  /^## / { insec = ($0 == "## Install the CLI") }
  insec && /^```/ { if (inblock) { inblock = 0; print "# --- end of block" } else if ($0 == "```sh") inblock = 1; next }
  insec && inblock { print }' README.md)
[ "$(grep -c '^# --- end of block$' <<<"$blocks")" = 2 ] ||
  { echo "error: expected two \`\`\`sh blocks under \"## Install the CLI\" in README.md" >&2; exit 1; }
script=$blocks
# rewrite FROM TO: replace the exact text FROM, which must occur exactly once.
rewrite() {
  local n
  n=$(grep -cF -- "$1" <<<"$script" || true)
  [ "$n" = "$3" ] || { echo "error: README.md: expected $3 line(s) with \`$1\`, found $n" >&2; exit 1; }
  script=${script//"$1"/"$2"}
}
rewrite 'version=v1.2.3 ' "version=$version " 1
rewrite 'asset=ferrosign-linux-amd64 ' "asset=$asset " 1
rewrite 'base=https://github.com/acme/ferrosign/releases/download/$version' \
  "base=http://127.0.0.1:$port/acme/ferrosign/releases/download/\$version" 1
# shellcheck disable=SC1003  # the README line ends with a backslash
rewrite 'verify-blob "$asset" --bundle "$asset.sigstore.json" \' \
  "verify-blob \"\$asset\" --bundle \"\$asset.sigstore.json\" --trusted-root \"$trusted_root\" \\" 2
rewrite 'sudo install -m 0755 "$asset" /usr/local/bin/ferrosign' 'install -m 0755 "$asset" "$BIN/ferrosign"' 1
# What the README promises must still be there after the rewrites.
for want in 'sha256sum -c "$asset.sha256"' 'cosign verify-blob "$asset"' 'ferrosign verify-blob "$asset"' \
  '--certificate-identity https://github.com/acme/ferrosign/.github/workflows/release.yml@refs/heads/main' \
  '--certificate-oidc-issuer https://token.actions.githubusercontent.com'; do
  grep -qF -- "$want" <<<"$script" || { echo "error: README.md's install steps lack \`$want\`" >&2; exit 1; }
done

# follow NAME: runs the steps in a fresh directory as a user would (cosign v3 and the installed
# ferrosign on PATH, an empty home); prints the transcript on failure.
follow() {
  local dir=$work/user-$1
  mkdir -p "$dir/home" "$dir/bin"
  (cd "$dir" && env -i PATH="$dir/bin:$cosign_dir:/usr/bin:/bin" HOME="$dir/home" BIN="$dir/bin" \
    TUF_ROOT="$dir/home/.sigstore-tuf" HTTPS_PROXY="$HTTPS_PROXY" HTTP_PROXY="$HTTP_PROXY" \
    https_proxy="$https_proxy" http_proxy="$http_proxy" ALL_PROXY="$ALL_PROXY" NO_PROXY="$NO_PROXY" \
    no_proxy="$no_proxy" bash -euo pipefail -c "$script") > "$dir.log" 2>&1
}
checks=0 failures=0
pass() { checks=$((checks + 1)); echo "PASS: $1"; }
bad() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL: $1"; sed 's/^/    /' "$2"; }

# cosign and the installed ferrosign each print "Verified OK"; ferrosign names the identity.
if follow genuine && [ -x "$work/user-genuine/bin/ferrosign" ] &&
  cmp -s "$work/user-genuine/bin/ferrosign" "$work/dist/$asset" &&
  [ "$(grep -c '^Verified OK$' "$work/user-genuine.log")" = 2 ] &&
  grep -qF "identity: $identity" "$work/user-genuine.log"; then
  pass "the README's steps download, check, verify (cosign, then ferrosign) and install $asset"
else
  bad "the README's steps on the genuine release" "$work/user-genuine.log"
fi

# A binary swapped on the server, its checksum file left alone: sha256sum -c stops it.
printf 'not ferrosign\n' > "$serve_dir/$asset"
if follow swapped-binary; then
  bad "a swapped binary got through" "$work/user-swapped-binary.log"
elif grep -q 'FAILED' "$work/user-swapped-binary.log" && [ ! -e "$work/user-swapped-binary/bin/ferrosign" ]; then
  pass "a swapped binary: the checksum step fails and nothing is installed"
else
  bad "a swapped binary: failed, but not at the checksum step" "$work/user-swapped-binary.log"
fi

# The binary and its checksum file swapped together: only the Sigstore bundle stops it.
(cd "$serve_dir" && sha256sum "$asset" > "$asset.sha256")
if follow swapped-both; then
  bad "a swapped binary with a matching checksum got through" "$work/user-swapped-both.log"
elif grep -q "$asset: OK" "$work/user-swapped-both.log" && grep -q 'failed to verify signature' "$work/user-swapped-both.log" &&
  [ ! -e "$work/user-swapped-both/bin/ferrosign" ]; then
  pass "a swapped binary with a matching checksum: the checksum passes, cosign verify-blob fails, nothing is installed"
else
  bad "a swapped binary with a matching checksum: failed, but not at the bundle step" "$work/user-swapped-both.log"
fi
publish

echo "== $checks checks, $failures failed"
[ "$failures" = 0 ]
