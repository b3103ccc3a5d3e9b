#!/usr/bin/env bash
# Benchmark: sign N = 1, 10, 100 images in a local registry (Debian's docker-registry on 127.0.0.1) with
# ferrosign and with cosign v2, and report wall time, registry requests per image (from the registry's
# access log) and peak RSS (GNU time). Each tool signs its own fresh, unsigned images with the same key.
# Two shapes: "batch" = one process given all N images; "loop" = one process per image (as a CI script
# looping over images would). No network beyond loopback; everything is removed on exit.
#   bash scripts/bench-sign.sh            # N = 1 10 100
#   bash scripts/bench-sign.sh 1 10       # chosen N
set -euo pipefail
cd "$(dirname "$0")/.."
repo_root=$PWD
source scripts/peers.sh
apt_install /usr/bin/docker-registry docker-registry
apt_install /usr/bin/time time
apt_install curl curl
install_cosign v2 "$COSIGN_V2_VERSION"
cosign_bin="$FERROSIGN_COSIGN_V2"

sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(1 10 100)

cargo build --release --quiet
fs="$repo_root/target/release/ferrosign"

work=$(mktemp -d)
cleanup() {
  stop_local_registry
  rm -rf "$work"
}
trap cleanup EXIT

# The access log counts requests per image.
start_local_registry "$work" "{level: info, accesslog: {disabled: false}}"
R="http://$REGISTRY"

cd "$work"
export COSIGN_PASSWORD=bench TUF_ROOT="$work/tuf" DOCKER_CONFIG="$work/docker"
# Keep cosign's TUF refresh off the network (it fails at once on a dead loopback proxy).
export HTTPS_PROXY=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 NO_PROXY=127.0.0.1,localhost
"$fs" generate-key-pair >/dev/null 2>&1

push_blob() { # repo file -> digest
  local d="sha256:$(sha256sum "$2" | cut -d' ' -f1)" loc
  loc=$(curl -fsS -X POST -D - -o /dev/null "$R/v2/$1/blobs/uploads/" | tr -d '\r' | awk -F': ' 'tolower($1)=="location"{print $2}')
  case $loc in /*) loc="$R$loc";; esac
  curl -fsS -X PUT -H 'Content-Type: application/octet-stream' --data-binary @"$2" "$loc&digest=$d" >/dev/null
  echo "$d"
}
push_image() { # repo seed -> manifest digest
  printf 'layer %s\n' "$2" > l.bin
  local ld cd
  ld=$(push_blob "$1" l.bin)
  printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["%s"]},"config":{}}' "$ld" > c.json
  cd=$(push_blob "$1" c.json)
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":%d}]}' \
    "$cd" "$(stat -c%s c.json)" "$ld" "$(stat -c%s l.bin)" > m.json
  curl -fsS -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary @m.json "$R/v2/$1/manifests/v1" >/dev/null
  echo "sha256:$(sha256sum m.json | cut -d' ' -f1)"
}
images() { # tag n -> one reference per line (fresh images)
  for i in $(seq "$2"); do
    echo "$REGISTRY/bench/$1-$i@$(push_image "bench/$1-$i" "$1-$i")"
  done
}
requests() { grep -cE '"(GET|HEAD|PUT|POST|PATCH|DELETE) /' "$work/registry.log" || true; }
peak_kb() { awk -F': ' '/Maximum resident set size/{print $2}' "$1" | sort -n | tail -1; }

sign_cmd() { # tool refs...
  local tool=$1; shift
  case $tool in
    ferrosign) "$fs" sign --key cosign.key --tlog-upload=false --allow-insecure-registry "$@" >/dev/null 2>>err.log ;;
    cosign) "$cosign_bin" sign --key cosign.key --tlog-upload=false -y --allow-http-registry "$@" >/dev/null 2>>err.log ;;
  esac
}

printf '%-10s %-6s %5s %9s %10s %13s %13s\n' tool shape N wall_s s/image requests/img peak_rss_MiB
for n in "${sizes[@]}"; do
  for shape in batch loop; do
    for tool in ferrosign cosign; do
      mapfile -t refs < <(images "$tool-$shape-$n" "$n")
      : > time.log
      before=$(requests)
      start=$(date +%s.%N)
      if [ "$shape" = batch ]; then
        /usr/bin/time -v -a -o time.log bash -c "$(declare -f sign_cmd); fs='$fs' cosign_bin='$cosign_bin' sign_cmd $tool ${refs[*]}" \
          || { echo "$tool failed"; tail -5 err.log; exit 1; }
      else
        for r in "${refs[@]}"; do
          /usr/bin/time -v -a -o time.log bash -c "$(declare -f sign_cmd); fs='$fs' cosign_bin='$cosign_bin' sign_cmd $tool $r" \
            || { echo "$tool failed"; tail -5 err.log; exit 1; }
        done
      fi
      end=$(date +%s.%N)
      after=$(requests)
      # Check the result: every image got exactly one signature.
      for r in "${refs[@]}"; do
        name=${r#*/}; repo=${name%@*}; d=${r#*@}
        layers=$(curl -fsS -H 'Accept: application/vnd.oci.image.manifest.v1+json' "$R/v2/$repo/manifests/${d/:/-}.sig" | grep -o simplesigning | wc -l)
        [ "$layers" = 1 ] || { echo "$tool left $layers signatures on $r"; exit 1; }
      done
      awk -v tool="$tool" -v shape="$shape" -v n="$n" -v s="$start" -v e="$end" -v req="$((after - before))" -v kb="$(peak_kb time.log)" \
        'BEGIN { w = e - s; printf "%-10s %-6s %5d %9.2f %10.3f %13.1f %13.1f\n", tool, shape, n, w, w / n, req / n, kb / 1024 }'
    done
  done
done
echo "(requests counted from the registry's access log; peak RSS is the largest of the processes; cosign $COSIGN_V2_VERSION)"
