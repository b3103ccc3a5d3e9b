#!/usr/bin/env bash
# Fails unless the commit a git ref names (a version tag) has an action.yml that runs a prebuilt image
# pinned by digest:
#   runs:
#     using: docker
#     image: docker://<registry>/<path>@sha256:<64 lower-case hex>
# so that `uses: owner/ferrosign@<that ref or its SHA>` pulls exactly that image and compiles nothing.
#   bash scripts/check-release-pin.sh [-C REPO_DIR] [--image REGISTRY/PATH] REF
# --image also requires the pinned repository to be that one (e.g. ghcr.io/acme/ferrosign).
# The release workflow runs it on every tag it creates (and on version tags pushed by hand); the test
# command runs it through scripts/simulate-release.sh. Exit 0: pinned; 1: not pinned; 2: usage.
# action.yml is read with a line scanner, not a YAML parser: the block form that action.yml uses
# (`runs:` at column 0, `image:` indented under it). Any other form fails the check (fails closed).
set -euo pipefail

usage() { echo "usage: $0 [-C REPO_DIR] [--image REGISTRY/PATH] REF" >&2; exit 2; }
repo=.
want_image=
ref=
while [ $# -gt 0 ]; do
  case "$1" in
    -C) [ $# -ge 2 ] || usage; repo=$2; shift 2 ;;
    --image) [ $# -ge 2 ] || usage; want_image=$2; shift 2 ;;
    -h|--help) usage ;;
    -*) usage ;;
    *) [ -z "$ref" ] || usage; ref=$1; shift ;;
  esac
done
[ -n "$ref" ] || usage

fail() {
  echo "error: $ref${commit:+ ($commit)}: $1" >&2
  echo "hint: version tags must point to a release commit made by scripts/release-git.sh (see RELEASING.md); main keeps \`image: Dockerfile\`" >&2
  exit 1
}

commit=
if ! commit=$(git -C "$repo" rev-parse --verify --quiet "$ref^{commit}"); then
  commit=
  fail "no such commit in $repo"
fi
commit=${commit:0:12}

file=
for name in action.yml action.yaml; do
  if git -C "$repo" cat-file -e "$ref^{commit}:$name" 2>/dev/null; then file=$name; break; fi
done
[ -n "$file" ] || fail "has no action.yml"
text=$(git -C "$repo" show "$ref^{commit}:$file")

# The values of `using:` and `image:` inside the top-level `runs:` block, one `key value` per line.
fields=$(awk '
  /^runs:[[:space:]]*(#.*)?$/ { inruns = 1; next }
  inruns && /^[^[:space:]#]/  { inruns = 0 }
  inruns && /^[[:space:]]+(using|image):/ {
    line = $0
    sub(/^[[:space:]]+/, "", line)
    key = line; sub(/:.*/, "", key)
    value = line; sub(/^[a-z]+:[[:space:]]*/, "", value)
    sub(/[[:space:]]+#.*$/, "", value)
    sub(/[[:space:]]+$/, "", value)
    if (value ~ /^".*"$/ || value ~ /^\047.*\047$/) value = substr(value, 2, length(value) - 2)
    print key, value
  }' <<<"$text")

count() { grep -c "^$1 " <<<"$fields" || true; }
[ "$(count using)" = 1 ] || fail "$file: expected one \`using:\` under \`runs:\`, found $(count using)"
[ "$(count image)" = 1 ] || fail "$file: expected one \`image:\` under \`runs:\`, found $(count image)"
using=$(sed -n 's/^using //p' <<<"$fields")
image=$(sed -n 's/^image //p' <<<"$fields")
[ "$using" = docker ] || fail "$file: runs.using is \`$using\`, not \`docker\`"

# docker://<name>@sha256:<hex>, <name> as the OCI distribution spec spells a repository (lower case).
component='[a-z0-9]+([._-]+[a-z0-9]+)*'
name_re="$component(:[0-9]+)?(/$component)+"
if ! [[ "$image" =~ ^docker://($name_re)@sha256:([0-9a-f]{64})$ ]]; then
  fail "$file: runs.image is \`$image\`, not \`docker://<registry>/<path>@sha256:<64 hex>\` (a prebuilt image pinned by digest)"
fi
pinned=${BASH_REMATCH[1]}
if [ -n "$want_image" ] && [ "$pinned" != "$want_image" ]; then
  fail "$file: runs.image pins \`$pinned\`, not the release image \`$want_image\`"
fi
echo "ok: $ref ($commit) $file runs $image"
