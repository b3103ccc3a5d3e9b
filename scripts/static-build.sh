#!/usr/bin/env bash
# Builds the static release binary that the container image ships (what the Dockerfile's build stage
# does, outside Docker), checks that it needs no shared library, reports its size, and smoke-tests it:
# `--version`, and Action mode answering a missing input the runner's way.
#   bash scripts/static-build.sh
# musl (x86_64-unknown-linux-musl + musl-gcc) when available, as in the image; otherwise a static glibc
# build (`-C target-feature=+crt-static`) with a warning, which proves less (DNS needs glibc's NSS).
set -euo pipefail
cd "$(dirname "$0")/.."
arch=$(uname -m)
musl="$arch-unknown-linux-musl"
if rustup target list --installed 2>/dev/null | grep -qx "$musl" && command -v musl-gcc >/dev/null; then
  target=$musl
else
  echo "warning: no $musl target or no musl-gcc here: building a static glibc binary instead"
  target="$arch-unknown-linux-gnu"
  export RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static"
fi
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
