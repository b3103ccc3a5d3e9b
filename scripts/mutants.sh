#!/usr/bin/env bash
# Mutation testing of the security modules (issue 16), with cargo-mutants. NOT part of the default run
# (scripts/test.sh): one mutant costs an incremental rebuild and a test run, 10 to 60 s on the 2-core
# machine (docs/mutants.md, "What one mutant costs").
#
# Two stages, bounded together by MUTANTS_BUDGET_MIN (default 100) minutes:
#   1. file by file, every mutant of MUTANTS_FILES judged by that file's unit tests only (`cargo test
#      --lib -- <filters>`, the filters in `unit_filters` below, or MUTANTS_UNIT_FILTERS for every
#      file): one incremental build of the library's test binary per mutant, no integration build
#      (`-C --lib` puts `--lib` on cargo-mutants' build command too, which otherwise builds every test
#      target);
#   2. the survivors of stage 1 only, file by file, judged by the integration tests that exercise that
#      file (`cargo test --test it -- <filters>`, the filters in `it_filters` below), with whatever
#      budget stage 1 left (stage 1 stops MUTANTS_STAGE2_MIN, default 30, minutes before the end).
#
# What makes a mutant cheap (measured in docs/mutants.md):
#   - our crate built without debug info and linked with `strip = "debuginfo"` (.cargo/mutants.toml's
#     `additional_cargo_args`: `--config profile.test.package.ferrosign.…`): the test binary drops from
#     about 200 MB to 26 MB and each rebuild does less; the dependencies keep their warm dev builds;
#   - `--in-place` (MUTANTS_IN_PLACE=0 for a scratch copy): the mutants are built where the tree is, so
#     the warm target dir's incremental state is used from the first mutant instead of a full build of
#     the crate in a new directory. The tree's src/ must be clean (checked), and the files are restored
#     from git if cargo-mutants is killed before it could put them back (so do not edit src/ in that
#     tree while it runs: use a second worktree);
#   - the unit-test filters per file: each mutant runs only the tests of its own module(s);
#   - `.cargo/mutants.toml` leaves out the mutants of error hints (docs/mutants.md says why).
#
#   bash scripts/mutants.sh --list                    # just list the mutants (seconds)
#   MUTANTS_BUDGET_MIN=100 bash scripts/mutants.sh    # both stages
#   MUTANTS_STAGE=1 bash scripts/mutants.sh           # stage 1 only (MUTANTS_STAGE=2: stage 2 only,
#                                                     # from the survivors of the last stage 1)
#   MUTANTS_FILES='src/secret.rs src/gha/*.rs' bash scripts/mutants.sh -F 'mask|redact'  # a subset
#   MUTANTS_ITERATE=1 …   # stage 1 skips what the last run caught or found unviable (after new tests)
#   MUTANTS_UNIT_FILTERS='sigstore:: gha::' …   # stage 1 runs these unit tests for every file
#
# Extra arguments go to stage 1's cargo-mutants (`-F REGEX`, `-E REGEX`, `--baseline skip --timeout 300`);
# stage 2 takes exactly the survivors of stage 1, by name.
# Results under .cache/mutants/ (never committed): stage1/<file>/mutants.out and
# stage2/<file>/mutants.out (caught.txt, missed.txt, timeout.txt, unviable.txt, outcomes.json), and
# summary.txt: one line per file and stage (mutants, caught, survived, timeout, unviable) and the
# survivors left after both. docs/mutants.md records the figures and each survivor's test or written
# reason.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/peers.sh
budget_min="${MUTANTS_BUDGET_MIN:-100}"
stage2_min="${MUTANTS_STAGE2_MIN:-30}"
stage="${MUTANTS_STAGE:-both}"
# Verification, the Rekor/Fulcio/TSA answer checks, bundles, the `.sig`/referrers writes, sealing,
# masking.
files=(${MUTANTS_FILES:-
  src/ops/verify_image.rs
  src/sigstore/verify/mod.rs
  src/sigstore/verify/cosign.rs
  src/sigstore/rekor.rs
  src/sigstore/rekor_v2.rs
  src/sigstore/tsa.rs
  src/sigstore/fulcio.rs
  src/sigstore/bundle.rs
  src/oci/layout.rs
  src/oci/referrers.rs
  src/oci/rmw.rs
  src/stores/github.rs
  src/gha/mod.rs
  src/gha/files.rs
  src/gha/escape.rs
  src/secret.rs
  src/front/inputs.rs
})
# Stage 2: the integration tests (tests/it modules, substring filters on test names) that should catch a
# surviving mutant of each file.
it_filters() {
  case "$1" in
    src/ops/verify_image.rs) echo "verify:: guards::a_signature_replayed referrers::" ;;
    src/sigstore/verify/*) echo "verify:: guards::bundles_signed_by_sigstore_js" ;;
    src/sigstore/rekor.rs) echo "guards::signing_refuses keyless::keyless_blob_with keyless::key_mode" ;;
    src/sigstore/rekor_v2.rs | src/sigstore/tsa.rs) echo "trust::rekor_v2 trust::images_are_timestamped verify::rekor_v2 bundle::an_image_signature_is_not_attached_with_another_rekor_v2_entry" ;;
    src/sigstore/fulcio.rs) echo "guards::signing_refuses keyless::keyless_faults keyless::keyless_blob_with" ;;
    src/sigstore/bundle.rs) echo "bundle:: verify::our_own_bundles" ;;
    src/oci/layout.rs | src/oci/rmw.rs) echo "registry:: verify::tampered_image hostile_cases::one_transient_404" ;;
    src/oci/referrers.rs) echo "referrers::" ;;
    src/stores/github.rs) echo "secrets::" ;;
    src/gha/* | src/secret.rs | src/front/inputs.rs) echo "leaks:: action::" ;;
    *) echo "guards::" ;;
  esac
}

# Stage 1: the unit tests (module paths of the library) that should catch a mutant of each file.
unit_filters() {
  if [ -n "${MUTANTS_UNIT_FILTERS:-}" ]; then
    echo "$MUTANTS_UNIT_FILTERS"
    return
  fi
  case "$1" in
    src/ops/verify_image.rs) echo "ops::verify_image sigstore::verify" ;;
    src/sigstore/*) echo "sigstore::" ;;
    # (the `stalled` tests wait out a 15 s manifest deadline: judged apart, docs/mutants.md run 6)
    src/oci/*) echo "oci:: --skip ::stalled::" ;;
    src/stores/*) echo "stores::" ;;
    src/gha/* | src/secret.rs) echo "gha:: secret::" ;;
    src/front/*) echo "front:: gha::" ;;
    *) echo "" ;;
  esac
}

install_peers
install_cargo_tool cargo-mutants "$CARGO_MUTANTS_VERSION"
file_args=()
for f in "${files[@]}"; do file_args+=(--file "$f"); done
if [ "${1:-}" = "--list" ]; then
  shift
  exec "$FERROSIGN_CARGO_MUTANTS" mutants --list "${file_args[@]}" "$@"
fi
# Its own target dir (the scratch copy cargo-mutants builds in would otherwise clobber the suite's),
# seeded once from the suite's so that dependencies are not compiled again.
export CARGO_TARGET_DIR="${MUTANTS_TARGET_DIR:-$FERROSIGN_CACHE/target-mutants}"
if [ ! -d "$CARGO_TARGET_DIR" ] && [ -d "$FERROSIGN_CACHE/target" ]; then
  cp -r "$FERROSIGN_CACHE/target" "$CARGO_TARGET_DIR"
fi
root=.cache/mutants
mkdir -p "$root"
common=()
if [ "${MUTANTS_IN_PLACE:-1}" = 1 ]; then
  if ! git diff --quiet -- src || ! git diff --cached --quiet -- src; then
    echo "scripts/mutants.sh: src/ has uncommitted changes; --in-place mutates and restores src/ files," \
      "so commit or stash them first (or MUTANTS_IN_PLACE=0 for a scratch copy)" >&2
    exit 2
  fi
  common+=(--in-place)
  # cargo-mutants puts each file back after its mutant; if it is killed first, git does.
  trap 'git checkout -- src' EXIT
  # A target dir shared with another checkout holds artifacts built from the same relative paths;
  # cargo judges freshness by modification times, so make this tree's sources the newest.
  find src -name '*.rs' -exec touch {} +
fi
start=$(date +%s)
left_s() { echo $((budget_min * 60 - ($(date +%s) - start))); }
count() { [ -f "$1" ] && grep -c . "$1" || echo 0; }
# figures DIR LABEL: one summary line per source file found in DIR's outcome lists.
figures() {
  local out=$1/mutants.out label=$2 f c m t u
  for f in $(cat "$out"/{caught,missed,timeout,unviable}.txt 2>/dev/null | cut -d: -f1 | sort -u); do
    c=$(grep -c "^$f:" "$out/caught.txt" 2>/dev/null || true)
    m=$(grep -c "^$f:" "$out/missed.txt" 2>/dev/null || true)
    t=$(grep -c "^$f:" "$out/timeout.txt" 2>/dev/null || true)
    u=$(grep -c "^$f:" "$out/unviable.txt" 2>/dev/null || true)
    echo "$label $f: $((${c:-0} + ${m:-0} + ${t:-0} + ${u:-0})) mutants, caught ${c:-0}, survived ${m:-0}, timeout ${t:-0}, unviable ${u:-0}"
  done
}
mutants() {
  # mutants TIMEOUT_S ARGS…: cargo-mutants, stopped (SIGINT: it records what it finished) at TIMEOUT_S.
  local t=$1
  shift
  set +e
  timeout --signal=INT --kill-after=60 "$t" nice -n "${MUTANTS_NICE:-19}" \
    "$FERROSIGN_CARGO_MUTANTS" mutants "$@"
  local rc=$?
  set -e
  [ "$rc" = 124 ] && echo "== budget reached: stopped after ${t} s"
  return 0
}

echo "== cargo-mutants $("$FERROSIGN_CARGO_MUTANTS" mutants --version | awk '{print $2}'): ${files[*]}; budget ${budget_min} min"
if [ "$stage" != 2 ]; then
  t1=$(left_s)
  [ "$stage" = 1 ] || t1=$((t1 - stage2_min * 60))
  end1=$(($(date +%s) + t1))
  iterate=()
  [ -n "${MUTANTS_ITERATE:-}" ] && iterate=(--iterate)
  echo "== stage 1: unit tests (cargo test --lib), at most $((t1 / 60)) min"
  [ -n "${MUTANTS_ITERATE:-}" ] || rm -f "$root/summary.txt"
  for f in "${files[@]}"; do
    t=$((end1 - $(date +%s)))
    if [ "$t" -lt 60 ]; then
      echo "== stage 1: budget spent before $f"
      break
    fi
    read -r -a filters <<<"$(unit_filters "$f")"
    echo "== stage 1: $f against --lib -- ${filters[*]}"
    mkdir -p "$root/stage1/$f"
    mutants "$t" --file "$f" "${common[@]}" "${iterate[@]}" --output "$root/stage1/$f" \
      --minimum-test-timeout 60 -C --lib "$@" -- -- "${filters[@]}"
    figures "$root/stage1/$f" "stage 1" | tee -a "$root/summary.txt"
  done
fi
if [ "$stage" != 1 ]; then
  rm -rf "$root/stage2"
  for f in "${files[@]}"; do
    missed="$root/stage1/$f/mutants.out/missed.txt"
    [ -s "$missed" ] || continue
    t=$(left_s)
    if [ "$t" -lt 300 ]; then
      echo "== stage 2: budget spent before $f"
      break
    fi
    # the survivors of this file, each an exact (escaped) name
    res=()
    while IFS= read -r name; do
      res+=(-F "^$(printf '%s' "$name" | sed 's/[][\\.*^$|+?(){}]/\\&/g')\$")
    done < <(grep "^$f:" "$missed")
    read -r -a filters <<<"$(it_filters "$f")"
    echo "== stage 2: $((${#res[@]} / 2)) survivor(s) of $f against --test it -- ${filters[*]}"
    mkdir -p "$root/stage2/$f"
    # The suite is green on the unmutated tree (scripts/test.sh), so no baseline: the timeouts are fixed.
    mutants "$t" --file "$f" "${common[@]}" "${res[@]}" --output "$root/stage2/$f" --baseline skip \
      --build-timeout 1800 --timeout 900 -C --test=it -- -- "${filters[@]}"
    figures "$root/stage2/$f" "stage 2" | tee -a "$root/summary.txt"
  done
fi
echo "== survivors after both stages:"
for f in "${files[@]}"; do
  m1="$root/stage1/$f/mutants.out/missed.txt"
  [ -s "$m1" ] || continue
  m="$root/stage2/$f/mutants.out/missed.txt"
  if [ -d "$root/stage2/$f/mutants.out" ]; then
    cat "$m" 2>/dev/null || true
    # survivors stage 2 did not reach before the budget ran out
    while IFS= read -r name; do
      grep -qxF "$name" "$root/stage2/$f/mutants.out/"{caught,missed,timeout,unviable}.txt 2>/dev/null ||
        echo "$name (not judged by stage 2)"
    done <"$m1"
  else
    sed 's/$/ (not judged by stage 2)/' "$m1"
  fi
done | tee -a "$root/summary.txt"
echo "== $(($(date +%s) - start)) s; figures in $root/summary.txt"
