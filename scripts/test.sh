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
  echo "== layers (imports point down, no cycle; only the front-ends read the environment)"; bash scripts/check-layers.sh
  echo "== cargo clippy --all-targets -- -D warnings"; cargo clippy --all-targets --quiet -- -D warnings
  echo "== hadolint Dockerfile"; "$FERROSIGN_LINT_VENV/bin/hadolint" Dockerfile
  echo "== actionlint"; PATH="$FERROSIGN_LINT_VENV/bin:$PATH" "$FERROSIGN_ACTIONLINT" .github/workflows/*.yml examples/*.yml
  # cargo-deny is slow to compile, so it is used when present (CI installs it; locally:
  # `cargo install cargo-deny --locked --root ~/.cache/ferrosign/cargo-deny`); advisories need the network.
  PATH="$FERROSIGN_CACHE/cargo-deny/bin:$PATH"
  if command -v cargo-deny >/dev/null; then
    echo "== cargo deny check bans licenses sources"; cargo deny --log-level error check bans licenses sources
  fi
fi
# The static binary the container image ships (the Dockerfile's build stage, outside Docker).
bash scripts/static-build.sh
echo "== cargo test"
cargo test --all-targets 2>&1 | tee .cache/test.log
echo "== suite took $(( $(date +%s) - start ))s"
