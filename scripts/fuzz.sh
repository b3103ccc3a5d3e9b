#!/usr/bin/env bash
# Fuzzing (issue 13): each cargo-fuzz target of fuzz/ (libFuzzer, nightly toolchain) for a bounded time.
# NOT part of the default run (scripts/test.sh runs the targets' entry points once on seeds, as unit tests
# of src/fuzzing.rs).
#
#   bash scripts/fuzz.sh                     # every target, 60 s each
#   bash scripts/fuzz.sh 300 bundle key_pem  # those targets, 300 s each
#
# What each run found (targets, time, executions, crashes): docs/fuzz.md.
# The targets: image_reference, key_pem, key_json, annotations, bundle, oci_manifest, rekor_answer (each
# calls one entry point of src/fuzzing.rs). Limits per input: 10 s, 1 GiB of RSS, 64 KiB long. Corpora
# grow in .cache/fuzz/corpus/TARGET (kept between runs, not committed); a crash leaves its input in
# fuzz/artifacts/TARGET/ and makes the run exit 1 after the other targets ran: turn it into a regression
# test in src/fuzzing.rs, fix, and delete the artifact.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/peers.sh
install_cargo_tool cargo-fuzz "$CARGO_FUZZ_VERSION"
if ! rustup toolchain list | grep -q '^nightly'; then
  echo "== installing the nightly toolchain (cargo-fuzz needs it for libFuzzer's instrumentation)"
  rustup toolchain install nightly --profile minimal
fi
secs="${1:-60}"
[ $# -gt 0 ] && shift
export PATH="$(dirname "$FERROSIGN_CARGO_FUZZ"):$PATH"
# fuzz/ is a workspace of its own; its lockfile starts as the crate's, so the fuzzed dependencies are the
# versions the suite tests (not committed; cargo adds libfuzzer-sys to it).
[ -f fuzz/Cargo.lock ] || cp Cargo.lock fuzz/Cargo.lock
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list --fuzz-dir fuzz)
fi
# Its own target dir: the instrumented nightly build shares nothing with the suite's.
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$FERROSIGN_CACHE/target-fuzz}"
failed=()
for t in "${targets[@]}"; do
  corpus=".cache/fuzz/corpus/$t"
  mkdir -p "$corpus"
  echo "== fuzz $t for ${secs}s (corpus $corpus: $(find "$corpus" -type f | wc -l) inputs)"
  if ! cargo +nightly fuzz run --fuzz-dir fuzz "$t" "$corpus" -- \
      -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 -max_len=65536 -print_final_stats=1 \
      2>&1 | tee ".cache/fuzz/$t.log" | grep -E '^(#[0-9]+ +DONE|Done|==[0-9]+==|SUMMARY|stat::number_of_executed_units|artifact_prefix|Test unit written)'; then
    :
  fi
  if grep -qE 'Test unit written|SUMMARY: libFuzzer' ".cache/fuzz/$t.log"; then
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "== crashes in: ${failed[*]} (inputs in fuzz/artifacts/)"; exit 1
fi
echo "== no crash in ${#targets[@]} targets, ${secs}s each"
