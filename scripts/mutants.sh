#!/usr/bin/env bash
# Mutation testing of the security modules (issue 16), with cargo-mutants. NOT part of the default run
# (scripts/test.sh): one mutant costs a rebuild and a test run, minutes on the 2-core machine.
#
#   bash scripts/mutants.sh                 # every mutant of the security modules, within the budget
#   bash scripts/mutants.sh --list          # just list them (seconds)
#   MUTANTS_BUDGET_MIN=90 bash scripts/mutants.sh -F 'payload_rejection|mask'   # a budget, a subset
#   MUTANTS_TEST_TARGETS=--lib MUTANTS_TESTS=:: bash scripts/mutants.sh   # judged by the unit tests only
#                                                       # (no integration build per mutant: minutes saved)
#
# What is mutated (MUTANTS_FILES): verification (ops/verify_image.rs, sigstore/verify/), the Rekor and
# Fulcio answer checks (sigstore/rekor.rs, sigstore/fulcio.rs), the `.sig` write (oci/layout.rs), sealing
# (stores/github.rs) and masking (gha/, secret.rs, the Action's secret collection in front/inputs.rs).
# Which tests judge them (MUTANTS_TESTS): the unit tests, plus the integration tests that exercise those
# modules end to end (filters on test names), never the whole suite.
# The run stops after MUTANTS_BUDGET_MIN minutes (default 120); what was tested by then is counted.
# Results: .cache/mutants/mutants.out/ (caught.txt, missed.txt, timeout.txt, unviable.txt, outcomes.json)
# and a one-line summary; docs/mutants.md records the figures and each survivor's test or reason.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/peers.sh
budget_min="${MUTANTS_BUDGET_MIN:-120}"
files=(${MUTANTS_FILES:-
  src/ops/verify_image.rs
  'src/sigstore/verify/*.rs'
  src/sigstore/rekor.rs
  src/sigstore/fulcio.rs
  src/oci/layout.rs
  src/stores/github.rs
  'src/gha/*.rs'
  src/secret.rs
  src/front/inputs.rs
})
# The tests that judge them: substring filters on test names, applied to the unit tests (module paths)
# and to the integration tests (tests/it modules) alike.
tests=(${MUTANTS_TESTS:-
  guards::
  leaks::
  verify::tampered_image_signature_layers_are_refused
  verify::tamper_matrix
  verify::wrong_instance_and_untrusted_material
  verify::a_cert_from_a_ca_outside_the_root
  keyless::keyless_faults_fail
  keyless::keyless_image_signatures_are_accepted
  registry::
  action::secrets_never_leak
  action_sign::secrets_never_leak
  secrets::repo_secrets_open_with_libsodium
  secrets::in_actions_secrets_are_masked
  gha::
  escape::
  secret::
  ops::verify_image::
  sigstore::
  oci::layout::
  stores::github::
  front::inputs::
})
args=()
for f in "${files[@]}"; do args+=(--file "$f"); done
# Which test targets run: the unit tests and the integration binary, or fewer (MUTANTS_TEST_TARGETS).
read -r -a test_targets <<<"${MUTANTS_TEST_TARGETS:---lib --test it}"

install_peers
install_cargo_tool cargo-mutants "$CARGO_MUTANTS_VERSION"
if [ "${1:-}" = "--list" ]; then
  shift
  exec "$FERROSIGN_CARGO_MUTANTS" mutants --list "${args[@]}" "$@"
fi
# Its own target dir (the copy cargo-mutants builds in would otherwise clobber the suite's), seeded
# once from the suite's so that dependencies are not compiled again.
export CARGO_TARGET_DIR="${MUTANTS_TARGET_DIR:-$FERROSIGN_CACHE/target-mutants}"
if [ ! -d "$CARGO_TARGET_DIR" ] && [ -d "$FERROSIGN_CACHE/target" ]; then
  cp -r "$FERROSIGN_CACHE/target" "$CARGO_TARGET_DIR"
fi
mkdir -p .cache
echo "== cargo-mutants $("$FERROSIGN_CARGO_MUTANTS" mutants --version | awk '{print $2}'): ${files[*]}; budget ${budget_min} min"
start=$(date +%s)
set +e
timeout --signal=INT --kill-after=60 "$((budget_min * 60))" \
  "$FERROSIGN_CARGO_MUTANTS" mutants "${args[@]}" --jobs 1 --output .cache/mutants \
  --minimum-test-timeout 120 "$@" -- "${test_targets[@]}" -- "${tests[@]}"
rc=$?
set -e
out=.cache/mutants/mutants.out
count() { [ -f "$out/$1" ] && grep -c . "$out/$1" || echo 0; }
caught=$(count caught.txt) missed=$(count missed.txt) timeouts=$(count timeout.txt) unviable=$(count unviable.txt)
echo "== mutants: $((caught + missed + timeouts + unviable)) tested in $(( ($(date +%s) - start) / 60 )) min: caught $caught, survived $missed, timeout $timeouts, unviable $unviable (exit $rc$([ "$rc" = 124 ] && echo ', budget reached'))"
[ "$missed" = 0 ] || { echo "== survivors:"; cat "$out/missed.txt"; }
