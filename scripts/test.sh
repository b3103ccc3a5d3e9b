#!/usr/bin/env bash
# The whole test suite, on a fresh machine or a warm one: installs what the tests need (skipping what is
# present), then runs fmt, clippy and every test against real peers on loopback.
#   bash scripts/test.sh            # everything
#   bash scripts/test.sh --no-lint  # tests only
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/peers.sh
install_peers
# Compiled dependencies are kept across runs and fresh clones (CI clones anew each time).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$FERROSIGN_CACHE/target}"

lint=1
[ "${1:-}" = "--no-lint" ] && lint=0
start=$(date +%s)
if [ "$lint" = 1 ]; then
  echo "== cargo fmt --check"; cargo fmt --all --check
  echo "== cargo clippy --all-targets -- -D warnings"; cargo clippy --all-targets --quiet -- -D warnings
fi
echo "== cargo test"
cargo test --all-targets 2>&1 | tee .cache/test.log
echo "== suite took $(( $(date +%s) - start ))s"
