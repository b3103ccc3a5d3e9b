#!/usr/bin/env bash
# The git part of a release: the release workflow (.github/workflows/release.yml) runs it, and
# scripts/simulate-release.sh runs the very same commands against a local repository.
#
#   bash scripts/release-git.sh preflight VERSION [SOURCE]
#       VERSION is vX.Y.Z, its tag is free on the remote, CHANGELOG.md has a section for it, and the
#       Cargo.toml of SOURCE (default HEAD) says version = "X.Y.Z" (what the binaries print as --version).
#   bash scripts/release-git.sh pin FILE IMAGE@sha256:HEX
#       rewrites `runs.image` of an action.yml to `docker://IMAGE@sha256:HEX`.
#   bash scripts/release-git.sh cut VERSION IMAGE@sha256:HEX [SOURCE]
#       makes the release commit: SOURCE's tree (default HEAD) with action.yml pinned to the image, on
#       the branch releases/vX (parents: the branch's previous tip, then SOURCE, so every earlier release
#       and every source commit stays reachable from the branch); tags it vX.Y.Z (annotated) and moves
#       vX.Y and vX to it unless a higher version of that line exists; checks the pin. Local refs only.
#   bash scripts/release-git.sh push VERSION
#       pushes the branch and the three tags in one atomic push (the branch only fast-forwards; only
#       the moving tags are forced), then reads them back from the remote and checks the pin again.
#
# The remote is $RELEASE_REMOTE (default origin). Commits and tags are made with git's configured
# identity. Exit 1 on any failure, 2 on usage errors.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
remote=${RELEASE_REMOTE:-origin}

die() { echo "error: $1" >&2; [ -z "${2:-}" ] || echo "hint: $2" >&2; exit 1; }
usage() { sed -n '4,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

# check_version VERSION: sets major and minor.
check_version() {
  [[ "$1" =~ ^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$ ]] ||
    die "version \`$1\` is not vX.Y.Z (e.g. v1.2.3)" "pre-releases and build metadata are not released by this flow"
  major=${BASH_REMATCH[1]} minor=${BASH_REMATCH[2]}
}

# check_image IMAGE@sha256:HEX
check_image() {
  local component='[a-z0-9]+([._-]+[a-z0-9]+)*'
  [[ "$1" =~ ^$component(:[0-9]+)?(/$component)+@sha256:[0-9a-f]{64}$ ]] ||
    die "image \`$1\` is not <registry>/<path>@sha256:<64 hex>" "pass the digest the image build printed, not a tag"
}

# newest VERSION...: the highest of the given versions.
newest() { printf '%s\n' "$@" | sort -V | tail -n 1; }

# remote_has REF: whether the remote has REF (a full ref name); dies when the remote cannot be read.
remote_has() {
  local rc=0
  git ls-remote --exit-code "$remote" "$1" >/dev/null || rc=$?
  case "$rc" in
    0) return 0 ;;
    2) return 1 ;;
    *) die "cannot list the refs of remote \`$remote\` (git ls-remote exit $rc)" ;;
  esac
}

