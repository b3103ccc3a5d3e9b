#!/usr/bin/env bash
# Builds the static release binary that the container image ships (what the Dockerfile's build stage
# does, outside Docker: the musl target, musl-gcc for aws-lc's C), checks that it needs no shared library,
# reports its size, and smoke-tests it: `--version`, and Action mode answering a missing input the runner's
# way. The musl target and musl-gcc are installed when missing (rustup, Debian's musl-tools); when that is
# not possible the build fails: there is no fallback to another target.
#   bash scripts/static-build.sh      # the binary: $CARGO_TARGET_DIR/<arch>-unknown-linux-musl/release/ferrosign
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/peers.sh
install_musl_target
target="$(uname -m)-unknown-linux-musl"
echo "== static build: cargo build --release --locked --target $target"
cargo build --release --locked --quiet --target "$target"
bin="${CARGO_TARGET_DIR:-target}/$target/release/ferrosign"
dynamic=$(readelf -d "$bin")
if grep -q NEEDED <<<"$dynamic"; then
  echo "error: $bin needs shared libraries:"; grep NEEDED <<<"$dynamic"; exit 1
fi
size=$(stat -c %s "$bin")
echo "== static binary: $bin: $size bytes ($(( size / 1024 )) KiB), no shared libraries"
"$bin" --version
work=$(mktemp -d)
set +e
bin=$(realpath "$bin")
smoke=$(cd "$work" && env -i PATH=/usr/bin:/bin GITHUB_ACTIONS=true "$bin" 2>/dev/null)
code=$?
set -e
rm -rf "$work"
# shellcheck disable=SC2016  # the backquotes are literal
if [ "$code" != 2 ] || ! grep -q '^::error::input `images` is empty' <<<"$smoke"; then
  echo "error: Action mode smoke test failed (exit $code): $smoke"; exit 1
fi
echo "== static binary answers in Action mode: ok"
