#!/usr/bin/env bash
# Builds one release binary of the CLI, checks it needs nothing beyond the operating system, and writes
# it with its SHA-256 checksum file into OUTDIR under its release asset name:
#   bash scripts/build-release-binary.sh TARGET OUTDIR
#   TARGET                      asset (in OUTDIR)              runner that builds it (release.yml, ci.yml)
#   x86_64-unknown-linux-musl   ferrosign-linux-amd64          ubuntu-24.04 (musl-tools)
#   aarch64-unknown-linux-musl  ferrosign-linux-arm64          ubuntu-24.04-arm (musl-tools)
#   x86_64-apple-darwin         ferrosign-darwin-amd64         macos-15 (arm64; Apple's clang cross-compiles)
#   aarch64-apple-darwin        ferrosign-darwin-arm64         macos-15
#   x86_64-pc-windows-msvc      ferrosign-windows-amd64.exe    windows-2025
# plus ASSET.sha256 (`<hex>  <asset>`, as `sha256sum -c` and `shasum -a 256 -c` read it). The Sigstore
# bundle (ASSET.sigstore.json) is made later, by the release workflow's signing job.
# Each target is built on a runner of its operating system: the crypto library (aws-lc) compiles C, so
# another operating system's target needs a C cross toolchain (see RELEASING.md). Apple's toolchain
# builds both macOS architectures.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# = 2 ] || { echo "usage: $0 TARGET OUTDIR" >&2; exit 2; }
target=$1 outdir=$2
case "$target" in
  x86_64-unknown-linux-musl) asset=ferrosign-linux-amd64 ;;
  aarch64-unknown-linux-musl) asset=ferrosign-linux-arm64 ;;
  x86_64-apple-darwin) asset=ferrosign-darwin-amd64 ;;
  aarch64-apple-darwin) asset=ferrosign-darwin-arm64 ;;
  x86_64-pc-windows-msvc) asset=ferrosign-windows-amd64.exe ;;
  *) echo "error: no release asset for target \`$target\`" >&2; exit 2 ;;
esac
exe=ferrosign
case "$target" in
  *-windows-*)
    exe=ferrosign.exe
    # The C runtime linked in: the .exe runs without the Visual C++ redistributable.
    export RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" ;;
esac

rustup target add "$target" >/dev/null
echo "== cargo build --release --locked --target $target"
cargo build --release --locked --quiet --target "$target"
bin="${CARGO_TARGET_DIR:-target}/$target/release/$exe"

# Nothing but the operating system's own libraries.
case "$target" in
  *-linux-musl)
    if readelf -d "$bin" | grep -q NEEDED; then
      echo "error: $bin needs shared libraries:" >&2; readelf -d "$bin" | grep NEEDED >&2; exit 1
    fi ;;
  *-apple-darwin)
    others=$(otool -L "$bin" | tail -n +2 | awk '{print $1}' | grep -Ev '^(/usr/lib/|/System/Library/)' || true)
    if [ -n "$others" ]; then echo "error: $bin links libraries outside macOS: $others" >&2; exit 1; fi ;;
  *-windows-*)
    if LC_ALL=C grep -aqi 'vcruntime140\.dll' "$bin"; then
      echo "error: $bin imports VCRUNTIME140.dll (the C runtime is not linked in)" >&2; exit 1
    fi ;;
esac

# Run it where the runner can: same operating system and architecture, or x86_64 macOS under Rosetta.
os_of() { case "$1" in *-linux-*) echo linux ;; *-apple-*) echo macos ;; *-windows-*) echo windows ;; *) echo "$1" ;; esac; }
host=$(rustc -vV | sed -n 's/^host: //p')
if [ "${host%%-*}" = "${target%%-*}" ] && [ "$(os_of "$host")" = "$(os_of "$target")" ]; then
  "$bin" --version
elif [ "$target" = x86_64-apple-darwin ] && arch -x86_64 /usr/bin/true 2>/dev/null; then
  arch -x86_64 "$bin" --version
else
  echo "== not run: a $target binary on a $host runner"
fi

mkdir -p "$outdir"
cp "$bin" "$outdir/$asset"
hex=$(if command -v sha256sum >/dev/null; then sha256sum "$outdir/$asset"; else shasum -a 256 "$outdir/$asset"; fi | cut -d' ' -f1)
printf '%s  %s\n' "$hex" "$asset" > "$outdir/$asset.sha256"
size=$(wc -c < "$outdir/$asset" | tr -d ' ')
echo "== $outdir/$asset: $size bytes, sha256 $hex"
