# Installs the real peers the tests run against, idempotently. Sourced by scripts/test.sh and scripts/demo.sh.
# Everything lands under ~/.cache/ferrosign (Go tools, Python venv) or the system (Debian packages).
COSIGN_V2_VERSION=v2.6.5
COSIGN_V3_VERSION=v3.1.3
FERROSIGN_CACHE="${FERROSIGN_CACHE:-$HOME/.cache/ferrosign}"
export FERROSIGN_CACHE
export FERROSIGN_COSIGN_V2="$FERROSIGN_CACHE/cosign-$COSIGN_V2_VERSION/cosign"
export FERROSIGN_COSIGN_V3="$FERROSIGN_CACHE/cosign-$COSIGN_V3_VERSION/cosign"
mkdir -p "$FERROSIGN_CACHE" .cache

apt_install() {
  # apt_install BINARY_OR_FILE PACKAGE...
  local probe=$1; shift
  if [ -e "$probe" ] || command -v "$probe" >/dev/null 2>&1; then return 0; fi
  echo "== installing Debian packages: $*"
  if [ ! -f "$FERROSIGN_CACHE/.apt-updated" ]; then
    apt-get update -qq && touch "$FERROSIGN_CACHE/.apt-updated"
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

install_cosign() {
  local major=$1 version=$2 bin="$FERROSIGN_CACHE/cosign-$2/cosign"
  [ -x "$bin" ] && return 0
  echo "== installing cosign $version (go install, cached in $FERROSIGN_CACHE)"
  local mod="github.com/sigstore/cosign/$major/cmd/cosign@$version"
  GOBIN="$(dirname "$bin")" GOFLAGS=-mod=mod go install "$mod" || \
    GOTOOLCHAIN=go1.27.3 GOBIN="$(dirname "$bin")" go install "$mod"
}

install_peers() {
  command -v cargo >/dev/null || { echo "cargo is required (rustup)"; exit 1; }
  command -v go >/dev/null || { echo "go is required to install cosign"; exit 1; }
  apt_install /usr/bin/docker-registry docker-registry
  install_cosign v2 "$COSIGN_V2_VERSION"
  install_cosign v3 "$COSIGN_V3_VERSION"
  # Later peers (libsodium via PyNaCl, sigstore-python, sigstore-js) are added below by their features.
}
