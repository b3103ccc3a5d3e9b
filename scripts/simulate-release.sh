#!/usr/bin/env bash
# Simulates ferrosign releases in throwaway git repositories, running the same git steps as the release
# workflow (scripts/release-git.sh preflight/cut/push, scripts/check-release-pin.sh), and checks what a
# consumer's `uses: acme/ferrosign@<tag or SHA>` would get. Prints a transcript; exits 1 on any
# unexpected result. Run by scripts/test.sh.
#   bash scripts/simulate-release.sh
# The "remote" is a bare repository whose update hook enforces the rules RELEASING.md asks maintainers
# to set as rulesets: version tags vX.Y.Z are never moved or deleted, release branches only
# fast-forward and are never deleted, moving tags are never deleted. The image digests are made up
# (sha256 of a string): building and signing the image is the workflow's part, not simulated here.
# shellcheck disable=SC2016  # single quotes on purpose: literal backquotes in patterns, eval'd checks
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
release_git=$here/release-git.sh
check_pin=$here/check-release-pin.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A git that ignores the caller's configuration, with a fixed identity (the workflow's bot).
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME="github-actions[bot]" GIT_AUTHOR_EMAIL="41898282+github-actions[bot]@users.noreply.github.com"
export GIT_COMMITTER_NAME=$GIT_AUTHOR_NAME GIT_COMMITTER_EMAIL=$GIT_AUTHOR_EMAIL
export RELEASE_REMOTE=origin
image=ghcr.io/acme/ferrosign
digest_of() { printf 'sha256:%s' "$(printf 'image built for %s' "$1" | sha256sum | cut -d' ' -f1)"; }

checks=0 failures=0
show() { [ -z "$1" ] || while IFS= read -r l; do printf '    %s\n' "$l"; done <<<"$1"; }
pass() { checks=$((checks + 1)); echo "PASS: $1"; }
bad() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL: $1"; }
# expect_ok DESCRIPTION CMD...: CMD must succeed.
expect_ok() {
  local desc=$1 out; shift
  if out=$("$@" 2>&1); then pass "$desc"; else bad "$desc (exit $?)"; fi
  show "$out"
}
# expect_fail DESCRIPTION PATTERN CMD...: CMD must fail with a message matching PATTERN (grep -E).
expect_fail() {
  local desc=$1 pattern=$2 out; shift 2
  if out=$("$@" 2>&1); then
    bad "$desc (succeeded)"
  elif grep -qE -- "$pattern" <<<"$out"; then
    pass "$desc"
  else
    bad "$desc (failed, but without /$pattern/)"
  fi
  show "$out"
}
# expect_true DESCRIPTION CMD...: a predicate.
expect_true() {
  local desc=$1; shift
  if "$@" >/dev/null 2>&1; then pass "$desc"; else bad "$desc"; fi
}
peel() { git -C "$1" rev-parse --verify --quiet "$2^{commit}"; }
same_commit() { [ -n "$(peel "$1" "$2")" ] && [ "$(peel "$1" "$2")" = "$(peel "$1" "$3")" ]; }
remote_refs() { git -C "$work/origin.git" for-each-ref --format='%(refname) %(objectname)'; }