cmd_preflight() {
  [ $# = 1 ] || [ $# = 2 ] || usage
  local version=$1 source_rev=${2:-HEAD} source crate
  check_version "$version"
  if remote_has "refs/tags/$version"; then
    die "tag $version already exists on $remote" "released versions never move; release the next version"
  fi
  bash "$here/release-notes.sh" "$version" >/dev/null
  source=$(git rev-parse --verify --quiet --end-of-options "$source_rev^{commit}") || die "no commit \`$source_rev\`"
  # The `version` of the `[package]` table.
  crate=$(git show "$source:Cargo.toml" 2>/dev/null | awk '
    /^[[:space:]]*\[/ { inpkg = ($0 ~ /^[[:space:]]*\[package\][[:space:]]*(#.*)?$/) }
    inpkg && /^[[:space:]]*version[[:space:]]*=/ {
      v = $0; sub(/^[^=]*=[[:space:]]*"/, "", v); sub(/".*/, "", v); print v; exit
    }') || true
  [ "$crate" = "${version#v}" ] ||
    die "Cargo.toml of ${source:0:12} says version \`${crate:-?}\`, not \`${version#v}\` (the binaries would print that)" \
      "set version = \"${version#v}\" in Cargo.toml (and refresh Cargo.lock: cargo check) in the release's CHANGELOG pull request"
  echo "ok: $version can be released (tag free on $remote, CHANGELOG.md section present, Cargo.toml of ${source:0:12} says ${version#v})"
}

cmd_pin() {
  [ $# = 2 ] || usage
  local file=$1 image=$2 tmp
  check_image "$image"
  [ -f "$file" ] || die "$file does not exist"
  tmp=$(mktemp)
  # Replace the one `image:` line of the top-level `runs:` block, keeping its indentation.
  if ! awk -v image="docker://$image" '
      /^runs:[[:space:]]*(#.*)?$/ { inruns = 1; print; next }
      inruns && /^[^[:space:]#]/  { inruns = 0 }
      inruns && /^[[:space:]]+image:/ {
        n++; indent = $0; sub(/image:.*/, "", indent); print indent "image: " image; next
      }
      { print }
      END { exit n == 1 ? 0 : 3 }' "$file" > "$tmp"; then
    rm -f "$tmp"
    die "$file: expected exactly one \`image:\` line under \`runs:\`"
  fi
  cat "$tmp" > "$file"
  rm -f "$tmp"
}

cmd_cut() {
  [ $# = 2 ] || [ $# = 3 ] || usage
  local version=$1 image=$2 source_rev=${3:-HEAD}
  check_version "$version"
  check_image "$image"
  local source branch="releases/v$major" line="v$major.$minor" top="v$major"
  source=$(git rev-parse --verify --quiet "$source_rev^{commit}") || die "no commit \`$source_rev\`"

  # What the remote has: its version tags (forced over local ones) and the release branch.
  git fetch --quiet --force "$remote" '+refs/tags/v*:refs/tags/v*'
  git rev-parse --verify --quiet "refs/tags/$version" >/dev/null &&
    die "tag $version already exists" "released versions never move; release the next version"
  local tip=
  if remote_has "refs/heads/$branch"; then
    git fetch --quiet "$remote" "+refs/heads/$branch:refs/remotes/$remote/$branch"
    tip=$(git rev-parse "refs/remotes/$remote/$branch")
  fi

  # The release tree: SOURCE's tree with action.yml pinned, built in a private index (no checkout).
  local work index blob mode tree commit
  work=$(mktemp -d)
  index="$work/index"
  git show "$source:action.yml" > "$work/action.yml" || die "$source has no action.yml"
  cmd_pin "$work/action.yml" "$image"
  blob=$(git hash-object -w "$work/action.yml")
  mode=$(git ls-tree "$source" action.yml | cut -d' ' -f1)
  GIT_INDEX_FILE=$index git read-tree "$source"
  GIT_INDEX_FILE=$index git update-index --cacheinfo "$mode,$blob,action.yml"
  tree=$(GIT_INDEX_FILE=$index git write-tree)
  rm -rf "$work"

  local parents=()
  [ -z "$tip" ] || parents+=(-p "$tip")
  parents+=(-p "$source")
  commit=$(printf 'Release %s: action.yml runs docker://%s\n\nSource: %s\n' "$version" "$image" "$source" |
    git commit-tree "$tree" "${parents[@]}")
  git update-ref -m "release $version" "refs/heads/$branch" "$commit"
  git tag -a -m "ferrosign $version" "$version" "$commit"
  echo "release commit $commit on $branch (parents: ${tip:+$tip (previous $branch), }$source (source))"

  # The moving tags follow the highest version of their line: a backport (v1.2.4 after v1.3.0)
  # moves v1.2 but not v1.
  local moving
  for moving in "$line" "$top"; do
    local pattern="$moving.*"
    [ "$moving" = "$top" ] && pattern="$top.*.*"
    local highest
    # shellcheck disable=SC2046  # one tag name per word
    highest=$(newest $(git tag -l "$pattern" | grep -E '^v[0-9]+\.[0-9]+\.[0-9]+$'))
    if [ "$highest" = "$version" ]; then
      git tag -f -a -m "ferrosign $moving: $version" "$moving" "$commit" >/dev/null
      echo "$moving -> $version"
    else
      echo "$moving stays at $highest (higher than $version)"
    fi
  done
  bash "$here/check-release-pin.sh" --image "${image%@*}" "refs/tags/$version"
}

cmd_push() {
  [ $# = 1 ] || usage
  local version=$1
  check_version "$version"
  local branch="releases/v$major" commit moving
  commit=$(git rev-parse --verify --quiet "refs/tags/$version^{commit}") ||
    die "no local tag $version" "run \`release-git.sh cut\` first"
  [ "$(git rev-parse "refs/heads/$branch")" = "$commit" ] ||
    die "$branch is not at $version's commit" "run \`release-git.sh cut\` first"
  local refspecs=("refs/heads/$branch:refs/heads/$branch" "refs/tags/$version:refs/tags/$version")
  local moved=()
  for moving in "v$major.$minor" "v$major"; do
    if [ "$(git rev-parse --verify --quiet "refs/tags/$moving^{commit}")" = "$commit" ]; then
      refspecs+=("+refs/tags/$moving:refs/tags/$moving")
      moved+=("$moving")
    fi
  done
  git push --atomic --quiet "$remote" "${refspecs[@]}"

  # Read back what the remote now serves, and check that instead of our local refs.
  local ns="refs/release-check"
  git fetch --quiet --force "$remote" "+refs/tags/$version:$ns/$version" "+refs/heads/$branch:$ns/$branch"
  [ "$(git rev-parse "$ns/$version^{commit}")" = "$commit" ] || die "$remote's $version is not $commit"
  git merge-base --is-ancestor "$commit" "$ns/$branch" || die "$remote's $branch does not hold $version"
  bash "$here/check-release-pin.sh" "$ns/$version"
  for moving in "${moved[@]}"; do
    git fetch --quiet --force "$remote" "+refs/tags/$moving:$ns/$moving"
    [ "$(git rev-parse "$ns/$moving^{commit}")" = "$commit" ] || die "$remote's $moving is not $version"
  done
  git for-each-ref --format='%(refname)' "$ns/" | while read -r ref; do git update-ref -d "$ref"; done
  local IFS=,
  echo "pushed to $remote: $branch,$version${moved[*]:+,${moved[*]}} -> $commit"
}

[ $# -ge 1 ] || usage
sub=$1; shift
case "$sub" in
  preflight) cmd_preflight "$@" ;;
  pin) cmd_pin "$@" ;;
  cut) cmd_cut "$@" ;;
  push) cmd_push "$@" ;;
  *) usage ;;
esac
