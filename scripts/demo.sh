#!/usr/bin/env bash
# The main job, offline, in one command: start a local registry (Debian's docker-registry, installed if
# missing), push a small test artifact, sign it with a fresh key, verify it, and print the `cosign verify`
# line a consumer would run. Idempotent; everything it starts or writes is removed on exit.
#   bash scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
repo_root=$PWD
source scripts/peers.sh
apt_install /usr/bin/docker-registry docker-registry

echo "== building ferrosign (release)"
cargo build --release --quiet
fs="$repo_root/target/release/ferrosign"

work=$(mktemp -d)
cleanup() {
  stop_local_registry
  rm -rf "$work"
}
trap cleanup EXIT

start_local_registry "$work"
registry=$REGISTRY
echo "== local registry on $registry"

cd "$work"
export COSIGN_PASSWORD=demo
export DOCKER_CONFIG="$work/docker"   # never read or write the user's docker credentials
echo 'hello from ferrosign' > hello.txt
echo "== pushing a small test artifact"
image=$("$fs" upload blob -f hello.txt --allow-insecure-registry "$registry/demo/hello:v1" 2>/dev/null)
echo "   $image"
echo "== signing it with a fresh key"
"$fs" generate-key-pair >/dev/null 2>&1
"$fs" sign --key cosign.key --tlog-upload=false --allow-insecure-registry -a demo=true "$image"
echo "== verifying it"
"$fs" verify --key cosign.pub --insecure-ignore-tlog --allow-insecure-registry -a demo=true "$image" 2>/dev/null
echo
echo "== a consumer verifies it with cosign (v2 or v3) like this:"
echo "cosign verify --key cosign.pub --insecure-ignore-tlog --allow-http-registry -a demo=true $image"
echo "== done: the registry is stopped and $work removed"