echo "== the remote, with the rulesets of RELEASING.md as an update hook"
git init -q --bare -b main "$work/origin.git"
cat > "$work/origin.git/hooks/update" <<'HOOK'
#!/usr/bin/env bash
# $1 ref, $2 old, $3 new (all zeros: none)
ref=$1 old=$2 new=$3 zero=0000000000000000000000000000000000000000
case "$ref" in
  refs/tags/v*.*.*)
    [ "$old" = "$zero" ] || { echo "ruleset: $ref is a version tag: it cannot be moved or deleted"; exit 1; } ;;
  refs/tags/v*)
    [ "$new" != "$zero" ] || { echo "ruleset: $ref cannot be deleted"; exit 1; }
    if [ -f "$GIT_DIR/reject-moving-tags" ]; then echo "ruleset (simulated outage): $ref rejected"; exit 1; fi ;;
  refs/heads/releases/*)
    [ "$new" != "$zero" ] || { echo "ruleset: $ref cannot be deleted"; exit 1; }
    if [ "$old" != "$zero" ] && ! git merge-base --is-ancestor "$old" "$new"; then
      echo "ruleset: $ref only fast-forwards"; exit 1
    fi ;;
esac
HOOK
chmod +x "$work/origin.git/hooks/update"

echo "== main: action.yml builds from the Dockerfile"
git clone -q "$work/origin.git" "$work/dev" 2>/dev/null
dev=$work/dev
cp "$root/action.yml" "$dev/action.yml"
cat > "$dev/CHANGELOG.md" <<'MD'
# Changelog

## [Unreleased]

## [2.0.0] - 2026-03-01
- Breaking: something.

## [1.1.0] - 2026-02-01
- A feature.

## [1.0.1] - 2026-01-15
- A backported fix.

## [1.0.0] - 2026-01-01
- First release.
MD
echo "ferrosign" > "$dev/README.md"
# set_version X.Y.Z: Cargo.toml's package version, as the release's pull request sets it.
set_version() { printf '[package]\nname = "ferrosign"\nversion = "%s"\nedition = "2021"\n' "$1" > "$dev/Cargo.toml"; }
set_version 1.0.0
git -C "$dev" add -A
git -C "$dev" commit -q -m "main: first"
git -C "$dev" push -q origin main
main1=$(git -C "$dev" rev-parse HEAD)
expect_ok "main's action.yml says image: Dockerfile" grep -qE '^  image: Dockerfile$' "$dev/action.yml"
expect_fail "main itself is not a release (check-release-pin fails)" 'runs.image is `Dockerfile`' \
  bash "$check_pin" -C "$dev" main

# release VERSION SOURCE_BRANCH: what the workflow's jobs do, in a fresh clone as actions/checkout
# makes it (fetch-depth: 0), the source being the dispatched branch's head.
release() {
  local version=$1 branch=$2 ci
  ci=$work/ci-$version
  rm -rf "$ci"
  git clone -q --branch "$branch" "$work/origin.git" "$ci"
  (cd "$ci" &&
    bash "$release_git" preflight "$version" "$(git rev-parse HEAD)" &&
    bash "$release_git" cut "$version" "$image@$(digest_of "$version")" "$(git rev-parse HEAD)" &&
    bash "$release_git" push "$version")
}
consumer() { rm -rf "$work/consumer"; git clone -q "$work/origin.git" "$work/consumer"; }

echo "== release v1.0.0 from main"
expect_ok "release v1.0.0" release v1.0.0 main
consumer
c=$work/consumer
expect_ok "v1.0.0 pins the image by digest (fresh clone)" bash "$check_pin" -C "$c" --image "$image" v1.0.0
expect_true "v1.0.0's action.yml pins exactly the digest of the build" \
  grep -qx "  image: docker://$image@$(digest_of v1.0.0)" <(git -C "$c" show v1.0.0:action.yml)
expect_true "v1 and v1.0 point to v1.0.0's commit" eval 'same_commit "$c" v1 v1.0.0 && same_commit "$c" v1.0 v1.0.0'
expect_true "v1.0.0 is on releases/v1" git -C "$c" merge-base --is-ancestor v1.0.0 origin/releases/v1
expect_true "the source commit (main) is reachable from releases/v1" git -C "$c" merge-base --is-ancestor "$main1" origin/releases/v1
expect_true "main still says image: Dockerfile" grep -qx '  image: Dockerfile' <(git -C "$c" show origin/main:action.yml)
expect_true "the release commit differs from main only in action.yml" \
  test "$(git -C "$c" diff --name-only "$main1" v1.0.0)" = action.yml
v100=$(peel "$c" v1.0.0)

echo "== release v1.1.0 from a newer main"
echo "feature" >> "$dev/README.md"
set_version 1.1.0
git -C "$dev" commit -q -am "main: a feature"
git -C "$dev" push -q origin main
main2=$(git -C "$dev" rev-parse HEAD)
expect_ok "release v1.1.0" release v1.1.0 main
consumer
expect_ok "v1.1.0 pins the image by digest" bash "$check_pin" -C "$c" --image "$image" v1.1.0
expect_true "v1 and v1.1 moved to v1.1.0" eval 'same_commit "$c" v1 v1.1.0 && same_commit "$c" v1.1 v1.1.0'
expect_true "v1.0 stays at v1.0.0" same_commit "$c" v1.0 v1.0.0
expect_true "v1.0.0 still points to its commit" test "$(peel "$c" v1.0.0)" = "$v100"
expect_true "v1.0.0 and v1.1.0 are both on releases/v1" \
  eval 'git -C "$c" merge-base --is-ancestor v1.0.0 origin/releases/v1 && git -C "$c" merge-base --is-ancestor v1.1.0 origin/releases/v1'
expect_true "both source commits are reachable from releases/v1" \
  eval 'git -C "$c" merge-base --is-ancestor "$main1" origin/releases/v1 && git -C "$c" merge-base --is-ancestor "$main2" origin/releases/v1'
expect_true "releases/v1's first-parent history lists the releases" \
  test "$(git -C "$c" log --first-parent --format=%s origin/releases/v1 | cut -d: -f1 | head -n 2 | paste -sd,)" = "Release v1.1.0,Release v1.0.0"

echo "== backport v1.0.1 from a maintenance branch of v1.0.0's source"
git -C "$dev" checkout -q -b maint/1.0 "$main1"
echo "fix" > "$dev/FIX"
set_version 1.0.1
git -C "$dev" add FIX Cargo.toml
git -C "$dev" commit -q -m "maint: a fix"
git -C "$dev" push -q origin maint/1.0
git -C "$dev" checkout -q main
expect_ok "release v1.0.1" release v1.0.1 maint/1.0
consumer
expect_ok "v1.0.1 pins the image by digest" bash "$check_pin" -C "$c" --image "$image" v1.0.1
expect_true "v1.0 moved to v1.0.1" same_commit "$c" v1.0 v1.0.1
expect_true "v1 stays at v1.1.0 (the higher version)" same_commit "$c" v1 v1.1.0
expect_true "v1.0.0, v1.0.1 and v1.1.0 are all on releases/v1" eval '
  for t in v1.0.0 v1.0.1 v1.1.0; do git -C "$c" merge-base --is-ancestor $t origin/releases/v1 || exit 1; done'

echo "== major release v2.0.0"
set_version 2.0.0
git -C "$dev" commit -q -am "main: 2.0.0"
git -C "$dev" push -q origin main
expect_ok "release v2.0.0" release v2.0.0 main
consumer
expect_ok "v2.0.0 pins the image by digest" bash "$check_pin" -C "$c" --image "$image" v2.0.0
expect_true "v2 and v2.0 point to v2.0.0" eval 'same_commit "$c" v2 v2.0.0 && same_commit "$c" v2.0 v2.0.0'
expect_true "v2.0.0 is on releases/v2, not on releases/v1" \
  eval 'git -C "$c" merge-base --is-ancestor v2.0.0 origin/releases/v2 && ! git -C "$c" merge-base --is-ancestor v2.0.0 origin/releases/v1'
expect_true "v1 stays at v1.1.0" same_commit "$c" v1 v1.1.0

echo "== refusals (the remote must not change)"
before=$(remote_refs)
ci=$work/ci-refusals
git clone -q "$work/origin.git" "$ci"
expect_fail "preflight refuses a released version" 'tag v1.1.0 already exists' \
  bash -c 'cd "$1" && bash "$2" preflight v1.1.0' _ "$ci" "$release_git"
expect_fail "cut refuses a released version" 'tag v1.1.0 already exists' \
  bash -c 'cd "$1" && bash "$2" cut v1.1.0 "$3" HEAD' _ "$ci" "$release_git" "$image@$(digest_of again)"
expect_fail "cut refuses an image given by tag" 'not <registry>/<path>@sha256' \
  bash -c 'cd "$1" && bash "$2" cut v1.2.0 "$3" HEAD' _ "$ci" "$release_git" "$image:v1"
expect_fail "cut refuses a short digest" 'not <registry>/<path>@sha256' \
  bash -c 'cd "$1" && bash "$2" cut v1.2.0 "$3" HEAD' _ "$ci" "$release_git" "$image@sha256:abc123"
expect_fail "preflight refuses a version that is not vX.Y.Z" 'is not vX.Y.Z' \
  bash -c 'cd "$1" && bash "$2" preflight v1.2' _ "$ci" "$release_git"
expect_fail "preflight refuses a version without a CHANGELOG section" 'no section for 1.2.0' \
  bash -c 'cd "$1" && bash "$2" preflight v1.2.0' _ "$ci" "$release_git"
expect_fail "the remote refuses to move a version tag (ruleset)" 'cannot be moved or deleted' \
  git -C "$ci" push -q --force origin "$main2:refs/tags/v1.0.0"
expect_fail "the remote refuses to rewind a release branch (ruleset)" 'only fast-forwards' \
  git -C "$ci" push -q --force origin "$v100:refs/heads/releases/v1"
expect_true "the remote's refs did not change" test "$(remote_refs)" = "$before"

echo "== an interrupted push publishes nothing, and re-running it completes the release"
echo "minor" >> "$dev/README.md"
git -C "$dev" commit -q -am "main: v1.2 material"
sed -i 's/^## \[Unreleased\]$/## [Unreleased]\n\n## [1.2.0] - 2026-04-01\n- Another feature./' "$dev/CHANGELOG.md"
git -C "$dev" commit -q -am "CHANGELOG: 1.2.0"
git -C "$dev" push -q origin main
rm -rf "$work/ci-cargo" && git clone -q "$work/origin.git" "$work/ci-cargo"
expect_fail "preflight refuses a version that Cargo.toml does not say" 'Cargo.toml of [0-9a-f]{12} says version `2.0.0`, not `1.2.0`' \
  bash -c 'cd "$1" && bash "$2" preflight v1.2.0' _ "$work/ci-cargo" "$release_git"
set_version 1.2.0
git -C "$dev" commit -q -am "main: 1.2.0"
git -C "$dev" push -q origin main
before=$(remote_refs)
touch "$work/origin.git/reject-moving-tags"
expect_fail "release v1.2.0 fails when the remote rejects one of its refs" 'rejected' release v1.2.0 main
expect_true "the remote's refs did not change (atomic push)" test "$(remote_refs)" = "$before"
rm "$work/origin.git/reject-moving-tags"
expect_ok "re-running the push completes v1.2.0" bash -c 'cd "$1" && bash "$2" push v1.2.0' _ "$work/ci-v1.2.0" "$release_git"
consumer
expect_ok "v1.2.0 pins the image by digest" bash "$check_pin" -C "$c" --image "$image" v1.2.0
expect_true "v1 and v1.2 point to v1.2.0" eval 'same_commit "$c" v1 v1.2.0 && same_commit "$c" v1.2 v1.2.0'

echo "== the pin check fails on tags without a digest (made by hand, as a maintainer might)"
handmade() { # handmade TAG IMAGE_LINE: a tag on main whose action.yml says IMAGE_LINE
  git -C "$dev" checkout -q --detach main
  sed -i "s|^  image: .*|  $2|" "$dev/action.yml"
  git -C "$dev" commit -q --allow-empty -am "hand-made $1"
  git -C "$dev" tag "$1"
  git -C "$dev" push -q origin "refs/tags/$1"
  git -C "$dev" checkout -q main
}
handmade v9.9.9 'image: Dockerfile'
handmade v9.9.8 "image: docker://$image:v1"
handmade v9.9.7 "image: docker://$image@sha256:$(printf '%063d' 0)"
handmade v9.9.6 "image: docker://$image@sha256:$(printf '%064d' 0 | tr 0 A)"
handmade v9.9.5 "image: $image@$(digest_of v9.9.5)"
consumer
expect_fail "v9.9.9: image: Dockerfile" 'runs.image is `Dockerfile`, not `docker://' bash "$check_pin" -C "$c" v9.9.9
expect_fail "v9.9.8: an image by tag" 'runs.image is `docker://ghcr.io/acme/ferrosign:v1`' bash "$check_pin" -C "$c" v9.9.8
expect_fail "v9.9.7: a digest of 63 hex digits" 'not `docker://<registry>/<path>@sha256:<64 hex>`' bash "$check_pin" -C "$c" v9.9.7
expect_fail "v9.9.6: upper-case hex" 'not `docker://<registry>/<path>@sha256:<64 hex>`' bash "$check_pin" -C "$c" v9.9.6
expect_fail "v9.9.5: no docker:// scheme" 'not `docker://<registry>/<path>@sha256:<64 hex>`' bash "$check_pin" -C "$c" v9.9.5
expect_fail "v1.2.0 pinned to another repository than expected" 'not the release image `ghcr.io/evil/ferrosign`' \
  bash "$check_pin" -C "$c" --image ghcr.io/evil/ferrosign v1.2.0
expect_fail "a tag that does not exist" 'no such commit' bash "$check_pin" -C "$c" v0.0.0

echo "== $checks checks, $failures failed"
[ "$failures" = 0 ]
