#!/usr/bin/env bash
# The whole test suite, on a fresh machine or a warm one: installs what the tests need (skipping what is
# present), then runs fmt, clippy, hadolint, actionlint, shellcheck, cargo-deny, the simulated release, the
# static build, the README's install steps on a simulated release asset, every test against real peers on
# loopback, and a subset of the end-to-end tests again against the shipped static binary.
#   bash scripts/test.sh            # everything
#   bash scripts/test.sh --no-lint  # tests only (the skipped checks are named, loudly)
# Nothing is skipped silently: a check that cannot run here fails the run, or prints one `!! SKIPPED:` line
# saying what and why.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/peers.sh
install_peers
# Compiled dependencies are kept across runs and fresh clones (CI clones anew each time).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$FERROSIGN_CACHE/target}"

skipped() { echo "!! SKIPPED: $*"; }
lint=1
[ "${1:-}" = "--no-lint" ] && lint=0
start=$(date +%s)
if [ "$lint" = 1 ]; then
  echo "== cargo fmt --check"; cargo fmt --all --check
  echo "== layers (imports point down, no cycle; only the front-ends read the environment)"; bash scripts/check-layers.sh
  echo "== cargo clippy --all-targets -- -D warnings"; cargo clippy --all-targets --quiet -- -D warnings
  echo "== hadolint Dockerfile"; "$FERROSIGN_LINT_VENV/bin/hadolint" Dockerfile
  echo "== actionlint"; PATH="$FERROSIGN_LINT_VENV/bin:$PATH" "$FERROSIGN_ACTIONLINT" .github/workflows/*.yml examples/*.yml
  echo "== shellcheck (release scripts)"; "$FERROSIGN_LINT_VENV/bin/shellcheck" scripts/check-release-pin.sh \
    scripts/release-git.sh scripts/release-notes.sh scripts/simulate-release.sh scripts/build-release-binary.sh \
    scripts/simulate-install.sh
  echo "== cargo deny check bans licenses sources ($("$FERROSIGN_CARGO_DENY" --version))"
  PATH="$(dirname "$FERROSIGN_CARGO_DENY"):$PATH" cargo deny --log-level error check bans licenses sources
  skipped "cargo deny check advisories: the RustSec advisory database is cloned from GitHub, which this machine cannot reach (CI's deny job in .github/workflows/ci.yml runs it)"
else
  skipped "cargo fmt, the layers check, clippy, hadolint, actionlint, shellcheck, cargo deny (--no-lint was given)"
fi
# The git steps of the release workflow on throwaway repositories: version tags must pin the image digest.
echo "== simulated release (scripts/simulate-release.sh)"
bash scripts/simulate-release.sh > .cache/simulate-release.log 2>&1 || { cat .cache/simulate-release.log; exit 1; }
tail -n 1 .cache/simulate-release.log
# The static binary the container image ships (the Dockerfile's build stage, outside Docker).
bash scripts/static-build.sh
# The README's "Install the CLI" steps, as written, on a release asset built and signed as the release
# workflow does it (the same cargo build as above: nothing is compiled again).
echo "== the README's install steps on a simulated release (scripts/simulate-install.sh)"
bash scripts/simulate-install.sh > .cache/simulate-install.log 2>&1 || { cat .cache/simulate-install.log; exit 1; }
tail -n 1 .cache/simulate-install.log
shipped="$CARGO_TARGET_DIR/$(uname -m)-unknown-linux-musl/release/ferrosign"
echo "== cargo test"
cargo test --all-targets 2>&1 | tee .cache/test.log
# The binary that ships, driven end to end at least once per run: key and keyless signing in Action mode,
# the CLI against a plain, a TLS and a Bearer-token registry, each checked by cosign.
shipped_tests=(
  action_sign::key_signing_writes_outputs_summary_and_cosign_accepts_the_printed_command
  action_sign::keyless_signing_in_actions_reports_identity_and_rekor_entries
  registry::cosign_v2_and_v3_verify_what_ferrosign_signed_with_annotations
  registry_peers::bearer_token_registry_ferrosign_signs_and_cosign_verifies
  registry_peers::tls_registry_with_a_test_ca_ferrosign_signs_and_cosign_verifies
  registry_peers::ghcr_like_registry_tls_and_bearer_tokens
)
echo "== cargo test against the shipped static binary (FERROSIGN_BIN=$shipped): ${#shipped_tests[@]} tests"
FERROSIGN_BIN="$(realpath "$shipped")" cargo test --test it -- --exact "${shipped_tests[@]}" 2>&1 | tee .cache/test-shipped.log
if ! grep -q "^test result: ok. ${#shipped_tests[@]} passed" .cache/test-shipped.log; then
  echo "error: the shipped binary did not run all ${#shipped_tests[@]} tests (renamed?): see .cache/test-shipped.log"; exit 1
fi
echo "== suite took $(( $(date +%s) - start ))s"
